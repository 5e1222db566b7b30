//! File locks: the store lock and per-grant refresh locks.
