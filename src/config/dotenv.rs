//! `.env` parsing (§1): never written by hermes.
