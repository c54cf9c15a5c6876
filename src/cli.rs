//! Command line: `riskgate [run] [--config FILE] [--i-am-sure]`, `riskgate check [--config FILE]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub const DEFAULT_CONFIG: &str = "config/riskgate.toml";

#[derive(Parser, Debug)]
#[command(
    name = "riskgate",
    version,
    about = "Inline pre-trade risk gateway for crypto exchange REST APIs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway (the default).
    Run {
        #[arg(long, default_value = DEFAULT_CONFIG, env = "RISKGATE_CONFIG")]
        config: PathBuf,
        /// Confirms live trading (same as AM_I_SURE=true).
        #[arg(long)]
        i_am_sure: bool,
    },
    /// Validate the config and rule files; print every error as file:line:col.
    Check {
        #[arg(long, default_value = DEFAULT_CONFIG, env = "RISKGATE_CONFIG")]
        config: PathBuf,
    },
}
