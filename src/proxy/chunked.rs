//! Reading HTTP/1.1 bodies, for both sides of the proxy: filling a
//! connection's read buffer, and the chunked transfer coding (RFC 9112 §7.1)
//! of a bot's chunked request body or an exchange's chunked answer.
//!
//! Owns only the reading and decoding, over a connection's read buffer. Limits are the caller's; trailers are read and discarded.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest chunk-size line (size, extensions, CRLF).
const MAX_SIZE_LINE_BYTES: usize = 1024;
/// Most trailer bytes read and discarded.
const MAX_TRAILER_BYTES: usize = 64 << 10;

/// Reads what `stream` has into `buf`, first growing it by `grow` bytes when
/// less than a quarter of that is free; `Ok(false)` at EOF. Both sides'
/// connections read this way.
pub(super) async fn read_more<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut BytesMut,
    grow: usize,
) -> std::io::Result<bool> {
    if buf.capacity() - buf.len() < grow / 4 {
        buf.reserve(grow);
    }
    Ok(stream.read_buf(buf).await? > 0)
}

/// A connection's buffered bytes and a way to read more.
pub(super) trait Source {
    fn buf(&mut self) -> &mut BytesMut;
    /// Reads more bytes into the buffer; `Ok(false)` at EOF.
    async fn fill(&mut self) -> std::io::Result<bool>;
}

#[derive(Debug, thiserror::Error)]
pub(super) enum ChunkedError {
    #[error("{0}")]
    Malformed(&'static str),
    #[error("body over {0} bytes")]
    TooLarge(usize),
    #[error("connection closed inside a chunked body")]
    Closed,
    #[error("read: {0}")]
    Io(#[from] std::io::Error),
}

async fn fill_or_closed<S: Source>(src: &mut S) -> Result<(), ChunkedError> {
    if src.fill().await? {
        Ok(())
    } else {
        Err(ChunkedError::Closed)
    }
}

/// Reads a CRLF-terminated line of at most `max` bytes; returns its length
/// without the CRLF (the line stays in the buffer).
async fn line<S: Source>(src: &mut S, max: usize) -> Result<usize, ChunkedError> {
    let mut scanned: usize = 0;
    loop {
        let buf = src.buf();
        if let Some(i) = buf[scanned.saturating_sub(1)..]
            .windows(2)
            .position(|w| w == b"\r\n")
        {
            return Ok(scanned.saturating_sub(1) + i);
        }
        scanned = buf.len();
        if scanned > max {
            return Err(ChunkedError::Malformed("chunk line too long"));
        }
        fill_or_closed(src).await?;
    }
}

/// Reads one whole chunked body of at most `max_body_bytes` decoded bytes.
pub(super) async fn read<S: Source>(
    src: &mut S,
    max_body_bytes: usize,
) -> Result<Bytes, ChunkedError> {
    let mut body = BytesMut::new();
    loop {
        // The chunk-size line: hex size, optional extensions, CRLF.
        let line_len = line(src, MAX_SIZE_LINE_BYTES).await?;
        let buf = src.buf();
        let size_field = buf[..line_len]
            .split(|b| *b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let size = std::str::from_utf8(size_field)
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or(ChunkedError::Malformed("malformed chunk size"))?;
        buf.advance(line_len + 2);
        if size == 0 {
            // Trailer fields until an empty line.
            let mut trailer_bytes = 0;
            loop {
                let end = line(src, MAX_TRAILER_BYTES).await?;
                src.buf().advance(end + 2);
                if end == 0 {
                    return Ok(body.freeze());
                }
                trailer_bytes += end + 2;
                if trailer_bytes > MAX_TRAILER_BYTES {
                    return Err(ChunkedError::Malformed("trailers too large"));
                }
            }
        }
        if body.len() + size > max_body_bytes {
            return Err(ChunkedError::TooLarge(max_body_bytes));
        }
        while src.buf().len() < size + 2 {
            fill_or_closed(src).await?;
        }
        let buf = src.buf();
        if &buf[size..size + 2] != b"\r\n" {
            return Err(ChunkedError::Malformed("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&buf[..size]);
        buf.advance(size + 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes arriving in the given pieces, one piece per fill.
    struct Pieces {
        buf: BytesMut,
        rest: std::collections::VecDeque<&'static [u8]>,
    }

    impl Source for Pieces {
        fn buf(&mut self) -> &mut BytesMut {
            &mut self.buf
        }
        async fn fill(&mut self) -> std::io::Result<bool> {
            Ok(match self.rest.pop_front() {
                Some(p) => {
                    self.buf.extend_from_slice(p);
                    true
                }
                None => false,
            })
        }
    }

    fn decode(pieces: &[&'static [u8]], max: usize) -> (Result<Bytes, ChunkedError>, Vec<u8>) {
        let mut src = Pieces {
            buf: BytesMut::new(),
            rest: pieces.iter().copied().collect(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = rt.block_on(read(&mut src, max));
        let mut left = src.buf.to_vec();
        for p in src.rest {
            left.extend_from_slice(p);
        }
        (r, left)
    }

    #[test]
    fn decodes_across_piece_boundaries_and_leaves_the_next_message() {
        let whole: &[u8] = b"4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nx-trailer: t\r\n\r\nNEXT";
        // Every split point, including inside the CRLFs.
        for cut in 0..whole.len() {
            let (a, b) = whole.split_at(cut);
            let (r, left) = decode(&[a, b], 1024);
            assert_eq!(&r.unwrap()[..], br#"{"a":1}"#, "cut at {cut}");
            assert_eq!(left, b"NEXT", "cut at {cut}");
        }
    }

    #[test]
    fn refuses_bad_sizes_overruns_and_truncation() {
        for bad in [
            &b"x\r\n"[..],
            b"-1\r\n",
            b"+4\r\nabcd\r\n0\r\n\r\n",
            b"\r\n",
            b"123456789\r\n",
            b"4\r\nabcdX\r\n",
        ] {
            let (r, _) = decode(&[bad], 1024);
            assert!(
                matches!(r, Err(ChunkedError::Malformed(_))),
                "{bad:?}: {r:?}"
            );
        }
        let (r, _) = decode(&[b"5\r\nabcde\r\n5\r\nabcde\r\n0\r\n\r\n"], 8);
        assert!(matches!(r, Err(ChunkedError::TooLarge(8))), "{r:?}");
        let (r, _) = decode(&[b"5\r\nab"], 8);
        assert!(matches!(r, Err(ChunkedError::Closed)), "{r:?}");
    }
}
