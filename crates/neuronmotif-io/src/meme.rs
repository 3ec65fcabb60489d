//! MEME minimal motif format, versions 4 and 5.
//!
//! Grammar accepted (MEME 5.4.1's `motif-in-meme-text.c` rules; tabs or spaces wherever
//! whitespace is allowed, blank lines anywhere):
//!
//! ```text
//! MEME version 4                         required, first non-blank line; 4.x and 5.x accepted
//! ALPHABET= ACGT                         optional; or a custom block ALPHABET "name" DNA-LIKE
//!                                        ... END ALPHABET whose core letters must be A C G T
//! strands: + -                           optional; `+` alone for one strand (default: both)
//! Background letter frequencies (...)    optional; then A/C/G/T value pairs over 1+ lines,
//! A 0.25 C 0.25 G 0.25 T 0.25            summing to 1 within 0.1, then renormalised
//! MOTIF id [alt]                         `BL MOTIF` accepted; alt must not contain `=`;
//!                                        text after alt is ignored, as MEME ignores it
//! letter-probability matrix: alength= 4 w= 6 nsites= 20 E= 0
//!                                        keys alength, w, nsites, E, P in any order, spaces
//!                                        optional around `=`; alength must be 4
//!  0.2  0.8  0.0  0.0                    w rows of 4 numbers, each row summing to 1 within 0.1
//! log-odds matrix: alength= 4 w= 6       optional, skipped
//! URL http://...                         optional
//! ```
//!
//! Values are kept as written (see [`crate::MotifMatrix`]), so the writer, which prints six
//! decimals in the layout of JASPAR's and MEME's own exports, reproduces such files byte for
//! byte. MEME's full `meme.txt` output (text before the version line) is not this format.

use std::fmt::{self, Write as _};
use std::io::BufRead;

use neuronmotif_core::{Background, CoreError};

use crate::error::IoError;
use crate::lines::{split_first_token, starts_with_word, LineSource};
use crate::motif::{EValue, MatrixKind, Motif, MotifMatrix, Source};
use crate::number::{parse_decimal, starts_numeric};
use crate::writer::{check_line, check_word, unwritable};
use crate::Format;

/// The largest distance of a probability row (or the background) from 1 that MEME accepts.
pub const MEME_ROW_TOLERANCE: f64 = 0.1;

/// Which strands a MEME file's motifs describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strands {
    /// `strands: +`.
    Forward,
    /// `strands: + -`, and MEME's assumption for DNA when the line is absent.
    #[default]
    Both,
}

/// A MEME file's background, with the frequencies as written.
///
/// MEME prints background frequencies with three decimals, so they may sum to 1 ± 0.002; the
/// written values are kept for rewriting the file exactly, and [`MemeBackground::background`]
/// gives them renormalised.
#[derive(Debug, Clone, PartialEq)]
pub struct MemeBackground {
    written: [f64; 4],
    source: Option<String>,
    background: Background,
}

impl MemeBackground {
    /// Validate frequencies (ACGT order, each finite and > 0, summing to 1 within
    /// [`MEME_ROW_TOLERANCE`]); `source` is the text after `Background letter frequencies`
    /// (such as `(from uniform background):`), kept for rewriting.
    pub fn new(written: [f64; 4], source: Option<String>) -> Result<MemeBackground, CoreError> {
        let sum: f64 = written.iter().sum();
        if !sum.is_finite() || (sum - 1.0).abs() > MEME_ROW_TOLERANCE {
            return Err(CoreError::RowSum {
                pos: 0,
                sum,
                tolerance: MEME_ROW_TOLERANCE,
            });
        }
        let background = Background::new(written.map(|f| f / sum))?;
        Ok(MemeBackground {
            written,
            source,
            background,
        })
    }

    /// The frequencies as written, ACGT order.
    pub fn written(&self) -> [f64; 4] {
        self.written
    }

    /// The text after `Background letter frequencies`, if any.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The frequencies renormalised to sum to 1.
    pub fn background(&self) -> Background {
        self.background
    }
}

impl From<Background> for MemeBackground {
    fn from(background: Background) -> Self {
        MemeBackground {
            written: background.freqs(),
            source: None,
            background,
        }
    }
}

