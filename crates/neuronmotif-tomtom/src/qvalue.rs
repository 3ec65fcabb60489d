//! Step 10 of Tomtom: q-values by Storey's method.
//!
//! For `m` p-values sorted ascending, `q_i = min_{j >= i} min(1, pi0 * p_j * m / j)` (1-based
//! ranks), where `pi0` estimates the fraction of true null hypotheses.
//!
//! **pi0, MEME's way.** For `lambda = 0.005, 0.010, ..., 0.5` (100 values),
//! `pi0(lambda) = #{p >= lambda} / ((1 - lambda) m)`. MEME draws 100 bootstrap samples of 1000
//! p-values (with a Mersenne Twister), picks the `lambda` whose bootstrap estimates have the
//! smallest mean squared error around `min_lambda pi0(lambda)`, and uses `pi0(lambda*)` from the
//! full set, clamped to `[0, 1]`. With 100 p-values or fewer it uses `pi0 = 1`.
//!
//! **pi0, here.** The same, except that the bootstrap MSE is computed exactly instead of by
//! sampling: a bootstrap estimate is `W / ((1 - lambda) B)` with `W ~ Binomial(B, f)`,
//! `B = 1000` and `f` the fraction of p-values `>= lambda`, so its MSE around `c` is
//! `f (1 - f) / (B (1 - lambda)^2) + (f / (1 - lambda) - c)^2`. This is the limit of MEME's
//! estimator for infinitely many bootstraps: deterministic, independent of input order and
//! thread count, and free of a random number generator. (MEME replaces an estimate of 0 by
//! infinity; here a `lambda` with `f = 0` gets an infinite MSE, and the chance that a bootstrap
//! sample of 1000 has no p-value above a `lambda` with `f > 0` is ignored.)

/// Number of `lambda` values tried (MEME's `NUM_LAMBDA`).
pub const NUM_LAMBDA: usize = 100;
/// Largest `lambda` (MEME's `MAX_LAMBDA`).
pub const MAX_LAMBDA: f64 = 0.5;
/// Size of each (virtual) bootstrap sample (MEME's `NUM_BOOTSTRAP_SAMPLES`).
pub const BOOTSTRAP_SAMPLES: f64 = 1000.0;
/// With this many p-values or fewer, `pi0 = 1` (MEME's `MIN_SAMPLES`).
pub const MIN_SAMPLES_FOR_PI0: usize = 100;

