use ndarray::{Array2, ArrayView2};

use super::{Background, Ppm};
use crate::{CoreError, Result};

/// A position weight matrix: log2-odds of each base against a background, per position.
///
/// A sequence's score is the sum of its bases' weights; it is the log2 likelihood ratio of the
/// motif model against the background.
#[derive(Debug, Clone, PartialEq)]
pub struct Pwm {
    weights: Array2<f64>,
    background: Background,
}

impl Pwm {
    /// From a PPM built from `nsites` sequences, smoothed with `pseudocount` sequences' worth of
    /// background so that unseen bases get finite weights:
    /// `w = log2( ((p·n + c·bg) / (n + c)) / bg )`.
    pub fn from_ppm(ppm: &Ppm, nsites: f64, pseudocount: f64, bg: &Background) -> Result<Pwm> {
        if pseudocount <= 0.0 && ppm.view().iter().any(|&p| p == 0.0) {
            return Err(CoreError::Param {
                name: "pseudocount",
                value: pseudocount.to_string(),
                expected: "> 0 when the matrix has zero probabilities",
            });
        }
        let smoothed = ppm.smooth(nsites, pseudocount, bg)?;
        let f = bg.freqs();
        let weights = Array2::from_shape_fn(smoothed.view().raw_dim(), |(i, b)| {
            (smoothed.view()[[i, b]] / f[b]).log2()
        });
        Ok(Pwm {
            weights,
            background: *bg,
        })
    }

    /// The weights, `[w, 4]`, ACGT columns, in bits.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.weights.view()
    }

    /// The background the weights are relative to.
    pub fn background(&self) -> &Background {
        &self.background
    }

    /// Number of positions.
    pub fn width(&self) -> usize {
        self.weights.nrows()
    }

    /// Score of a sequence (canonical codes) of exactly the motif's width.
    pub fn score(&self, codes: &[u8]) -> Option<f64> {
        (codes.len() == self.width()).then(|| {
            codes
                .iter()
                .enumerate()
                .map(|(i, &c)| self.weights[[i, usize::from(c & 3)]])
                .sum()
        })
    }

    /// Highest achievable score.
    pub fn max_score(&self) -> f64 {
        self.weights
            .outer_iter()
            .map(|r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .sum()
    }

    /// Lowest achievable score.
    pub fn min_score(&self) -> f64 {
        self.weights
            .outer_iter()
            .map(|r| r.iter().copied().fold(f64::INFINITY, f64::min))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn log_odds_known_values() {
        let ppm = Ppm::new(array![[1.0, 0.0, 0.0, 0.0]]).unwrap();
        let pwm = ppm.to_pwm(9.0, 1.0, &Background::UNIFORM).unwrap();
        // A: (9 + 0.25)/10 = 0.925 -> log2(3.7); others: 0.025 -> log2(0.1)
        assert_abs_diff_eq!(pwm.view()[[0, 0]], 3.7f64.log2(), epsilon = 1e-12);
        assert_abs_diff_eq!(pwm.view()[[0, 1]], 0.1f64.log2(), epsilon = 1e-12);
        assert_abs_diff_eq!(pwm.score(&[0]).unwrap(), pwm.max_score());
        assert_abs_diff_eq!(pwm.score(&[2]).unwrap(), pwm.min_score());
        assert!(pwm.score(&[0, 1]).is_none());
        assert!(ppm.to_pwm(9.0, 0.0, &Background::UNIFORM).is_err());
    }
}