/// What a MEME file says before its first motif.
///
/// The default is what the writer emits when given nothing else: version 4, `ALPHABET= ACGT`,
/// both strands and a uniform background.
#[derive(Debug, Clone, PartialEq)]
pub struct MemeHeader {
    /// The text after `MEME version` (`4`, or `5.4.1 (Release date: ...)`).
    pub version: String,
    /// The declared alphabet: `ACGT` for `ALPHABET= ACGT`, the quoted name of a custom
    /// DNA-like block (or `DNA` when it has none), `None` when the file has no alphabet line.
    pub alphabet: Option<String>,
    /// The `strands:` line; [`Strands::Both`] when absent.
    pub strands: Strands,
    /// The `Background letter frequencies`; `None` when absent (MEME then assumes uniform).
    pub background: Option<MemeBackground>,
}

impl Default for MemeHeader {
    fn default() -> Self {
        MemeHeader {
            version: "4".to_owned(),
            alphabet: Some("ACGT".to_owned()),
            strands: Strands::Both,
            background: Some(MemeBackground::from(Background::UNIFORM)),
        }
    }
}

/// Whether `line` is a MEME version line (`MEME version N...`).
pub(crate) fn is_version_line(line: &str) -> bool {
    let mut tokens = line.split_ascii_whitespace();
    tokens.next() == Some("MEME") && tokens.next() == Some("version") && tokens.next().is_some()
}

/// The major version of a version text, if it is one MEME's minimal format has (4 or 5).
fn supported_major(version: &str) -> bool {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    let rest = version.get(digits.len()..).unwrap_or_default();
    let clean_end = rest.is_empty() || rest.starts_with(['.', ' ', '\t']);
    matches!(digits.as_str(), "4" | "5") && clean_end
}

/// The text after `MOTIF` (or `BL MOTIF`) on a motif line.
fn motif_line_rest(line: &str) -> Option<&str> {
    let mut line = line.trim_ascii_start();
    if starts_with_word(line, "BL") {
        line = line.get(2..)?.trim_ascii_start();
    }
    let rest = line.strip_prefix("MOTIF")?;
    (rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_whitespace()))
        .then(|| rest.trim_ascii())
}

/// Lines that end a matrix: seeing one where a row was due means the matrix is short.
fn is_keyword_line(line: &str) -> bool {
    let t = line.trim_ascii_start();
    motif_line_rest(t).is_some()
        || starts_with_word(t, "URL")
        || t.starts_with("letter-probability matrix:")
        || t.starts_with("log-odds matrix:")
}

/// Read the version line and the header lines up to (not including) the first `MOTIF`.
pub(crate) fn read_header<R: BufRead>(lines: &mut LineSource<R>) -> Result<MemeHeader, IoError> {
    if !lines.advance_nonblank()? {
        return Err(IoError::EmptyInput {
            file: lines.name().to_owned(),
        });
    }
    let first = lines.current().trim_ascii();
    if !is_version_line(first) {
        return Err(IoError::UnexpectedLine {
            at: lines.at(None),
            expected: "the MEME version line (`MEME version 4`)",
            found: first.to_owned(),
        });
    }
    let after_meme = split_first_token(first).1;
    let version = split_first_token(after_meme).1.trim_ascii().to_owned();
    if !supported_major(&version) {
        return Err(IoError::UnsupportedVersion {
            at: lines.at(None),
            found: version,
        });
    }
    let mut header = MemeHeader {
        version,
        alphabet: None,
        strands: Strands::Both,
        background: None,
    };
    let mut seen_strands = false;
    while lines.advance_nonblank()? {
        let line = lines.current().trim_ascii();
        if let Some(value) = line.strip_prefix("ALPHABET=") {
            once(
                lines,
                header.alphabet.is_some(),
                "at most one alphabet in the header",
            )?;
            let value = value.trim_ascii();
            if value != "ACGT" {
                return Err(IoError::NonDnaAlphabet {
                    at: lines.at(None),
                    found: value.to_owned(),
                });
            }
            header.alphabet = Some(value.to_owned());
        } else if starts_with_word(line, "ALPHABET") {
            once(
                lines,
                header.alphabet.is_some(),
                "at most one alphabet in the header",
            )?;
            let declaration = line.get("ALPHABET".len()..).unwrap_or_default().to_owned();
            header.alphabet = Some(read_alphabet_block(lines, &declaration)?);
        } else if let Some(value) = line.strip_prefix("strands:") {
            once(lines, seen_strands, "at most one `strands:` line")?;
            seen_strands = true;
            header.strands = parse_strands(value).ok_or_else(|| IoError::InvalidField {
                at: lines.at(None),
                field: "strands:".to_owned(),
                value: value.trim_ascii().to_owned(),
                expected: "`+` or `+ -`",
            })?;
        } else if let Some(rest) = line.strip_prefix("Background letter frequencies") {
            once(lines, header.background.is_some(), "at most one background")?;
            let rest = rest.trim_ascii();
            let source = (!rest.is_empty()).then(|| rest.to_owned());
            header.background = Some(read_background(lines, source)?);
        } else if motif_line_rest(line).is_some() {
            lines.push_back();
            break;
        } else {
            return Err(IoError::UnexpectedLine {
                at: lines.at(None),
                expected:
                    "`ALPHABET=`, `strands:`, `Background letter frequencies` or a MOTIF line",
                found: line.to_owned(),
            });
        }
    }
    Ok(header)
}