/// Estimate pi0 from p-values sorted ascending (see the module documentation).
///
/// ```
/// use neuronmotif_tomtom::qvalue::estimate_pi0;
///
/// // Uniform p-values: everything is null.
/// let p: Vec<f64> = (1..=1000).map(|i| i as f64 / 1000.0).collect();
/// assert!((estimate_pi0(&p) - 1.0).abs() < 0.02);
/// // Too few p-values: pi0 = 1.
/// assert_eq!(estimate_pi0(&[0.01, 0.02]), 1.0);
/// ```
pub fn estimate_pi0(sorted: &[f64]) -> f64 {
    let m = sorted.len();
    if m <= MIN_SAMPLES_FOR_PI0 {
        return 1.0;
    }
    let mf = m as f64;
    let lambdas: Vec<f64> = (0..NUM_LAMBDA)
        .map(|i| (i + 1) as f64 / NUM_LAMBDA as f64 * MAX_LAMBDA)
        .collect();
    // Fraction of p-values >= lambda (the sorted order makes this a partition point).
    let frac: Vec<f64> = lambdas
        .iter()
        .map(|&l| (m - sorted.partition_point(|&p| p < l)) as f64 / mf)
        .collect();
    let pi0: Vec<f64> = lambdas
        .iter()
        .zip(&frac)
        .map(|(&l, &f)| {
            if f > 0.0 {
                f / (1.0 - l)
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let min_pi0 = pi0.iter().copied().fold(f64::INFINITY, f64::min);
    let mut best = 0;
    let mut best_mse = f64::INFINITY;
    for (i, ((&l, &f), &p)) in lambdas.iter().zip(&frac).zip(&pi0).enumerate() {
        let mse = if f > 0.0 {
            let one_minus = 1.0 - l;
            f * (1.0 - f) / (BOOTSTRAP_SAMPLES * one_minus * one_minus) + (p - min_pi0).powi(2)
        } else {
            f64::INFINITY
        };
        if mse < best_mse {
            best_mse = mse;
            best = i;
        }
    }
    pi0[best].clamp(0.0, 1.0)
}

/// q-values of p-values sorted ascending, with pi0 from [`estimate_pi0`].
pub fn qvalues(sorted: &[f64]) -> Vec<f64> {
    let mut q = Vec::new();
    qvalues_into(sorted, &mut q);
    q
}

/// [`qvalues`] into `out` (replacing its contents, keeping its allocation).
pub(crate) fn qvalues_into(sorted: &[f64], out: &mut Vec<f64>) {
    qvalues_with_pi0_into(sorted, estimate_pi0(sorted), out);
}

/// q-values of p-values sorted ascending, for a given pi0.
///
/// ```
/// use neuronmotif_tomtom::qvalue::qvalues_with_pi0;
///
/// // Benjamini-Hochberg when pi0 = 1: p * m / rank, then the running minimum from the end.
/// let q = qvalues_with_pi0(&[0.01, 0.02, 0.03, 0.5], 1.0);
/// assert_eq!(q, vec![0.04, 0.04, 0.04, 0.5]);
/// ```
pub fn qvalues_with_pi0(sorted: &[f64], pi0: f64) -> Vec<f64> {
    let mut q = Vec::new();
    qvalues_with_pi0_into(sorted, pi0, &mut q);
    q
}

/// [`qvalues_with_pi0`] into `q` (replacing its contents, keeping its allocation).
fn qvalues_with_pi0_into(sorted: &[f64], pi0: f64, q: &mut Vec<f64>) {
    let m = sorted.len() as f64;
    q.clear();
    q.extend(
        sorted
            .iter()
            .enumerate()
            .map(|(i, &p)| (pi0 * p * m / (i + 1) as f64).min(1.0)),
    );
    for i in (0..q.len().saturating_sub(1)).rev() {
        if q[i + 1] < q[i] {
            q[i] = q[i + 1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_worked_qvalues() {
        // m = 5, pi0 = 0.8:
        // raw: .8*.001*5/1 = .004, .8*.01*5/2 = .02, .8*.012*5/3 = .016, .8*.3*5/4 = .3,
        //      .8*.9*5/5 = .72 ; running minimum from the end: .004 .016 .016 .3 .72
        let q = qvalues_with_pi0(&[0.001, 0.01, 0.012, 0.3, 0.9], 0.8);
        let want = [0.004, 0.016, 0.016, 0.3, 0.72];
        for (a, b) in q.iter().zip(want) {
            assert_relative_eq!(*a, b, max_relative = 1e-12);
        }
        // Capped at 1.
        assert_eq!(qvalues_with_pi0(&[0.9, 1.0], 1.0), vec![1.0, 1.0]);
        assert!(qvalues_with_pi0(&[], 1.0).is_empty());
    }

    #[test]
    fn pi0_all_null_p_values_is_one() {
        // All p = 1: pi0(lambda) = 1/(1-lambda) >= 1, clamped to 1.
        assert_eq!(estimate_pi0(&vec![1.0; 500]), 1.0);
    }

    #[test]
    fn pi0_hand_worked_mixture() {
        // 200 p-values: 100 at 1e-6 (signal), 100 at 1.0 (null-like).
        // For every lambda, f = 0.5, pi0(lambda) = 0.5/(1-lambda): minimal at lambda = 0.005,
        // min = 0.5/0.995. MSE(lambda) = 0.25/(1000 (1-l)^2) + (0.5/(1-l) - 0.5/0.995)^2, which
        // is smallest at lambda = 0.005 too, so pi0 = 0.5/0.995.
        let mut p = vec![1e-6; 100];
        p.extend(vec![1.0; 100]);
        assert_relative_eq!(estimate_pi0(&p), 0.5 / 0.995, max_relative = 1e-12);
    }

    #[test]
    fn pi0_prefers_low_variance_lambda() {
        // Uniform p-values on a fine grid: pi0(lambda) ~ 1 for every lambda, so the variance
        // term dominates; it is smallest at the smallest lambda.
        let p: Vec<f64> = (0..2000).map(|i| (i as f64 + 0.5) / 2000.0).collect();
        let pi0 = estimate_pi0(&p);
        assert!((pi0 - 1.0).abs() < 0.01, "{pi0}");
        // No p-value above any lambda: pi0 = 1 (MEME's infinite estimate, clamped).
        assert_eq!(estimate_pi0(&vec![1e-9; 200]), 1.0);
    }

    #[test]
    fn qvalues_are_monotone_and_bounded() {
        let p: Vec<f64> = (0..300)
            .map(|i| ((i * i) as f64 / 90_000.0).min(1.0))
            .collect();
        let q = qvalues(&p);
        for w in q.windows(2) {
            assert!(w[0] <= w[1]);
        }
        assert!(q.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}
