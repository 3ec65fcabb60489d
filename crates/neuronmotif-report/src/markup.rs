//! Writing text into SVG and HTML: escaping, compact numbers, ids and file names.

use std::fmt::Write as _;

/// Escape text for an XML/HTML text node or a double- or single-quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Append `text` escaped (see [`escape`]). Control characters other than tab and newline are
/// dropped: XML 1.0 cannot carry them at all.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(ch),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// A coordinate rounded to `decimals` places without trailing zeros (`12.5`, `3`, `-0.25`).
/// Non-finite values print as `0` so a malformed number can never break the markup.
pub(crate) fn num(x: f64, decimals: usize) -> String {
    let mut out = String::new();
    push_num(&mut out, x, decimals);
    out
}

/// Append [`num`]`(x, decimals)`.
pub(crate) fn push_num(out: &mut String, x: f64, decimals: usize) {
    if !x.is_finite() {
        out.push('0');
        return;
    }
    let start = out.len();
    if !push_fixed_fast(out, x, decimals) {
        let _ = write!(out, "{x:.decimals$}");
    }
    if decimals > 0 {
        while out.ends_with('0') {
            out.pop();
        }
        if out.ends_with('.') {
            out.pop();
        }
    }
    // "-0" after rounding a tiny negative value.
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
    // Leading "0." is kept: SVG allows ".5" but HTML readers (and people) read "0.5" better,
    // and the saving is one byte.
}

/// `{x:.decimals$}` by integer arithmetic, the common case of a report's many thousand logo
/// coordinates (the formatter's exact decimal expansion dominated report time). Returns false,
/// writing nothing, where the result could differ from the formatter's exact rounding: large
/// values, many decimals, or a scaled value within 1e-6 of a rounding tie.
fn push_fixed_fast(out: &mut String, x: f64, decimals: usize) -> bool {
    const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
    let Some(&scale) = POW10.get(decimals) else {
        return false;
    };
    if !x.is_finite() {
        return false;
    }
    let scaled = x.abs() * scale;
    if scaled >= 1e9 {
        return false;
    }
    let frac = scaled - scaled.trunc();
    if (frac - 0.5).abs() < 1e-6 {
        return false;
    }
    let r = scaled.round() as u64;
    let unit = scale as u64;
    if x.is_sign_negative() {
        out.push('-');
    }
    let _ = write!(out, "{}", r / unit);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", r % unit, width = decimals);
    }
    true
}

/// A statistic for people: three significant digits, scientific notation outside
/// [1e-3, 1e4) (`0.0123`, `4.56e-12`, `1.23e+05`), `0` for zero, `NA` for non-finite values.
pub(crate) fn sci(x: f64) -> String {
    if !x.is_finite() {
        return "NA".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e4).contains(&a) {
        // Three significant digits, trailing zeros dropped.
        let digits = (2 - a.log10().floor() as i32).clamp(0, 5) as usize;
        num(x, digits)
    } else {
        let s = format!("{x:.2e}");
        // Rust prints "4.56e-12"; write positive exponents with a sign as people expect.
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    }
}

/// `text` reduced to characters allowed in an XML id (ASCII letters, digits, `-`, `_`, `.`);
/// other characters become `_`, and a leading digit, `-` or `.` (or empty text) gets a `_`
/// prefix.
pub(crate) fn id_safe(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// Names Windows reserves for devices, whatever the extension.
const RESERVED_STEMS: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Longest file stem produced, in bytes (well below every common file system's 255).
const MAX_STEM: usize = 120;

/// A file stem safe on Linux, macOS and Windows made from a motif id.
///
/// ASCII letters, digits, `-`, `_` and `.` are kept; anything else (path separators, `:`, `*`,
/// spaces, non-ASCII) becomes `_`. A leading `.` (hidden file) or trailing `.` (dropped by
/// Windows) becomes `_`, Windows device names (`CON`, `com1`, `NUL.x`) get a `_` prefix, the
/// stem is cut to 120 bytes, and an empty result is `motif`. Uniqueness is the caller's job
/// (two ids can map to one stem, and macOS and Windows compare names case-insensitively).
pub fn sanitise_file_stem(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_STEM)
        .collect();
    if out.is_empty() {
        return "motif".into();
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.ends_with('.') {
        out.pop();
        out.push('_');
    }
    let device = out.split('.').next().unwrap_or("");
    if RESERVED_STEMS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(device))
    {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(num(12.5, 2), "12.5");
        assert_eq!(num(3.0, 2), "3");
        assert_eq!(num(-0.001, 2), "0");
        assert_eq!(num(0.126, 2), "0.13");
        assert_eq!(num(100.0, 0), "100");
        assert_eq!(num(f64::NAN, 2), "0");
        assert_eq!(num(-2.25, 2), "-2.25");
        // the fast path agrees with the formatter's exact rounding
        let mut state = 12345u64;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2e4
                / (1 << (state % 20)) as f64;
            for d in 0..=4 {
                let mut fast = String::new();
                if push_fixed_fast(&mut fast, x, d) {
                    assert_eq!(fast, format!("{x:.d$}"), "{x} at {d} decimals");
                }
            }
        }
        for x in [0.125, 2.5, -0.5, 1.005, 0.0, -0.0] {
            let mut fast = String::new();
            if push_fixed_fast(&mut fast, x, 2) {
                assert_eq!(fast, format!("{x:.2}"));
            }
        }
    }

    #[test]
    fn statistics_have_three_digits() {
        assert_eq!(sci(0.0123456), "0.0123");
        assert_eq!(sci(0.5), "0.5");
        assert_eq!(sci(4.56e-12), "4.56e-12");
        assert_eq!(sci(123456.0), "1.23e+5");
        assert_eq!(sci(12.345), "12.3");
        assert_eq!(sci(0.0), "0");
        assert_eq!(sci(f64::INFINITY), "NA");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
    }

    #[test]
    fn ids() {
        assert_eq!(id_safe("L1_N0_S2"), "L1_N0_S2");
        assert_eq!(id_safe("1x y"), "_1x_y");
        assert_eq!(id_safe(""), "_");
    }

    #[test]
    fn file_stems() {
        assert_eq!(sanitise_file_stem("MA0139.1"), "MA0139.1");
        assert_eq!(
            sanitise_file_stem("a/b\\c:d*e?f\"g<h>i|j k"),
            "a_b_c_d_e_f_g_h_i_j_k"
        );
        assert_eq!(sanitise_file_stem(".hidden"), "_hidden");
        assert_eq!(sanitise_file_stem("end."), "end_");
        assert_eq!(sanitise_file_stem("con"), "_con");
        assert_eq!(sanitise_file_stem("LPT1.txt"), "_LPT1.txt");
        assert_eq!(sanitise_file_stem("console"), "console");
        assert_eq!(sanitise_file_stem(""), "motif");
        assert_eq!(sanitise_file_stem("..."), "_._");
        assert_eq!(sanitise_file_stem("Ünïcode"), "_n_code");
        assert_eq!(sanitise_file_stem(&"x".repeat(500)).len(), 120);
    }
}
