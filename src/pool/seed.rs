//! Seeding (§6): candidates derived from `.env`, the environment, config.yaml, `providers.*`
//! and the Claude Code file. Seeding never writes.
