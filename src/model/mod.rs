//! The data both the store and the pool rules work on, below both: the auth.json document as an
//! ordered JSON tree ([`doc::AuthDoc`]), the typed view of one entry ([`entry::Entry`]) and the
//! claims of a JWT access token ([`jwt`]). Nothing here reads a file or the clock.

pub mod doc;
pub mod entry;
pub mod jwt;

pub use doc::AuthDoc;
