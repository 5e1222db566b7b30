//! The request runtime: error classification, recovery policy, fallback chain, the client.
