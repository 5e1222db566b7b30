//! Marking (§7.2): what an outcome does to an entry's status fields.
