//! Errors that point at a place in a file: `file:line:col: message`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in one file, located by line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

impl SourceError {
    /// Locates byte offset `span.start` of `text` as line:col.
    pub fn at(
        file: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> SourceError {
        let offset = span.map(|s| s.start.min(text.len())).unwrap_or(0);
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        SourceError {
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
        }
    }

    /// A TOML parse or shape error, with the message's own location text removed.
    pub fn from_toml(file: &Path, text: &str, err: &toml::de::Error) -> SourceError {
        SourceError::at(file, text, err.span(), err.message().trim().to_string())
    }

    /// A problem with the file as a whole (unreadable, say).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> SourceError {
        SourceError {
            file: file.to_path_buf(),
            line: 1,
            col: 1,
            message: message.into(),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Several problems at once, so `riskgate check` can list them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let text = "a = 1\nbb = 2\n";
        let e = SourceError::at(Path::new("f.toml"), text, Some(8..9), "bad");
        assert_eq!(e.to_string(), "f.toml:2:3: bad");
    }
}
