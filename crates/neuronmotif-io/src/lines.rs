//! Line-by-line input shared by every parser: 1-based numbering, a UTF-8 byte-order mark and
//! Windows line endings removed, one line of look-back, and one reused buffer (no allocation per
//! line once the buffer has grown to the longest line).

use std::io::{self, BufRead};

use crate::error::{IoError, Location};
use crate::number::parse_decimal;

/// The name used for in-memory input in errors and [`crate::Source`].
pub(crate) const IN_MEMORY: &str = "<input>";

pub(crate) struct LineSource<R> {
    inner: R,
    name: String,
    buf: String,
    /// Number of the line in `buf` (0 before the first read).
    line_no: usize,
    /// `advance` stays on `buf` instead of reading.
    pushed_back: bool,
    at_eof: bool,
    /// A non-blank line has been read.
    saw_content: bool,
}

impl<R: BufRead> LineSource<R> {
    pub(crate) fn new(inner: R, name: impl Into<String>) -> Self {
        LineSource {
            inner,
            name: name.into(),
            buf: String::new(),
            line_no: 0,
            pushed_back: false,
            at_eof: false,
            saw_content: false,
        }
    }

    /// Whether any non-blank line has been read.
    pub(crate) fn saw_content(&self) -> bool {
        self.saw_content
    }

    /// The file name given at construction.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The number of the current line (the last line of the input after the end; 1 for an empty
    /// input, so locations always name a real line number).
    pub(crate) fn line_no(&self) -> usize {
        self.line_no.max(1)
    }

    /// The location of the current line.
    pub(crate) fn at(&self, motif: Option<&str>) -> Location {
        self.at_line(self.line_no(), motif)
    }

    /// A location on another line of the same input.
    pub(crate) fn at_line(&self, line: usize, motif: Option<&str>) -> Location {
        Location {
            file: self.name.clone(),
            line,
            motif: motif.map(str::to_owned),
        }
    }

    /// Move to the next line; `false` at the end of the input. The line, without its line
    /// ending, is then [`LineSource::current`]. Reading and looking are separate calls so a
    /// parser can hold the line and still build error locations from `&self`.
    pub(crate) fn advance(&mut self) -> Result<bool, IoError> {
        if self.pushed_back {
            self.pushed_back = false;
            return Ok(true);
        }
        if self.at_eof {
            return Ok(false);
        }
        self.buf.clear();
        let read = match self.inner.read_line(&mut self.buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(IoError::InvalidUtf8 {
                    at: self.at_line(self.line_no + 1, None),
                })
            }
            Err(source) => {
                return Err(IoError::Io {
                    file: self.name.clone(),
                    error: source,
                })
            }
        };
        if read == 0 {
            self.at_eof = true;
            return Ok(false);
        }
        self.line_no += 1;
        if self.buf.ends_with('\n') {
            self.buf.pop();
            if self.buf.ends_with('\r') {
                self.buf.pop();
            }
        }
        if self.line_no == 1 && self.buf.starts_with('\u{feff}') {
            self.buf.drain(..'\u{feff}'.len_utf8());
        }
        if self.buf.contains('\r') {
            // A carriage return inside a line is classic-Mac line endings or corruption; either
            // way the line boundaries are not what they seem.
            return Err(IoError::UnexpectedLine {
                at: self.at(None),
                expected: "lines ending in LF or CR LF (a bare carriage return is not a line end)",
                found: self.buf.clone(),
            });
        }
        self.saw_content = self.saw_content || !self.buf.trim_ascii().is_empty();
        Ok(true)
    }

    /// Move to the next line that is not blank; `false` at the end of the input.
    pub(crate) fn advance_nonblank(&mut self) -> Result<bool, IoError> {
        while self.advance()? {
            if !self.buf.trim_ascii().is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Make the next `advance` stay on the current line (callers push back only lines
    /// they received, never the end of the input).
    pub(crate) fn push_back(&mut self) {
        self.pushed_back = self.line_no > 0;
    }

    /// The current line, without its line ending (empty before the first `advance`).
    pub(crate) fn current(&self) -> &str {
        &self.buf
    }

    /// Parse the whitespace-separated numbers of `fields` (the part of the current line after
    /// any label) into `out`, checking each is a finite number >= 0. `first_column` is the
    /// 1-based column of the first field, for error messages. Returns how many were read.
    pub(crate) fn parse_values<'a>(
        &self,
        fields: impl Iterator<Item = &'a str>,
        first_column: usize,
        motif: Option<&str>,
        out: &mut Vec<f64>,
    ) -> Result<usize, IoError> {
        let mut n = 0;
        for (i, token) in fields.enumerate() {
            let value = parse_decimal(token).ok_or_else(|| IoError::InvalidNumber {
                at: self.at(motif),
                column: first_column + i,
                token: token.to_owned(),
                expected: "a decimal number",
            })?;
            if value < 0.0 {
                return Err(IoError::InvalidNumber {
                    at: self.at(motif),
                    column: first_column + i,
                    token: token.to_owned(),
                    expected: "a number >= 0",
                });
            }
            // -0 is 0: keeps writers from printing "-0.000000".
            out.push(value + 0.0);
            n += 1;
        }
        Ok(n)
    }
}

/// The first whitespace-separated token of a line and the rest after it (trimmed at the start).
pub(crate) fn split_first_token(line: &str) -> (&str, &str) {
    let line = line.trim_ascii_start();
    match line.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&line[..i], line[i..].trim_ascii_start()),
        None => (line, ""),
    }
}

