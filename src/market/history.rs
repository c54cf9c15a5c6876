//! Daily close history per asset (in USD), for the risk task.
//!
//! Filled by the paper simulator, by the venue's daily klines in live mode, or
//! from CSV files (`<ASSET>.csv`: `timestamp,open,high,low,close,volume`).
//! Bounded in assets and days; the risk task reads copies.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;

/// Days kept per asset.
pub const MAX_DAYS: usize = 1000;
/// Assets kept.
pub const MAX_ASSETS: usize = 200;

#[derive(Default)]
pub struct History {
    closes: RwLock<HashMap<Arc<str>, Arc<Vec<f64>>>>,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Replaces an asset's daily closes (oldest first); keeps the newest `MAX_DAYS`.
    pub fn set(&self, asset: &str, mut closes: Vec<f64>) -> bool {
        closes.retain(|c| c.is_finite() && *c > 0.0);
        if closes.len() > MAX_DAYS {
            closes.drain(..closes.len() - MAX_DAYS);
        }
        let mut map = self.closes.write();
        if !map.contains_key(asset) && map.len() >= MAX_ASSETS {
            return false;
        }
        map.insert(Arc::from(asset), Arc::new(closes));
        true
    }

    pub fn get(&self, asset: &str) -> Option<Arc<Vec<f64>>> {
        self.closes.read().get(asset).cloned()
    }

    pub fn assets(&self) -> Vec<Arc<str>> {
        let mut v: Vec<_> = self.closes.read().keys().cloned().collect();
        v.sort();
        v
    }

    /// Loads every `<ASSET>.csv` in `dir`. Returns (asset, days) loaded and the errors.
    pub fn load_csv_dir(&self, dir: &Path) -> (Vec<(String, usize)>, Vec<String>) {
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return (loaded, vec![format!("{}: {e}", dir.display())]),
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.extension().is_none_or(|x| x != "csv") {
                continue;
            }
            let Some(asset) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_ascii_uppercase)
            else {
                continue;
            };
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| parse_csv(&t))
            {
                Ok(closes) => {
                    loaded.push((asset.clone(), closes.len()));
                    self.set(&asset, closes);
                }
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        (loaded, errors)
    }
}

/// Parses `timestamp,open,high,low,close,volume` rows (a header row is allowed),
/// sorted by timestamp; returns the closes.
pub fn parse_csv(text: &str) -> Result<Vec<f64>, String> {
    let mut rows: Vec<(i64, f64)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.starts_with(|c: char| c.is_ascii_alphabetic())) {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        if cols.len() < 6 {
            return Err(format!("line {}: expected 6 columns", n + 1));
        }
        let ts: i64 = cols[0]
            .parse()
            .map_err(|_| format!("line {}: bad timestamp", n + 1))?;
        let close: f64 = cols[4]
            .parse()
            .map_err(|_| format!("line {}: bad close", n + 1))?;
        if !(close.is_finite() && close > 0.0) {
            return Err(format!("line {}: close must be positive", n + 1));
        }
        rows.push((ts, close));
        if rows.len() > 100_000 {
            return Err("more than 100000 rows".into());
        }
    }
    rows.sort_by_key(|r| r.0);
    Ok(rows.into_iter().map(|r| r.1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_with_header_in_timestamp_order() {
        let t = "timestamp,open,high,low,close,volume\n2,1,1,1,11.5,3\n1,1,1,1,10,3\n";
        assert_eq!(parse_csv(t).unwrap(), vec![10.0, 11.5]);
        assert!(parse_csv("1,2,3\n").is_err());
        assert!(parse_csv("1,1,1,1,-5,1\n").is_err());
    }
}
