//! The append-only journal: every state change, one checksummed line each.
//!
//! Why a journal file and not an embedded database: state is small and rebuilt
//! by replaying events, so all the store has to do is append a record before
//! the order leaves, in a way that survives `kill -9`. A database adds its own
//! buffering and compaction for no gain.
//!
//! How a record is appended (`JournalIo`):
//! - `Mapped` (the default on Linux): the file is grown in preallocated
//!   windows (`fallocate`, so a full disk is an error at growth time, never a
//!   `SIGBUS` on a store) and each record is copied into a shared mapping of
//!   the window. A store into a `MAP_SHARED` file mapping is in the page cache
//!   the moment it completes, so it survives `kill -9` exactly like a
//!   `write(2)` does, without the system call (measured: the two `write(2)`
//!   per order were 13 % of riskgate's CPU at 32 connections).
//! - `Write`: one `write(2)` per record on an `O_APPEND` descriptor. Used where
//!   the file system cannot preallocate or map the file.
//!
//! `durability = "fsync"` adds `msync`/`fdatasync` per record for power loss
//! (about 0.3 ms here).
//!
//! Format: `<crc32 hex8> <json>\n`. A mapped journal that was not closed
//! cleanly ends in preallocated zero bytes: replay stops at the first record
//! that starts with NUL (the end), is torn, or fails its checksum (a crash
//! mid-write), and cuts the file there. At startup the journal is compacted
//! into one snapshot event per account.
//!
//! The journal assumes it is the only writer: `Engine::open` holds an
//! exclusive lock on the state directory (`StateDirLock`).

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::event::Event;

/// Longest journal line accepted on replay.
const MAX_LINE_BYTES: usize = 4 << 20;

/// Bytes preallocated and mapped at a time by a mapped journal: about 25 000
/// order records per window. Growth (`fallocate` + a new mapping) happens once
/// per window, on the order path, and costs tens of microseconds.
const MAP_WINDOW_BYTES: usize = 8 << 20;

/// Page size assumed for aligning mapping offsets (x86-64 and aarch64 Linux
/// both accept 4 KiB-aligned offsets; `mmap` refuses a misaligned one, which
/// makes the journal fall back to `write(2)` rather than misbehave).
const PAGE_BYTES: u64 = 4096;

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
    #[error(
        "state directory {path} is in use by another riskgate process (lock held); \
         stop it or use another state_dir"
    )]
    Locked { path: PathBuf },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Record in the page cache before the order leaves: survives a process
    /// crash or `kill -9`.
    Process,
    /// Record on disk (`msync`/`fdatasync`) before the order leaves: survives
    /// power loss.
    Fsync,
}

/// How records reach the file (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalIo {
    Mapped,
    Write,
}

impl JournalIo {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalIo::Mapped => "mapped",
            JournalIo::Write => "write",
        }
    }
}

pub struct Journal {
    path: PathBuf,
    sink: Mutex<Sink>,
    durability: Durability,
}

enum Sink {
    Write(File),
    Mapped(MappedTail),
}

/// The mapped window at the end of a mapped journal.
struct MappedTail {
    file: File,
    /// `None` only while a new window is being mapped.
    map: Option<memmap2::MmapMut>,
    /// File offset of the window's first byte (page aligned).
    window_start: u64,
    /// Next free byte, relative to the window.
    pos: usize,
}

impl MappedTail {
    /// Maps a window that starts at or before `end` (the journal's logical
    /// end) and preallocates it.
    fn map_at(file: File, end: u64) -> std::io::Result<MappedTail> {
        // Until a window is mapped, the logical end is `end` itself (so a
        // failed first mapping's `Drop` cuts nothing).
        let mut tail = MappedTail {
            file,
            map: None,
            window_start: end,
            pos: 0,
        };
        tail.remap(end)?;
        Ok(tail)
    }

    fn logical_end(&self) -> u64 {
        self.window_start + self.pos as u64
    }