fn once<R: BufRead>(
    lines: &LineSource<R>,
    already: bool,
    expected: &'static str,
) -> Result<(), IoError> {
    if already {
        return Err(IoError::UnexpectedLine {
            at: lines.at(None),
            expected,
            found: lines.current().trim_ascii().to_owned(),
        });
    }
    Ok(())
}

fn parse_strands(value: &str) -> Option<Strands> {
    let mut plus = 0;
    let mut minus = 0;
    for token in value.split_ascii_whitespace() {
        match token {
            "+" => plus += 1,
            "-" => minus += 1,
            _ => return None,
        }
    }
    match (plus, minus) {
        (1, 0) => Some(Strands::Forward),
        (1, 1) => Some(Strands::Both),
        _ => None,
    }
}

/// Tokens of an alphabet-definition line outside double quotes (names may contain spaces).
fn unquoted_tokens(line: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    for (i, part) in line.split('"').enumerate() {
        if i % 2 == 0 {
            tokens.extend(part.split_ascii_whitespace());
        }
    }
    tokens
}

/// Read a custom `ALPHABET ... END ALPHABET` block (the `ALPHABET` line is current) and
/// accept it only if its core letters are A, C, G, T (complemented A~T, C~G when given).
fn read_alphabet_block<R: BufRead>(
    lines: &mut LineSource<R>,
    declaration: &str,
) -> Result<String, IoError> {
    let start = lines.at(None);
    let name = declaration.split('"').nth(1).map(str::to_owned);
    let shown = name
        .clone()
        .unwrap_or_else(|| declaration.trim_ascii().to_owned());
    let like = unquoted_tokens(declaration);
    if like
        .iter()
        .any(|t| *t == "RNA-LIKE" || *t == "PROTEIN-LIKE")
    {
        return Err(IoError::NonDnaAlphabet {
            at: start,
            found: declaration.trim_ascii().to_owned(),
        });
    }
    let mut core: Vec<char> = Vec::new();
    let mut pairs_ok = true;
    loop {
        if !lines.advance()? {
            return Err(IoError::Truncated {
                at: lines.at(None),
                expected: "`END ALPHABET` closing the alphabet block".to_owned(),
            });
        }
        let line = lines.current();
        let tokens = unquoted_tokens(line);
        if tokens.is_empty() {
            continue;
        }
        if tokens == ["END", "ALPHABET"] {
            break;
        }
        if tokens.iter().any(|t| t.contains('=')) {
            // An alias or ambiguity code (`N = ACGT`): allowed, and irrelevant to the matrices.
            continue;
        }
        let symbols: Vec<char> = tokens
            .iter()
            .filter(|t| **t != "~")
            .filter_map(|t| {
                let mut chars = t.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => None, // a colour such as CC0000
                }
            })
            .collect();
        if tokens.contains(&"~") {
            let pair = match symbols.as_slice() {
                [a, b] => {
                    let mut p = [*a, *b];
                    p.sort_unstable();
                    p
                }
                _ => ['?', '?'],
            };
            pairs_ok &= pair == ['A', 'T'] || pair == ['C', 'G'];
        }
        core.extend(symbols);
    }
    core.sort_unstable();
    if core != ['A', 'C', 'G', 'T'] || !pairs_ok {
        let found: String = core.iter().collect();
        return Err(IoError::NonDnaAlphabet {
            at: start,
            found: format!("{shown} (core letters {found})"),
        });
    }
    Ok(name.unwrap_or_else(|| "DNA".to_owned()))
}

