//! The append-only journal: every state change, one checksummed line each.
//!
//! Why a journal file and not an embedded database: each record is one
//! `write(2)` (about a microsecond here), which survives `kill -9` because the
//! page cache outlives the process; `durability = "fsync"` adds `fdatasync` per
//! record for power loss (about 0.3 ms). A database adds its own buffering and
//! compaction for no gain: state is small and rebuilt by replaying events.
//!
//! Format: `<crc32 hex8> <json>\n`. Replay stops at the first line that is torn
//! or fails its checksum (a crash mid-write) and truncates there. At startup the
//! journal is compacted into one snapshot event per account.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::event::Event;

/// Longest journal line accepted on replay.
const MAX_LINE_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path}: event could not be encoded: {source}")]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// `write(2)` per record: survives a process crash or `kill -9`.
    Process,
    /// `write(2)` + `fdatasync` per record: survives power loss.
    Fsync,
}

pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    durability: Durability,
}

/// What replay found.
pub struct Replayed {
    pub events: Vec<Event>,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn encode(ev: &Event, path: &Path) -> Result<Vec<u8>, JournalError> {
    let json = serde_json::to_vec(ev).map_err(|source| JournalError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    let mut line = Vec::with_capacity(json.len() + 10);
    write!(line, "{:08x} ", crc32fast::hash(&json)).map_err(io_err(path))?;
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

impl Journal {
    /// Reads every intact event from `path` (missing file = no events) and cuts a torn tail.
    pub fn replay(path: &Path) -> Result<Replayed, JournalError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Replayed {
                    events: Vec::new(),
                    truncated_bytes: 0,
                })
            }
            Err(e) => return Err(io_err(path)(e)),
        };
        let total = file.metadata().map_err(io_err(path))?.len();
        let mut reader = BufReader::new(file);
        let mut events = Vec::new();
        let mut good_bytes = 0u64;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io_err(path))?;
            if n == 0 || line.len() > MAX_LINE_BYTES || line.last() != Some(&b'\n') {
                break;
            }
            let Some(ev) = decode_line(&line[..line.len() - 1]) else {
                break;
            };
            events.push(ev);
            good_bytes += n as u64;
        }
        if good_bytes < total {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io_err(path))?;
            f.set_len(good_bytes).map_err(io_err(path))?;
            f.sync_all().map_err(io_err(path))?;
        }
        Ok(Replayed {
            events,
            truncated_bytes: total - good_bytes,
        })
    }

    /// Replaces the journal with `events` atomically (temp file, fsync, rename), then opens it for appending.
    pub fn rewrite(
        path: &Path,
        events: &[Event],
        durability: Durability,
    ) -> Result<Journal, JournalError> {
        let tmp = path.with_extension("compact.tmp");
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            let mut buf = Vec::new();
            for ev in events {
                buf.extend_from_slice(&encode(ev, path)?);
            }
            f.write_all(&buf).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Journal::open(path, durability)
    }

    pub fn open(path: &Path, durability: Durability) -> Result<Journal, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            durability,
        })
    }

    /// Appends one event with a single `write(2)`; returns only once it is in the
    /// page cache (or on disk, with `Durability::Fsync`).
    pub fn append(&self, ev: &Event) -> Result<(), JournalError> {
        let line = encode(ev, &self.path)?;
        let mut f = self.file.lock();
        f.write_all(&line).map_err(io_err(&self.path))?;
        if self.durability == Durability::Fsync {
            f.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn decode_line(line: &[u8]) -> Option<Event> {
    if line.len() < 10 || line[8] != b' ' {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(&line[..8]).ok()?, 16).ok()?;
    let json = &line[9..];
    (crc32fast::hash(json) == crc)
        .then(|| serde_json::from_slice(json).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::TradingState;

    fn ev(i: i64) -> Event {
        Event::TradingState {
            account: None,
            state: TradingState::Halted,
            who: "test".into(),
            why: format!("n{i}"),
            ts_ms: i,
        }
    }

    #[test]
    fn appends_replays_and_cuts_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let j = Journal::open(&path, Durability::Process).unwrap();
        for i in 0..3 {
            j.append(&ev(i)).unwrap();
        }
        drop(j);
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"deadbeef {\"trading_st").unwrap();
        drop(f);
        let r = Journal::replay(&path).unwrap();
        assert_eq!(r.events.len(), 3);
        assert!(r.truncated_bytes > 0);
        // The cut tail is gone; appending continues cleanly.
        let j = Journal::open(&path, Durability::Fsync).unwrap();
        j.append(&ev(9)).unwrap();
        assert_eq!(Journal::replay(&path).unwrap().events.len(), 4);
    }

    #[test]
    fn refuses_corrupt_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let j = Journal::open(&path, Durability::Process).unwrap();
        j.append(&ev(1)).unwrap();
        j.append(&ev(2)).unwrap();
        drop(j);
        let mut bytes = std::fs::read(&path).unwrap();
        let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        bytes[second + 20] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Journal::replay(&path).unwrap().events.len(), 1);
    }

    #[test]
    fn rewrite_is_atomic_and_appendable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let j = Journal::rewrite(&path, &[ev(1), ev(2)], Durability::Process).unwrap();
        j.append(&ev(3)).unwrap();
        assert_eq!(Journal::replay(&path).unwrap().events.len(), 3);
    }
}
