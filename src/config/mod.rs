//! Configuration: `config/riskgate.toml` → a validated, frozen `Config`.

pub mod error;

pub use error::{SourceError, SourceErrors};