/// Whether the trimmed line starts with `keyword` followed by whitespace or the end.
pub(crate) fn starts_with_word(line: &str, keyword: &str) -> bool {
    let line = line.trim_ascii_start();
    line.strip_prefix(keyword)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_whitespace()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<(usize, String)> {
        let mut src = LineSource::new(text.as_bytes(), IN_MEMORY);
        let mut out = Vec::new();
        while src.advance().unwrap() {
            out.push((src.line_no(), src.current().to_owned()));
        }
        out
    }

    #[test]
    fn strips_bom_and_crlf_and_counts_lines() {
        let got = lines_of("\u{feff}MEME version 4\r\n\r\nMOTIF a\r\nlast");
        assert_eq!(
            got,
            vec![
                (1, "MEME version 4".to_owned()),
                (2, String::new()),
                (3, "MOTIF a".to_owned()),
                (4, "last".to_owned())
            ]
        );
    }

    #[test]
    fn bom_only_removed_on_the_first_line() {
        let got = lines_of("a\n\u{feff}b\n");
        assert_eq!(got[1].1, "\u{feff}b");
    }

    #[test]
    fn bare_carriage_return_is_an_error() {
        let mut src = LineSource::new("ok\r\na\rb\n".as_bytes(), IN_MEMORY);
        assert!(src.advance().unwrap());
        let e = src.advance().unwrap_err();
        assert!(
            matches!(e, IoError::UnexpectedLine { ref at, .. } if at.line == 2),
            "{e}"
        );
    }

    #[test]
    fn push_back_repeats_the_line() {
        let mut src = LineSource::new("x\n\ny\n".as_bytes(), IN_MEMORY);
        assert!(src.advance().unwrap());
        assert_eq!(src.current(), "x");
        src.push_back();
        assert!(src.advance().unwrap());
        assert_eq!(src.current(), "x");
        assert!(src.advance_nonblank().unwrap());
        assert_eq!(src.current(), "y");
        assert_eq!(src.line_no(), 3);
        assert!(!src.advance().unwrap());
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let bytes: &[u8] = b"ok\n\xff\xfe\n";
        let mut src = LineSource::new(bytes, "f.txt");
        src.advance().unwrap();
        let e = src.advance().unwrap_err();
        assert!(matches!(e, IoError::InvalidUtf8 { ref at } if at.line == 2 && at.file == "f.txt"));
    }

    #[test]
    fn word_prefixes() {
        assert!(starts_with_word("  URL http://x", "URL"));
        assert!(starts_with_word("URL", "URL"));
        assert!(!starts_with_word("URLS x", "URL"));
        assert_eq!(split_first_token("  MOTIF\ta b"), ("MOTIF", "a b"));
        assert_eq!(split_first_token("id"), ("id", ""));
    }
}