/// Read letter/frequency pairs for A, C, G, T after the `Background letter frequencies` line,
/// over as many lines as they take.
fn read_background<R: BufRead>(
    lines: &mut LineSource<R>,
    source: Option<String>,
) -> Result<MemeBackground, IoError> {
    let mut freqs: [Option<f64>; 4] = [None; 4];
    let mut found = 0;
    let mut pending: Option<usize> = None;
    while found < 4 {
        if !lines.advance_nonblank()? {
            return Err(IoError::Truncated {
                at: lines.at(None),
                expected: "background frequencies for A, C, G and T".to_owned(),
            });
        }
        let line = lines.current();
        if is_keyword_line(line) {
            return Err(IoError::UnexpectedLine {
                at: lines.at(None),
                expected:
                    "background frequencies for A, C, G and T (`A 0.25 C 0.25 G 0.25 T 0.25`)",
                found: line.trim_ascii().to_owned(),
            });
        }
        for (i, token) in line.split_ascii_whitespace().enumerate() {
            if found == 4 {
                return Err(IoError::InvalidField {
                    at: lines.at(None),
                    field: "background".to_owned(),
                    value: token.to_owned(),
                    expected: "exactly one frequency for each of A, C, G, T",
                });
            }
            match pending.take() {
                None => {
                    let slot = match token {
                        "A" => 0,
                        "C" => 1,
                        "G" => 2,
                        "T" => 3,
                        _ => {
                            return Err(IoError::InvalidField {
                                at: lines.at(None),
                                field: "background letter".to_owned(),
                                value: token.to_owned(),
                                expected: "one of A, C, G, T, each once",
                            })
                        }
                    };
                    if freqs.get(slot).copied().flatten().is_some() {
                        return Err(IoError::InvalidField {
                            at: lines.at(None),
                            field: "background letter".to_owned(),
                            value: token.to_owned(),
                            expected: "one of A, C, G, T, each once",
                        });
                    }
                    pending = Some(slot);
                }
                Some(slot) => {
                    let value = parse_decimal(token).filter(|&f| f > 0.0).ok_or_else(|| {
                        IoError::InvalidNumber {
                            at: lines.at(None),
                            column: i + 1,
                            token: token.to_owned(),
                            expected: "a decimal frequency > 0",
                        }
                    })?;
                    if let Some(f) = freqs.get_mut(slot) {
                        *f = Some(value);
                    }
                    found += 1;
                }
            }
        }
    }
    let written = freqs.map(|f| f.unwrap_or(0.0));
    let sum: f64 = written.iter().sum();
    if (sum - 1.0).abs() > MEME_ROW_TOLERANCE {
        let [a, c, g, t] = written;
        return Err(IoError::InvalidField {
            at: lines.at(None),
            field: "background".to_owned(),
            value: format!("A {a} C {c} G {g} T {t} (sum {sum})"),
            expected: "frequencies summing to 1 within 0.1",
        });
    }
    MemeBackground::new(written, source).map_err(|source| IoError::Core {
        at: lines.at(None),
        error: source,
    })
}

/// The `key= value` pairs of a `letter-probability matrix:` or `log-odds matrix:` line.
#[derive(Default)]
struct MatrixKeys {
    w: Option<usize>,
    nsites: Option<f64>,
    evalue: Option<EValue>,
    p: Option<String>,
}

fn parse_matrix_keys<R: BufRead>(
    text: &str,
    lines: &LineSource<R>,
    id: &str,
) -> Result<MatrixKeys, IoError> {
    let invalid = |field: &str, value: &str, expected: &'static str| IoError::InvalidField {
        at: lines.at(Some(id)),
        field: field.to_owned(),
        value: value.to_owned(),
        expected,
    };
    let mut keys = MatrixKeys::default();
    let mut alength_seen = false;
    let mut rest = text.trim_ascii_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (key, after) = rest.split_at(key_end);
        let Some(after) = after.trim_ascii_start().strip_prefix('=') else {
            return Err(invalid(
                "matrix header key",
                key,
                "`key= value` pairs such as `alength= 4 w= 6 nsites= 20 E= 0`",
            ));
        };
        let after = after.trim_ascii_start();
        let value_end = after
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(after.len());
        let (value, tail) = after.split_at(value_end);
        rest = tail.trim_ascii_start();
        if value.is_empty() {
            return Err(invalid(key, value, "a value after `=`"));
        }
        let duplicate = match key {
            "alength" => {
                if value.parse::<usize>() != Ok(4) {
                    return Err(invalid(key, value, "4 (the DNA alphabet)"));
                }
                std::mem::replace(&mut alength_seen, true)
            }
            "w" => {
                let w = value
                    .parse::<usize>()
                    .ok()
                    .filter(|&w| w > 0)
                    .ok_or_else(|| invalid(key, value, "a positive whole number"))?;
                keys.w.replace(w).is_some()
            }
            "nsites" => {
                let n = parse_decimal(value)
                    .filter(|&n| n >= 0.0)
                    .ok_or_else(|| invalid(key, value, "a number >= 0"))?;
                keys.nsites.replace(n).is_some()
            }
            "E" => {
                let e = EValue::parse(value).ok_or_else(|| invalid(key, value, "a number >= 0"))?;
                keys.evalue.replace(e).is_some()
            }
            "P" => {
                EValue::parse(value).ok_or_else(|| invalid(key, value, "a number >= 0"))?;
                keys.p.replace(value.to_owned()).is_some()
            }
            _ => {
                return Err(invalid(
                    "matrix header key",
                    key,
                    "alength, w, nsites, E or P",
                ))
            }
        };
        if duplicate {
            return Err(invalid(key, value, "each key at most once"));
        }
    }
    Ok(keys)
}

