//! The one reader behind every run-directory table: header check, blank-line skipping and a
//! field count per row, so each table's parser only interprets values.

use std::path::Path;

use crate::{ReportError, Result};

/// A data row: its 1-based line number and its tab-separated fields.
pub(crate) type Row<'a> = (usize, Vec<&'a str>);

/// An error at `line` of `path`.
pub(crate) fn malformed(path: &Path, line: usize, message: String) -> ReportError {
    ReportError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Split `text` into rows after checking its header against `columns`.
///
/// A leading byte-order mark and CRLF line ends are accepted because spreadsheets write them.
/// `comments` also skips `#` lines (Tomtom's trailer). `None` means the file had no header
/// line at all; whether that is an error is the caller's decision. `owner` names whose columns
/// they are in the header error ("the", "Tomtom's").
pub(crate) fn rows<'a>(
    text: &'a str,
    path: &Path,
    columns: &[&str],
    owner: &str,
    comments: bool,
) -> Result<Option<Vec<Row<'a>>>> {
    let mut lines = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !(l.trim().is_empty() || comments && l.starts_with('#')));
    match lines.next() {
        Some((_, header)) if header.split('\t').eq(columns.iter().copied()) => {}
        Some((n, header)) => {
            return Err(malformed(
                path,
                n,
                format!(
                    "header {header:?}: expected {owner} tab-separated columns {}",
                    columns.join(" ")
                ),
            ))
        }
        None => return Ok(None),
    }
    lines
        .map(|(n, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() == columns.len() {
                Ok((n, fields))
            } else {
                Err(malformed(
                    path,
                    n,
                    format!("{} fields, expected {}", fields.len(), columns.len()),
                ))
            }
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
