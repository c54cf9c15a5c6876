//! Venue-neutral data: orders, instruments, accounts, prices and what venues tell us back.
//!
//! Pure data, no behaviour beyond small helpers. Nothing here knows a venue's wire
//! format or a rule; `venue/` translates into these types and `rules/` decides on them.

pub mod decimal;
pub mod filters;
pub mod instrument;
pub mod order;
pub mod small_str;

pub use decimal::{DecimalError, Fixed};
pub use filters::{FilterNames, FilterReport, InstrumentFilters};
pub use instrument::{normalize_asset, Instrument, InstrumentId, Symbol, USD_STABLE_ASSETS};
pub use order::*;
pub use small_str::SmallStr;