/// Read the rows of a letter-probability matrix: `w` of them when declared, otherwise every
/// following line that starts like a number.
fn read_probability_rows<R: BufRead>(
    lines: &mut LineSource<R>,
    id: &str,
    w: Option<usize>,
) -> Result<Vec<f64>, IoError> {
    // Capacity from the file is only a hint: a corrupt `w=` must not allocate gigabytes.
    let mut values = Vec::with_capacity(w.unwrap_or(32).min(1024) * 4);
    let mut rows = 0usize;
    loop {
        if let Some(w) = w {
            if rows == w {
                check_no_extra_rows(lines, id, w)?;
                break;
            }
        }
        if !lines.advance()? {
            if let Some(w) = w {
                return Err(IoError::Truncated {
                    at: lines.at(Some(id)),
                    expected: format!("{w} matrix rows (w= {w}), found {rows}"),
                });
            }
            break;
        }
        let line = lines.current();
        if line.trim_ascii().is_empty() {
            continue;
        }
        if !starts_numeric(line) {
            match w {
                None => {
                    lines.push_back();
                    break;
                }
                Some(w) if is_keyword_line(line) => {
                    return Err(IoError::WidthMismatch {
                        at: lines.at(Some(id)),
                        declared: w,
                        found: rows,
                    })
                }
                // Text where a row is due: the row parser names the column.
                Some(_) => {}
            }
        }
        let before = values.len();
        let n = lines.parse_values(line.split_ascii_whitespace(), 1, Some(id), &mut values)?;
        if n != 4 {
            return Err(IoError::RowLength {
                at: lines.at(Some(id)),
                expected: 4,
                found: n,
            });
        }
        let sum: f64 = values.get(before..).unwrap_or_default().iter().sum();
        if (sum - 1.0).abs() > MEME_ROW_TOLERANCE {
            return Err(IoError::RowSum {
                at: lines.at(Some(id)),
                position: rows + 1,
                sum,
                tolerance: MEME_ROW_TOLERANCE,
            });
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(IoError::Missing {
            at: lines.at(Some(id)),
            what: "matrix rows after `letter-probability matrix:`",
        });
    }
    Ok(values)
}

/// After `w` rows, another number row means `w` is too small.
fn check_no_extra_rows<R: BufRead>(
    lines: &mut LineSource<R>,
    id: &str,
    w: usize,
) -> Result<(), IoError> {
    if !lines.advance_nonblank()? {
        return Ok(());
    }
    if !starts_numeric(lines.current()) {
        lines.push_back();
        return Ok(());
    }
    let at = lines.at(Some(id));
    let mut found = w + 1;
    while lines.advance_nonblank()? && starts_numeric(lines.current()) {
        found += 1;
    }
    Err(IoError::WidthMismatch {
        at,
        declared: w,
        found,
    })
}

/// Skip a log-odds matrix's rows (they may be negative; only their count is checked).
fn skip_log_odds_rows<R: BufRead>(
    lines: &mut LineSource<R>,
    id: &str,
    w: Option<usize>,
) -> Result<(), IoError> {
    let mut rows = 0;
    while w.is_none_or(|w| rows < w) {
        if !lines.advance_nonblank()? {
            return match w {
                Some(w) => Err(IoError::Truncated {
                    at: lines.at(Some(id)),
                    expected: format!("{w} log-odds rows (w= {w}), found {rows}"),
                }),
                None => Ok(()),
            };
        }
        if !starts_numeric(lines.current()) {
            return match w {
                Some(w) => Err(IoError::WidthMismatch {
                    at: lines.at(Some(id)),
                    declared: w,
                    found: rows,
                }),
                None => {
                    lines.push_back();
                    Ok(())
                }
            };
        }
        rows += 1;
    }
    Ok(())
}

/// Read the next motif; `None` at the end of the input.
pub(crate) fn read_motif<R: BufRead>(
    lines: &mut LineSource<R>,
    header: &MemeHeader,
) -> Result<Option<Motif>, IoError> {
    if !lines.advance_nonblank()? {
        return Ok(None);
    }
    let start = lines.line_no();
    let line = lines.current();
    let Some(rest) = motif_line_rest(line) else {
        return Err(IoError::UnexpectedLine {
            at: lines.at(None),
            expected: "a MOTIF line",
            found: line.trim_ascii().to_owned(),
        });
    };
    let (id, after) = split_first_token(rest);
    if id.is_empty() {
        return Err(IoError::Missing {
            at: lines.at(None),
            what: "the motif id after MOTIF",
        });
    }
    let alt = split_first_token(after).0;
    let name = (!alt.is_empty() && !alt.contains('=')).then(|| alt.to_owned());
    let id = id.to_owned();

    let mut matrix: Option<(MotifMatrix, MatrixKeys)> = None;
    let mut url: Option<String> = None;
    while lines.advance()? {
        let line = lines.current().trim_ascii();
        if line.is_empty() {
            continue;
        }
        if motif_line_rest(line).is_some() {
            lines.push_back();
            break;
        }
        if let Some(keys) = line.strip_prefix("letter-probability matrix:") {
            if matrix.is_some() {
                return Err(IoError::UnexpectedLine {
                    at: lines.at(Some(&id)),
                    expected: "one letter-probability matrix per motif",
                    found: line.to_owned(),
                });
            }
            let keys = parse_matrix_keys(keys, lines, &id)?;
            let header_line = lines.line_no();
            let values = read_probability_rows(lines, &id, keys.w)?;
            let at = lines.at_line(header_line, Some(&id));
            let m = MotifMatrix::from_rows(MatrixKind::Probabilities, values, &at)?;
            matrix = Some((m, keys));
        } else if let Some(keys) = line.strip_prefix("log-odds matrix:") {
            let keys = parse_matrix_keys(keys, lines, &id)?;
            skip_log_odds_rows(lines, &id, keys.w)?;
        } else if starts_with_word(line, "URL") {
            let address = line.get(3..).unwrap_or_default().trim_ascii();
            if address.is_empty() {
                return Err(IoError::Missing {
                    at: lines.at(Some(&id)),
                    what: "the address after URL",
                });
            }
            if url.replace(address.to_owned()).is_some() {
                return Err(IoError::UnexpectedLine {
                    at: lines.at(Some(&id)),
                    expected: "one URL line per motif",
                    found: line.to_owned(),
                });
            }
        } else {
            return Err(IoError::UnexpectedLine {
                at: lines.at(Some(&id)),
                expected:
                    "`letter-probability matrix:`, `log-odds matrix:`, `URL` or the next MOTIF line",
                found: line.to_owned(),
            });
        }
    }
    let Some((matrix, keys)) = matrix else {
        return Err(IoError::Missing {
            at: lines.at_line(start, Some(&id)),
            what: "a `letter-probability matrix:` for this motif",
        });
    };
    let mut motif = Motif::new(id, matrix);
    motif.name = name;
    motif.nsites = keys.nsites;
    motif.evalue = keys.evalue;
    motif.url = url;
    motif.background = header.background.as_ref().map(MemeBackground::background);
    if let Some(p) = keys.p {
        motif.metadata.push(("P".to_owned(), p));
    }
    motif.source = Some(Source {
        format: Format::Meme,
        file: lines.name().to_owned(),
        line: start,
    });
    Ok(Some(motif))
}

/// Append the file header.
pub(crate) fn write_header(buf: &mut String, header: &MemeHeader) -> Result<(), IoError> {
    let bad = |reason: String| IoError::Unwritable {
        what: "the MEME header".to_owned(),
        format: Format::Meme,
        reason,
    };
    if !supported_major(&header.version) || header.version.contains(['\n', '\r']) {
        return Err(bad(format!(
            "version {:?} is not 4.x or 5.x",
            header.version
        )));
    }
    if let Some(source) = header.background.as_ref().and_then(MemeBackground::source) {
        if source.contains(['\n', '\r']) {
            return Err(bad("the background source text has a line break".to_owned()));
        }
    }
    // Writing into a String cannot fail.
    let _ = write_header_text(buf, header);
    Ok(())
}

fn write_header_text(buf: &mut String, header: &MemeHeader) -> fmt::Result {
    writeln!(buf, "MEME version {}", header.version)?;
    writeln!(buf)?;
    writeln!(buf, "ALPHABET= ACGT")?;
    writeln!(buf)?;
    match header.strands {
        Strands::Both => writeln!(buf, "strands: + -")?,
        Strands::Forward => writeln!(buf, "strands: +")?,
    }
    writeln!(buf)?;
    if let Some(bg) = &header.background {
        write!(buf, "Background letter frequencies")?;
        if let Some(source) = bg.source() {
            write!(buf, " {source}")?;
        }
        writeln!(buf)?;
        let [a, c, g, t] = bg.written();
        writeln!(buf, "A {a} C {c} G {g} T {t}")?;
        writeln!(buf)?;
    }
    Ok(())
}

/// Append one motif in MEME's layout.
///
/// Probabilities are printed as stored (six decimals); counts are divided by their row totals
/// first. `nsites` is the motif's, or for counts the first position's total (JASPAR's rule);
/// keys the motif lacks are left out rather than invented.
pub(crate) fn write_motif(buf: &mut String, motif: &Motif) -> Result<(), IoError> {
    check_word(Format::Meme, motif, "id", &motif.id)?;
    if let Some(name) = &motif.name {
        check_word(Format::Meme, motif, "name", name)?;
        if name.contains('=') {
            return Err(unwritable(
                Format::Meme,
                motif,
                "the name contains `=`, which MEME reads as a matrix key",
            ));
        }
    }
    if let Some(url) = &motif.url {
        check_line(Format::Meme, motif, "URL", url)?;
        if url.is_empty() {
            return Err(unwritable(Format::Meme, motif, "the URL is blank"));
        }
    }
    let nsites = match motif.nsites {
        Some(n) => Some(n),
        None => crate::jaspar::first_position_nsites(motif.matrix.values())
            .filter(|_| motif.matrix.kind() == MatrixKind::Counts),
    };
    if nsites.is_some_and(|n| !(n.is_finite() && n >= 0.0)) {
        return Err(unwritable(
            Format::Meme,
            motif,
            "nsites is not a number >= 0",
        ));
    }
    let p = motif.metadata_value("P");
    if p.is_some_and(|p| EValue::parse(p).is_none()) {
        return Err(unwritable(
            Format::Meme,
            motif,
            "the P= value is not a number >= 0",
        ));
    }
    let _ = write_motif_text(buf, motif, nsites, p);
    Ok(())
}

fn write_motif_text(
    buf: &mut String,
    motif: &Motif,
    nsites: Option<f64>,
    p: Option<&str>,
) -> fmt::Result {
    write!(buf, "MOTIF {}", motif.id)?;
    if let Some(name) = &motif.name {
        write!(buf, " {name}")?;
    }
    writeln!(buf)?;
    write!(
        buf,
        "letter-probability matrix: alength= 4 w= {}",
        motif.width()
    )?;
    if let Some(n) = nsites {
        write!(buf, " nsites= {n}")?;
    }
    if let Some(e) = &motif.evalue {
        write!(buf, " E= {e}")?;
    }
    if let Some(p) = p {
        write!(buf, " P= {p}")?;
    }
    writeln!(buf)?;
    let rows = match motif.matrix.kind() {
        MatrixKind::Probabilities => motif.matrix.values(),
        MatrixKind::Counts => motif.matrix.ppm().view(),
    };
    for row in rows.outer_iter() {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                buf.push(' ');
            }
            write!(buf, " {v:.6}")?;
        }
        writeln!(buf)?;
    }
    if let Some(url) = &motif.url {
        writeln!(buf, "URL {url}")?;
    }
    writeln!(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_str;

    const ARNT: &str = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n\
        Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n\
        MOTIF MA0004.1 Arnt\n\
        letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n \
        0.200000  0.800000  0.000000  0.000000\n \
        0.950000  0.000000  0.050000  0.000000\n\
        URL https://jaspar.elixir.no/matrix/MA0004.1/\n\n";

    #[test]
    fn reads_fields_of_a_jaspar_export() {
        let motifs = read_str(ARNT, Some(Format::Meme)).unwrap();
        let m = &motifs[0];
        assert_eq!(m.id, "MA0004.1");
        assert_eq!(m.name.as_deref(), Some("Arnt"));
        assert_eq!(m.nsites, Some(20.0));
        assert_eq!(m.evalue.as_ref().map(EValue::as_str), Some("0"));
        assert_eq!(
            m.url.as_deref(),
            Some("https://jaspar.elixir.no/matrix/MA0004.1/")
        );
        assert_eq!(m.ppm().row(1), Some([0.95, 0.0, 0.05, 0.0]));
        assert_eq!(m.background, Some(Background::UNIFORM));
        assert_eq!(m.source.as_ref().map(|s| s.line), Some(10));
    }

    #[test]
    fn writes_back_byte_for_byte() {
        let file = crate::MotifFile::read_str(ARNT, &crate::ReadOptions::default()).unwrap();
        let mut buf = String::new();
        write_header(&mut buf, file.meme_header.as_ref().unwrap()).unwrap();
        for m in &file.motifs {
            write_motif(&mut buf, m).unwrap();
        }
        assert_eq!(buf, ARNT);
    }

    #[test]
    fn keys_in_any_order_and_spacing() {
        let text = "MEME version 5.4.1 (Release date: x)\nMOTIF m\n\
            letter-probability matrix: E=1e-3 nsites =7 w=1   alength =4\n1 0 0 0\n";
        let m = &read_str(text, None).unwrap()[0];
        assert_eq!(m.nsites, Some(7.0));
        assert_eq!(m.evalue.as_ref().map(EValue::value), Some(1e-3));
        assert!(m.background.is_none());
    }

    #[test]
    fn width_inferred_without_w_and_log_odds_skipped() {
        let text =
            "MEME version 4\nMOTIF m\nlog-odds matrix: alength= 4 w= 2\n-1 2 -3 0\n1 1 1 1\n\
            letter-probability matrix:\n0.25 0.25 0.25 0.25\n0.5 0.5 0 0\n\nMOTIF n\n\
            letter-probability matrix: w= 1\n0 0 0 1\n";
        let motifs = read_str(text, None).unwrap();
        assert_eq!(motifs[0].width(), 2);
        assert_eq!(motifs[1].width(), 1);
    }

    #[test]
    fn custom_dna_alphabet_accepted_and_rna_rejected() {
        let dna = "MEME version 5\nALPHABET \"DNA\" DNA-LIKE\nA \"Adenine\" CC0000 ~ T \"Thymine\" 008000\n\
            C \"Cytosine\" 0000CC ~ G \"Guanine\" FFB300\nN \"Any base\" = ACGT\nEND ALPHABET\n\
            MOTIF m\nletter-probability matrix: w= 1\n0 0 0 1\n";
        let file = crate::MotifFile::read_str(dna, &crate::ReadOptions::default()).unwrap();
        assert_eq!(file.meme_header.unwrap().alphabet.as_deref(), Some("DNA"));
        let rna = dna.replace("DNA-LIKE", "RNA-LIKE");
        assert!(
            matches!(read_str(&rna, None), Err(IoError::NonDnaAlphabet { at, .. }) if at.line == 2)
        );
        let acgu = dna.replace("~ T \"Thymine\"", "~ U \"Uracil\"");
        assert!(matches!(
            read_str(&acgu, None),
            Err(IoError::NonDnaAlphabet { .. })
        ));
        let protein = "MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n";
        assert!(matches!(
            read_str(protein, None),
            Err(IoError::NonDnaAlphabet { .. })
        ));
    }

    #[test]
    fn background_over_several_lines_with_three_decimals() {
        let text = "MEME version 4\nBackground letter frequencies (from x):\nA 0.303 C\n0.183\nG 0.209 T 0.306\n\
            MOTIF m\nletter-probability matrix: w= 1\n0 0 0 1\n";
        let file = crate::MotifFile::read_str(text, &crate::ReadOptions::default()).unwrap();
        let bg = file.meme_header.unwrap().background.unwrap();
        assert_eq!(bg.written(), [0.303, 0.183, 0.209, 0.306]);
        assert_eq!(bg.source(), Some("(from x):"));
        assert!((bg.background().freqs().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn strands_and_versions() {
        assert_eq!(parse_strands(" + "), Some(Strands::Forward));
        assert_eq!(parse_strands("+ -"), Some(Strands::Both));
        assert_eq!(parse_strands("-"), None);
        assert_eq!(parse_strands("+ + -"), None);
        assert!(supported_major("4"));
        assert!(supported_major("5.5.6 (Release date: Wed)"));
        assert!(!supported_major("3.0"));
        assert!(!supported_major("45"));
    }

    #[test]
    fn writer_rejects_ids_meme_cannot_hold() {
        let mut m = Motif::from_ppm("two words", neuronmotif_core::Ppm::uniform(1));
        let mut buf = String::new();
        assert!(matches!(
            write_motif(&mut buf, &m),
            Err(IoError::Unwritable { .. })
        ));
        m.id = "ok".into();
        m.name = Some("a=b".into());
        assert!(matches!(
            write_motif(&mut buf, &m),
            Err(IoError::Unwritable { .. })
        ));
        assert!(buf.is_empty());
    }
}
