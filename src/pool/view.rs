//! The pool view (§4.5) and its materialisation inside a mutation.
