//! How numbers are read and written in every format.
//!
//! Reading accepts one plain decimal syntax (`12`, `-0.5`, `.25`, `3.`, `1e-5`) and nothing that
//! Rust's `f64` parser would also take (`inf`, `NaN`, `infinity`), because a matrix cell holding
//! such a word is a broken file, not a number. Writing prints the shortest text that reads back
//! as the same `f64`, so counts and probabilities survive a round trip exactly.

/// Whether `token` has the shape of a decimal number (sign, digits, optional fraction and
/// exponent), whatever its magnitude.
pub(crate) fn is_decimal_syntax(token: &str) -> bool {
    let b = token.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_digits = count_digits(b.get(i..).unwrap_or_default());
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(b.get(i..).unwrap_or_default());
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(b.get(i..).unwrap_or_default());
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// A finite number in plain decimal syntax; `None` for words, malformed text and overflow.
pub(crate) fn parse_decimal(token: &str) -> Option<f64> {
    if !is_decimal_syntax(token) {
        return None;
    }
    token.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Whether a line's first token starts like a number, which is how matrix rows are told apart
/// from keyword lines.
pub(crate) fn starts_numeric(line: &str) -> bool {
    line.trim_ascii_start()
        .starts_with(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
}

/// The shortest text with at least `min_decimals` decimals that reads back as exactly `v`
/// (`123.0` for 123 with one decimal, `1.055` for 1.055 with any fewer).
pub(crate) fn format_exact(v: f64, min_decimals: usize) -> String {
    let fixed = format!("{v:.min_decimals$}");
    if fixed.parse::<f64>() == Ok(v) {
        fixed
    } else {
        // Rust's `Display` for f64 is the shortest round-trip form, never in exponent notation.
        format!("{v}")
    }
}

/// `v` rounded to 12 significant digits, to print values computed in floating point
/// (`p * nsites`) without `122.99999999999999` noise.
pub(crate) fn round_significant_12(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_syntax() {
        for ok in [
            "0", "12", "-0.5", "+3", ".25", "3.", "1e-5", "2.5E+10", "0.000000",
        ] {
            assert!(parse_decimal(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "inf", "NaN", "infinity", "1.2.3", "0x10", "1,5",
            "abc", "1e999",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad}");
        }
        assert!(is_decimal_syntax("1e999"));
    }

    #[test]
    fn exact_formatting() {
        assert_eq!(format_exact(123.0, 1), "123.0");
        assert_eq!(format_exact(123.0, 0), "123");
        assert_eq!(format_exact(1.055, 1), "1.055");
        assert_eq!(format_exact(0.1 + 0.2, 2), "0.30000000000000004");
        assert_eq!(format_exact(950.422, 2), "950.422");
        assert_eq!(round_significant_12(0.0615 * 2000.0), 123.0);
    }
}