    fn remap(&mut self, end: u64) -> std::io::Result<()> {
        let start = end - end % PAGE_BYTES;
        // Preallocate first: blocks exist before any store touches the pages,
        // so a full disk fails here with ENOSPC instead of SIGBUS later.
        preallocate(&self.file, start, MAP_WINDOW_BYTES as u64)?;
        // Unmap the old window before mapping the new one.
        self.map = None;
        // SAFETY: the mapping is of a file only this process writes (the state
        // directory lock keeps other riskgate processes out, and nothing else
        // is meant to touch a journal). The file is never truncated while
        // mapped (`Drop` unmaps first). Bytes are only ever copied in and
        // never read back through the mapping, so a concurrent external
        // change could corrupt the journal's content (caught by checksums on
        // replay) but not break memory safety of the copies into it.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(start)
                .len(MAP_WINDOW_BYTES)
                .map_mut(&self.file)?
        };
        self.map = Some(map);
        self.window_start = start;
        self.pos = (end - start) as usize;
        Ok(())
    }

    fn append(&mut self, line: &[u8], durability: Durability) -> std::io::Result<()> {
        let fits = |t: &MappedTail| t.pos + line.len() <= MAP_WINDOW_BYTES;
        if !fits(self) || self.map.is_none() {
            self.remap(self.logical_end())?;
            if !fits(self) {
                return Err(std::io::Error::other(format!(
                    "record of {} bytes is larger than a journal window",
                    line.len()
                )));
            }
        }
        let Some(map) = self.map.as_mut() else {
            return Err(std::io::Error::other("journal window not mapped"));
        };
        let at = self.pos;
        map[at..at + line.len()].copy_from_slice(line);
        if durability == Durability::Fsync {
            map.flush_range(at, line.len())?;
        }
        self.pos += line.len();
        Ok(())
    }
}

impl Drop for MappedTail {
    fn drop(&mut self) {
        // A clean close leaves no preallocated zero tail: unmap, then cut the
        // file at its logical end. (After a crash the tail stays; replay
        // treats it as the end.)
        let end = self.logical_end();
        self.map = None;
        let _ = self.file.set_len(end);
    }
}

#[cfg(target_os = "linux")]
fn preallocate(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len)?;
    Ok(())
}

/// Elsewhere a mapped store into a hole could raise `SIGBUS` on a full disk,
/// so the journal does not map: it falls back to `write(2)`.
#[cfg(not(target_os = "linux"))]
fn preallocate(_file: &File, _offset: u64, _len: u64) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no fallocate on this platform",
    ))
}

/// What replay found.
pub struct Replayed {
    pub events: Vec<Event>,
    /// Bytes cut from a torn or corrupt tail (a clean zero tail left by a
    /// mapped journal is not counted).
    pub truncated_bytes: u64,
}

/// An exclusive lock on a state directory, held for the process's life: two
/// riskgates appending to one journal would corrupt it.
pub struct StateDirLock {
    _file: File,
}

