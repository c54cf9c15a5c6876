//! The built-in paper exchange (being written).
