use crate::{Base, CoreError, Result};

/// Base composition against which log-odds and pseudocounts are taken (ACGT order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Background([f64; 4]);

impl Default for Background {
    fn default() -> Self {
        Self::UNIFORM
    }
}

impl Background {
    /// 0.25 for every base: what neuronmotif samples from, and Tomtom's default.
    pub const UNIFORM: Background = Background([0.25; 4]);

    /// Validate four frequencies: finite, positive, summing to 1 within 1e-3 (then renormalised).
    pub fn new(freqs: [f64; 4]) -> Result<Background> {
        for (i, &f) in freqs.iter().enumerate() {
            if !f.is_finite() || f <= 0.0 {
                return Err(CoreError::BadEntry {
                    pos: 0,
                    base: Base::ALL[i].letter(),
                    value: f,
                });
            }
        }
        let sum: f64 = freqs.iter().sum();
        if (sum - 1.0).abs() > 1e-3 {
            return Err(CoreError::RowSum {
                pos: 0,
                sum,
                tolerance: 1e-3,
            });
        }
        Ok(Background(freqs.map(|f| f / sum)))
    }

    /// The four frequencies.
    pub fn freqs(&self) -> [f64; 4] {
        self.0
    }

    /// The frequency of one base.
    pub fn freq(&self, b: Base) -> f64 {
        self.0[b.index()]
    }

    /// The background of the opposite strand.
    pub fn reverse_complement(&self) -> Background {
        let f = self.0;
        Background([f[3], f[2], f[1], f[0]])
    }
}