impl StateDirLock {
    pub fn acquire(dir: &Path) -> Result<StateDirLock, JournalError> {
        let path = dir.join("riskgate.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Self::lock(dir, &path, file)
    }

    #[cfg(not(unix))]
    fn lock(_dir: &Path, _path: &Path, file: File) -> Result<StateDirLock, JournalError> {
        Ok(StateDirLock { _file: file })
    }

    #[cfg(unix)]
    fn lock(dir: &Path, path: &Path, file: File) -> Result<StateDirLock, JournalError> {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(StateDirLock { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(JournalError::Locked {
                path: dir.to_path_buf(),
            }),
            Err(e) => Err(io_err(path)(e.into())),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A line buffer grown past this is dropped after use rather than kept (a
/// compaction snapshot can be megabytes; an order's record is ~300 bytes).
const MAX_KEPT_LINE_BYTES: usize = 64 << 10;

thread_local! {
    /// The record being appended, reused by every append on this thread: an
    /// order's records are encoded without an allocation each. Per thread, so
    /// encoding stays outside the journal's lock.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Encodes `ev` as one journal line into `line` (cleared first).
fn encode_into(ev: &Event, path: &Path, line: &mut Vec<u8>) -> Result<(), JournalError> {
    line.clear();
    line.reserve(384);
    line.extend_from_slice(b"00000000 ");
    if !hot::encode(ev, line) {
        serde_json::to_writer(&mut *line, ev).map_err(|source| JournalError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let crc = crc32fast::hash(&line[9..]);
    write_hex8(&mut line[..8], crc);
    line.push(b'\n');
    Ok(())
}

/// Hand-written JSON for the two records every order writes (`reserved`,
/// `progress`): byte for byte what serde_json writes (a test holds the two
/// equal over many events), in about a third of the instructions (callgrind:
/// encoding was 8 % of riskgate's instructions per order). Replay reads them
/// with serde_json like every other record. Anything unusual (a field only
/// amends carry) returns `false` and goes through serde_json.
mod hot {
    use super::Event;
    use crate::model::{Contract, Fixed, OrderKind, Side};

    pub fn encode(ev: &Event, out: &mut Vec<u8>) -> bool {
        match ev {
            Event::Reserved {
                account,
                reservation,
                venue,
                contract,
                symbol,
                base,
                quote,
                side,
                qty,
                price,
                client_order_id,
                fingerprint,
                ts_ms,
                kind,
                reduce_only,
                amend,
            } => {
                if amend.is_some() {
                    return false; // amends are rare: serde_json writes them
                }
                out.extend_from_slice(b"{\"reserved\":{\"account\":");
                uint(out, account.0);
                out.extend_from_slice(b",\"reservation\":");
                uint(out, *reservation);
                out.extend_from_slice(b",\"venue\":");
                opt_str(out, venue.as_deref());
                out.extend_from_slice(match contract {
                    Contract::Spot => b",\"contract\":\"spot\",\"symbol\":",
                    Contract::Linear => b",\"contract\":\"linear\",\"symbol\":",
                });
                string(out, symbol.as_str());
                out.extend_from_slice(b",\"base\":");
                string(out, base);
                out.extend_from_slice(b",\"quote\":");
                string(out, quote);
                out.extend_from_slice(match side {
                    Side::Buy => b",\"side\":\"buy\",\"qty\":",
                    Side::Sell => b",\"side\":\"sell\",\"qty\":",
                });
                int(out, qty.0);
                out.extend_from_slice(b",\"price\":");
                opt_fixed(out, *price);
                out.extend_from_slice(b",\"client_order_id\":");
                opt_str(out, client_order_id.as_deref());
                out.extend_from_slice(b",\"fingerprint\":");
                uint(out, *fingerprint);
                out.extend_from_slice(b",\"ts_ms\":");
                int(out, *ts_ms);
                if let Some(kind) = kind {
                    out.extend_from_slice(b",\"kind\":");
                    out.extend_from_slice(order_kind(*kind));
                }
                if *reduce_only {
                    out.extend_from_slice(b",\"reduce_only\":true");
                }
                out.extend_from_slice(b"}}");
                true
            }
            Event::Progress {
                account,
                reservation,
                exchange_order_id,
                client_order_id,
                executed_qty,
                avg_price,
                live,
                ts_ms,
            } => {
                out.extend_from_slice(b"{\"progress\":{\"account\":");
                uint(out, account.0);
                out.extend_from_slice(b",\"reservation\":");
                uint(out, *reservation);
                out.extend_from_slice(b",\"exchange_order_id\":");
                match exchange_order_id {
                    Some(id) => int(out, *id),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"client_order_id\":");
                opt_str(out, client_order_id.as_deref());
                out.extend_from_slice(b",\"executed_qty\":");
                int(out, executed_qty.0);
                out.extend_from_slice(b",\"avg_price\":");
                opt_fixed(out, *avg_price);
                out.extend_from_slice(if *live {
                    b",\"live\":true,\"ts_ms\":"
                } else {
                    b",\"live\":false,\"ts_ms\":"
                });
                int(out, *ts_ms);
                out.extend_from_slice(b"}}");
                true
            }
            _ => false,
        }
    }

    fn order_kind(k: OrderKind) -> &'static [u8] {
        match k {
            OrderKind::Market => b"\"market\"",
            OrderKind::Limit => b"\"limit\"",
            OrderKind::LimitMaker => b"\"limit_maker\"",
            OrderKind::StopMarket => b"\"stop_market\"",
            OrderKind::StopLimit => b"\"stop_limit\"",
            OrderKind::TakeProfitMarket => b"\"take_profit_market\"",
            OrderKind::TakeProfitLimit => b"\"take_profit_limit\"",
        }
    }

    fn uint(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    fn int(out: &mut Vec<u8>, v: i64) {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    fn opt_fixed(out: &mut Vec<u8>, v: Option<Fixed>) {
        match v {
            Some(f) => int(out, f.0),
            None => out.extend_from_slice(b"null"),
        }
    }

    fn opt_str(out: &mut Vec<u8>, v: Option<&str>) {
        match v {
            Some(s) => string(out, s),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// A JSON string. serde_json escapes only `"`, `\\` and control
    /// characters (UTF-8 goes through as is); a string with any of those is
    /// left to serde_json so the escapes are its own.
    fn string(out: &mut Vec<u8>, s: &str) {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            // Writing a str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, s);
        }
    }
}

fn write_hex8(out: &mut [u8], v: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in out.iter_mut().enumerate().take(8) {
        *b = HEX[((v >> (28 - 4 * i)) & 0xf) as usize];
    }
}

/// Where the intact records of a journal end.
struct Scan {
    events: Vec<Event>,
    good_bytes: u64,
    /// Bytes after the intact records that are not zero (torn or corrupt).
    torn_bytes: u64,
}

fn scan(path: &Path, file: File, keep_events: bool) -> Result<Scan, JournalError> {
    let mut reader = BufReader::new(file);
    let mut events = Vec::new();
    let mut good_bytes = 0u64;
    let mut line = Vec::new();
    loop {
        // A record never starts with NUL: this is a mapped journal's
        // preallocated tail, the end of the log.
        let head = reader.fill_buf().map_err(io_err(path))?;
        if head.first().is_none_or(|&b| b == 0) {
            break;
        }
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io_err(path))?;
        if n == 0 || line.len() > MAX_LINE_BYTES || line.last() != Some(&b'\n') {
            break;
        }
        let Some(ev) = decode_line(&line[..line.len() - 1]) else {
            break;
        };
        if keep_events {
            events.push(ev);
        }
        good_bytes += n as u64;
    }
    // Count what follows the intact records and is not zero padding. The
    // reader has consumed exactly `good_bytes` plus any partial line read.
    let mut torn_bytes = 0u64;
    let mut rest = reader.into_inner();
    use std::io::Seek;
    rest.seek(std::io::SeekFrom::Start(good_bytes))
        .map_err(io_err(path))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut offset = 0u64;
    loop {
        let n = rest.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        if let Some(last) = buf[..n].iter().rposition(|&b| b != 0) {
            torn_bytes = offset + last as u64 + 1;
        }
        offset += n as u64;
    }
    Ok(Scan {
        events,
        good_bytes,
        torn_bytes,
    })
}

impl Journal {
    /// Reads every intact event from `path` (missing file = no events) and cuts
    /// a torn tail (and a mapped journal's zero padding).
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
        let found = scan(path, file, true)?;
        if found.good_bytes < total {
            cut(path, found.good_bytes)?;
        }
        Ok(Replayed {
            events: found.events,
            truncated_bytes: found.torn_bytes,
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
            let (mut buf, mut line) = (Vec::new(), Vec::new());
            for ev in events {
                encode_into(ev, path, &mut line)?;
                buf.extend_from_slice(&line);
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

    /// Opens `path` for appending, mapped where the file system allows it.
    pub fn open(path: &Path, durability: Durability) -> Result<Journal, JournalError> {
        Journal::open_with(path, durability, JournalIo::Mapped)
    }

    /// Opens `path` for appending with the given I/O (`Mapped` falls back to
    /// `Write`, with a warning, where the file cannot be preallocated or
    /// mapped). Appends continue after the last intact record.
    pub fn open_with(
        path: &Path,
        durability: Durability,
        io: JournalIo,
    ) -> Result<Journal, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let total = file.metadata().map_err(io_err(path))?.len();
        let reader = file.try_clone().map_err(io_err(path))?;
        let end = scan(path, reader, false)?.good_bytes;
        if end < total {
            file.set_len(end).map_err(io_err(path))?;
        }
        let sink = match io {
            JournalIo::Write => Sink::Write(append_handle(path)?),
            JournalIo::Mapped => match MappedTail::map_at(file, end) {
                Ok(tail) => Sink::Mapped(tail),
                Err(e) => {
                    tracing::warn!(
                        path = %path.display(),
                        error = %e,
                        "journal cannot be preallocated and mapped here; using write(2) per record"
                    );
                    // A failed fallocate may have extended the file: cut it back.
                    let f = append_handle(path)?;
                    f.set_len(end).map_err(io_err(path))?;
                    Sink::Write(f)
                }
            },
        };
        Ok(Journal {
            path: path.to_path_buf(),
            sink: Mutex::new(sink),
            durability,
        })
    }

    /// Which I/O this journal uses.
    pub fn io(&self) -> JournalIo {
        match &*self.sink.lock() {
            Sink::Write(_) => JournalIo::Write,
            Sink::Mapped(_) => JournalIo::Mapped,
        }
    }

    /// Appends one event; returns only once it is in the page cache (or on
    /// disk, with `Durability::Fsync`).
    pub fn append(&self, ev: &Event) -> Result<(), JournalError> {
        let append = |line: &mut Vec<u8>| {
            encode_into(ev, &self.path, line)?;
            self.write_line(line)
        };
        LINE.try_with(|cell| {
            let mut line = cell.borrow_mut();
            let written = append(&mut line);
            if line.capacity() > MAX_KEPT_LINE_BYTES {
                *line = Vec::new();
            }
            written
        })
        // The thread is exiting (its buffer is gone): a buffer of its own.
        .unwrap_or_else(|_| append(&mut Vec::new()))
    }

    fn write_line(&self, line: &[u8]) -> Result<(), JournalError> {
        let mut sink = self.sink.lock();
        match &mut *sink {
            Sink::Write(f) => {
                f.write_all(line).map_err(io_err(&self.path))?;
                if self.durability == Durability::Fsync {
                    f.sync_data().map_err(io_err(&self.path))?;
                }
            }
            Sink::Mapped(tail) => tail
                .append(line, self.durability)
                .map_err(io_err(&self.path))?,
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn append_handle(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_err(path))
}

fn cut(path: &Path, len: u64) -> Result<(), JournalError> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    f.set_len(len).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
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

    fn big(i: i64) -> Event {
        Event::TradingState {
            account: None,
            state: TradingState::ReduceOnly,
            who: "test".into(),
            why: "x".repeat(3000) + &i.to_string(),
            ts_ms: i,
        }
    }

    #[test]
    fn mapped_journal_is_used_here_and_closes_without_padding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let j = Journal::open(&path, Durability::Process).unwrap();
        assert_eq!(j.io(), JournalIo::Mapped, "tmp file system should map");
        j.append(&ev(1)).unwrap();
        // While open, the file carries the preallocated window.
        assert!(std::fs::metadata(&path).unwrap().len() >= MAP_WINDOW_BYTES as u64);
        drop(j);
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 0 && len < 200, "clean close cuts the padding: {len}");
        assert_eq!(Journal::replay(&path).unwrap().events, vec![ev(1)]);
    }

    #[test]
    fn mapped_journal_survives_a_crash_across_window_growth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        // Enough ~3 KiB records to need three windows.
        let n = (2 * MAP_WINDOW_BYTES / 3000 + 10) as i64;
        let j = Journal::open(&path, Durability::Process).unwrap();
        for i in 0..n {
            j.append(&big(i)).unwrap();
        }
        // A crash: no Drop, the mapping and the zero padding stay behind. The
        // records are in the page cache all the same.
        std::mem::forget(j);
        let r = Journal::replay(&path).unwrap();
        assert_eq!(r.events.len() as i64, n);
        assert_eq!(r.events.last(), Some(&big(n - 1)));
        assert_eq!(r.truncated_bytes, 0, "zero padding is not a torn tail");
        // Replay cut the padding; appends continue after the last record.
        let j = Journal::open(&path, Durability::Fsync).unwrap();
        j.append(&ev(7)).unwrap();
        drop(j);
        let r = Journal::replay(&path).unwrap();
        assert_eq!(r.events.len() as i64, n + 1);
        assert_eq!(r.events.last(), Some(&ev(7)));
    }

    #[test]
    fn torn_record_in_the_padding_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let j = Journal::open(&path, Durability::Process).unwrap();
        j.append(&ev(1)).unwrap();
        j.append(&ev(2)).unwrap();
        std::mem::forget(j);
        // A kill in the middle of a copy: part of a record inside the padding.
        let mut bytes = std::fs::read(&path).unwrap();
        let end = bytes.iter().rposition(|&b| b == b'\n').unwrap() + 1;
        bytes[end..end + 12].copy_from_slice(b"0badc0de {\"t");
        std::fs::write(&path, &bytes).unwrap();
        let r = Journal::replay(&path).unwrap();
        assert_eq!(r.events, vec![ev(1), ev(2)]);
        assert_eq!(r.truncated_bytes, 12);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), end as u64);
    }

    #[test]
    fn open_appends_after_the_last_record_not_after_padding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let j = Journal::open(&path, Durability::Process).unwrap();
        j.append(&ev(1)).unwrap();
        std::mem::forget(j);
        // Opened again without a replay first (both I/O kinds).
        for io in [JournalIo::Write, JournalIo::Mapped] {
            let j = Journal::open_with(&path, Durability::Process, io).unwrap();
            assert_eq!(j.io(), io);
            j.append(&ev(2)).unwrap();
            std::mem::forget(j);
        }
        let r = Journal::replay(&path).unwrap();
        assert_eq!(r.events, vec![ev(1), ev(2), ev(2)]);
    }

    /// Appends share one line buffer per thread: a record larger than the
    /// buffer kept (dropped after use) and the small ones around it all
    /// come back whole, on two journals from two threads.
    #[test]
    fn reused_line_buffer_keeps_every_record_whole() {
        let dir = tempfile::tempdir().unwrap();
        let huge = |i: i64| Event::TradingState {
            account: None,
            state: TradingState::Halted,
            who: "test".into(),
            why: "y".repeat(MAX_KEPT_LINE_BYTES + 100) + &i.to_string(),
            ts_ms: i,
        };
        let written = [ev(1), huge(2), ev(3), big(4), ev(5), huge(6), ev(7)];
        std::thread::scope(|s| {
            for name in ["a.log", "b.log"] {
                let path = dir.path().join(name);
                let written = &written;
                s.spawn(move || {
                    let j = Journal::open(&path, Durability::Process).unwrap();
                    for e in written {
                        j.append(e).unwrap();
                    }
                    drop(j);
                    assert_eq!(Journal::replay(&path).unwrap().events, written.to_vec());
                });
            }
        });
    }

    #[test]
    fn state_dir_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let held = StateDirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            StateDirLock::acquire(dir.path()),
            Err(JournalError::Locked { .. })
        ));
        drop(held);
        StateDirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn hand_written_records_are_byte_for_byte_serde_json() {
        use crate::model::{AccountId, ClientOrderId, Contract, Fixed, OrderKind, Side, Symbol};
        use std::sync::Arc;
        let texts = [
            "BTCUSDT",
            "",
            "a\"b",
            "back\\slash",
            "ctl\u{1}x",
            "tab\tx",
            "ünïcødé",
            "\u{7f}del",
            // Longer than a client id's inline bytes (kept on the heap).
            "a-client-order-id-of-forty-two-characters",
        ];
        const KINDS: [OrderKind; 7] = [
            OrderKind::Market,
            OrderKind::Limit,
            OrderKind::LimitMaker,
            OrderKind::StopMarket,
            OrderKind::StopLimit,
            OrderKind::TakeProfitMarket,
            OrderKind::TakeProfitLimit,
        ];
        let mut checked = 0;
        for (i, t) in texts.iter().enumerate() {
            for flip in [false, true] {
                let some = |v: &str| (!flip).then(|| ClientOrderId::from(v));
                let events = [
                    Event::Reserved {
                        account: AccountId(u64::MAX - i as u64),
                        reservation: i as u64,
                        venue: (!flip).then(|| Arc::<str>::from(*t)),
                        contract: if flip {
                            Contract::Linear
                        } else {
                            Contract::Spot
                        },
                        symbol: Symbol::new(t),
                        base: Arc::from(*t),
                        quote: Arc::from("USDT"),
                        side: if flip { Side::Sell } else { Side::Buy },
                        qty: Fixed(i64::MAX - i as i64),
                        price: flip.then_some(Fixed(-5)),
                        client_order_id: some(t),
                        fingerprint: 0xdead_beef_u64 << i,
                        ts_ms: -(i as i64),
                        kind: (!flip).then_some(KINDS[i % KINDS.len()]),
                        reduce_only: flip,
                        amend: None,
                    },
                    Event::Progress {
                        account: AccountId(i as u64),
                        reservation: u64::MAX,
                        exchange_order_id: flip.then_some(i64::MIN),
                        client_order_id: some(t),
                        executed_qty: Fixed(0),
                        avg_price: (!flip).then_some(Fixed(123_456_789)),
                        live: flip,
                        ts_ms: 1_764_000_000_000,
                    },
                ];
                for ev in events {
                    let mut hand = Vec::new();
                    assert!(hot::encode(&ev, &mut hand));
                    let serde = serde_json::to_vec(&ev).unwrap();
                    assert_eq!(
                        String::from_utf8_lossy(&hand),
                        String::from_utf8_lossy(&serde)
                    );
                    let back: Event = serde_json::from_slice(&hand).unwrap();
                    assert_eq!(back, ev);
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, texts.len() * 4);
    }
}
