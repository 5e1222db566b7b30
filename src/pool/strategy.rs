//! Selection strategies (§8).
