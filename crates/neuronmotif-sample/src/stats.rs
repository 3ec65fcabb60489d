//! The one-sample t-test behind the layer-wide motif_nb decision.

/// Two-sided p-value and t statistic of a one-sample t-test of `x` against mean `mu`
/// (`None` with fewer than two values or zero variance).
pub fn t_test(x: &[f64], mu: f64) -> Option<(f64, f64)> {
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    if var <= 0.0 {
        return None;
    }
    let t = (mean - mu) / (var / n as f64).sqrt();
    let df = (n - 1) as f64;
    // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2)
    let p = inc_beta(df / 2.0, 0.5, df / (df + t * t));
    Some((t, p))
}

/// Regularised incomplete beta `I_x(a, b)` by its continued fraction (modified Lentz).
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // the fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - inc_beta(b, a, 1.0 - x);
    }
    let tiny = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        // even step
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < tiny {
            c = tiny;
        }
        f *= d * c;
        // odd step
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < tiny {
            c = tiny;
        }
        let delta = d * c;
        f *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    ln_front.exp() * f / a
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9), accurate to about 1e-15 relative.
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // reflection
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, &g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_known() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn t_distribution_tails_match_tables() {
        // two-sided p for |t| = 2.228 at 10 df is 0.05; |t| = 1.812 at 10 df is 0.10;
        // |t| = 12.706 at 1 df is 0.05 (standard t tables)
        let p = |t: f64, df: f64| inc_beta(df / 2.0, 0.5, df / (df + t * t));
        assert!((p(2.228, 10.0) - 0.05).abs() < 2e-4, "{}", p(2.228, 10.0));
        assert!((p(1.812, 10.0) - 0.10).abs() < 2e-4, "{}", p(1.812, 10.0));
        assert!((p(12.706, 1.0) - 0.05).abs() < 2e-4);
        assert!((p(0.0, 7.0) - 1.0).abs() < 1e-12);
        // symmetry relation of the incomplete beta
        assert!((inc_beta(2.5, 3.5, 0.3) + inc_beta(3.5, 2.5, 0.7) - 1.0).abs() < 1e-13);
    }

    #[test]
    fn t_test_by_hand() {
        // mean 1, sd 1, n 4: t = (1 - 0)/(1/2) = 2, df 3 -> two-sided p = 0.1393
        let x = [0.0, 1.0, 1.0, 2.0];
        // sd of [0,1,1,2] is sqrt(2/3)
        let (t, p) = t_test(&x, 0.0).unwrap();
        let want_t = 1.0 / ((2.0 / 3.0f64).sqrt() / 2.0);
        assert!((t - want_t).abs() < 1e-12);
        assert!(p > 0.05 && p < 0.2, "{p}");
        assert!(t_test(&[1.0], 0.0).is_none());
        assert!(t_test(&[1.0, 1.0], 0.0).is_none());
    }
}
