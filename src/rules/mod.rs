//! Rules: rule files → an immutable rule set; a pure `check()` → decision.
//!
//! Knows no venue and does no I/O on the order path. Reloading builds a whole new
//! rule set and swaps it in; a bad file never replaces good rules.

pub mod reason;

pub use reason::{Fault, RejectReason, Rejection};
