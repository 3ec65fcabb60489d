//! Parameters: a builder anyone can fill ([`TomtomParams`]) and what [`TomtomParams::check`]
//! returns after validating every field ([`ValidTomtomParams`]). The algorithm receives only the
//! validated form and never re-checks.

use std::fmt;
use std::str::FromStr;

use neuronmotif_core::Background;

use crate::TomtomError;

/// Tomtom's default pseudocount weight (`-motif-pseudo`, MEME 5.4.1 `tomtom.c` default 0.1).
pub const DEFAULT_MOTIF_PSEUDOCOUNT: f64 = 0.1;
/// Tomtom's default significance threshold (`-thresh`, MEME 5.4.1 default 0.5, on the q-value).
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// The site count assumed for a motif whose `nsites` is absent or 0 (MEME's `DEFAULT_SITE_COUNT`).
pub const DEFAULT_NSITES: f64 = 20.0;

/// How two motif columns are compared (Tomtom's `-dist`).
///
/// Every score is a similarity: larger means more alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Distance {
    /// Pearson correlation of the two columns around a mean of 1/4 (`pearson`); 0 when either
    /// column is uniform (a zero denominator), as in MEME.
    Pearson,
    /// Negative Euclidean distance, `-sqrt(sum (q - t)^2)` (`ed`). **The MEME 5.4.1 default.**
    #[default]
    Euclidean,
    /// Sandelin-Wasserman similarity, `2 - sum (q - t)^2` (`sandelin`).
    Sandelin,
}

impl Distance {
    /// The name Tomtom's `-dist` option uses: `pearson`, `ed` or `sandelin`.
    pub fn name(self) -> &'static str {
        match self {
            Distance::Pearson => "pearson",
            Distance::Euclidean => "ed",
            Distance::Sandelin => "sandelin",
        }
    }

    /// All implemented distances.
    pub const ALL: [Distance; 3] = [Distance::Pearson, Distance::Euclidean, Distance::Sandelin];
}

impl fmt::Display for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Distance {
    type Err = TomtomError;
    fn from_str(s: &str) -> Result<Self, TomtomError> {
        match s {
            "pearson" => Ok(Distance::Pearson),
            "ed" => Ok(Distance::Euclidean),
            "sandelin" => Ok(Distance::Sandelin),
            _ => Err(TomtomError::Param {
                name: "dist",
                value: s.to_string(),
                expected: "one of pearson, ed, sandelin (allr, kullback, blic and llr are not implemented)",
            }),
        }
    }
}

/// Which statistic the reporting threshold applies to (Tomtom's `-thresh` and `-evalue`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Report matches with q-value <= this (in `[0, 1]`). **Default, at 0.5.**
    QValue(f64),
    /// Report matches with E-value <= this (`-evalue`; any value >= 0).
    EValue(f64),
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold::QValue(DEFAULT_THRESHOLD)
    }
}

impl Threshold {
    /// Whether a match with these values passes.
    pub fn passes(self, q_value: f64, e_value: f64) -> bool {
        match self {
            Threshold::QValue(t) => q_value <= t,
            Threshold::EValue(t) => e_value <= t,
        }
    }
}

/// Tomtom parameters as a builder. Defaults are MEME 5.4.1 `tomtom`'s defaults.
///
/// ```
/// use neuronmotif_tomtom::{Distance, Threshold, TomtomParams};
///
/// let params = TomtomParams::new()
///     .distance(Distance::Pearson)
///     .min_overlap(5)
///     .threshold(Threshold::EValue(10.0))
///     .check()
///     .unwrap();
/// assert_eq!(params.distance(), Distance::Pearson);
/// assert!(TomtomParams::new().threshold(Threshold::QValue(2.0)).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TomtomParams {
    distance: Distance,
    min_overlap: usize,
    internal: bool,
    motif_pseudocount: f64,
    reverse_complements: bool,
    threshold: Threshold,
    background: Background,
    float_p_values: bool,
}

impl Default for TomtomParams {
    fn default() -> Self {
        TomtomParams {
            distance: Distance::Euclidean,
            min_overlap: 1,
            internal: false,
            motif_pseudocount: DEFAULT_MOTIF_PSEUDOCOUNT,
            reverse_complements: true,
            threshold: Threshold::default(),
            background: Background::UNIFORM,
            float_p_values: false,
        }
    }
}

impl TomtomParams {
    /// MEME 5.4.1 defaults: `-dist ed`, `-min-overlap 1`, overhangs allowed, `-motif-pseudo 0.1`,
    /// complete scores, reverse complements on, `-thresh 0.5` on the q-value, uniform
    /// background.
    pub fn new() -> Self {
        Self::default()
    }

    /// Column similarity (`-dist`). Default [`Distance::Euclidean`] (`ed`), MEME 5.4.1's default.
    pub fn distance(mut self, d: Distance) -> Self {
        self.distance = d;
        self
    }

    /// Minimum number of aligned columns (`-min-overlap`). Default 1 (MEME). As in MEME it is
    /// lowered to the query or target width when either is narrower; 0 behaves like 1.
    pub fn min_overlap(mut self, n: usize) -> Self {
        self.min_overlap = n;
        self
    }

    /// Only allow alignments in which the narrower motif lies entirely inside the wider one
    /// (`-internal`). Default false (MEME). When set, `min_overlap` is ignored, as in MEME.
    pub fn internal(mut self, yes: bool) -> Self {
        self.internal = yes;
        self
    }

    /// Pseudocount weight added to every query and target (`-motif-pseudo`). Default 0.1 (MEME):
    /// `p' = (p * nsites + 0.1 * bg) / (nsites + 0.1)`.
    pub fn motif_pseudocount(mut self, m: f64) -> Self {
        self.motif_pseudocount = m;
        self
    }

    /// Also score the reverse complement of every target. Default true (MEME; `-norc` turns it
    /// off).
    pub fn reverse_complements(mut self, yes: bool) -> Self {
        self.reverse_complements = yes;
        self
    }

    /// Reporting threshold. Default q-value <= 0.5 (MEME `-thresh 0.5`).
    pub fn threshold(mut self, t: Threshold) -> Self {
        self.threshold = t;
        self
    }

    /// Background used for the pseudocounts of the targets (MEME takes it from the query file's
    /// `Background letter frequencies`, else uniform). Default uniform. It is made
    /// strand-symmetric (A = T, C = G) as MEME does for DNA.
    pub fn background(mut self, bg: Background) -> Self {
        self.background = bg;
        self
    }

    /// MEME parity switch: round every p-value to single precision (a C `float`, as MEME
    /// stores it) before ranking, q-values, E-values and output. Default false: p-values stay
    /// f64. With it on, ties between rows (and hence which strand and offset is reported when
    /// both strands print the same p-value, and the order of tied rows) and the `p = 0` rows
    /// below about 1.4e-45 come out as in MEME.
    pub fn float_p_values(mut self, yes: bool) -> Self {
        self.float_p_values = yes;
        self
    }

    /// Validate every field.
    pub fn check(self) -> Result<ValidTomtomParams, TomtomError> {
        let m = self.motif_pseudocount;
        if !(m.is_finite() && m >= 0.0) {
            return Err(TomtomError::Param {
                name: "motif_pseudocount",
                value: m.to_string(),
                expected: "a finite number >= 0",
            });
        }
        match self.threshold {
            Threshold::QValue(t) if !(0.0..=1.0).contains(&t) => {
                return Err(TomtomError::Param {
                    name: "threshold",
                    value: format!("q <= {t}"),
                    expected:
                        "a q-value threshold in [0, 1] (use Threshold::EValue for larger values)",
                })
            }
            Threshold::EValue(t) if !(t.is_finite() && t >= 0.0) => {
                return Err(TomtomError::Param {
                    name: "threshold",
                    value: format!("E <= {t}"),
                    expected: "a finite E-value threshold >= 0",
                })
            }
            _ => {}
        }
        Ok(ValidTomtomParams {
            distance: self.distance,
            min_overlap: self.min_overlap.max(1),
            internal: self.internal,
            motif_pseudocount: m,
            reverse_complements: self.reverse_complements,
            threshold: self.threshold,
            background: symmetrize(self.background),
            float_p_values: self.float_p_values,
        })
    }
}

/// Parameters after [`TomtomParams::check`]: every field is in range.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTomtomParams {
    distance: Distance,
    min_overlap: usize,
    internal: bool,
    motif_pseudocount: f64,
    reverse_complements: bool,
    threshold: Threshold,
    background: Background,
    float_p_values: bool,
}

impl Default for ValidTomtomParams {
    fn default() -> Self {
        ValidTomtomParams {
            distance: Distance::Euclidean,
            min_overlap: 1,
            internal: false,
            motif_pseudocount: DEFAULT_MOTIF_PSEUDOCOUNT,
            reverse_complements: true,
            threshold: Threshold::default(),
            background: Background::UNIFORM,
            float_p_values: false,
        }
    }
}

impl ValidTomtomParams {
    /// Column similarity.
    pub fn distance(&self) -> Distance {
        self.distance
    }
    /// Minimum overlap (at least 1).
    pub fn min_overlap(&self) -> usize {
        self.min_overlap
    }
    /// Whether only internal alignments are allowed.
    pub fn internal(&self) -> bool {
        self.internal
    }
    /// Pseudocount weight.
    pub fn motif_pseudocount(&self) -> f64 {
        self.motif_pseudocount
    }
    /// Whether reverse complements of the targets are scored.
    pub fn reverse_complements(&self) -> bool {
        self.reverse_complements
    }
    /// Reporting threshold.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }
    /// The strand-symmetric background used for target pseudocounts.
    pub fn background(&self) -> Background {
        self.background
    }
    /// Whether p-values are rounded to single precision (MEME parity).
    pub fn float_p_values(&self) -> bool {
        self.float_p_values
    }
    /// A copy with another reporting threshold (the threshold does not affect a prepared
    /// [`crate::TargetDb`], so it may change between comparisons).
    pub fn with_threshold(&self, t: Threshold) -> Result<ValidTomtomParams, TomtomError> {
        let mut p = TomtomParams::from(self.clone());
        p.threshold = t;
        p.check()
    }
}

impl From<ValidTomtomParams> for TomtomParams {
    fn from(v: ValidTomtomParams) -> Self {
        TomtomParams {
            distance: v.distance,
            min_overlap: v.min_overlap,
            internal: v.internal,
            motif_pseudocount: v.motif_pseudocount,
            reverse_complements: v.reverse_complements,
            threshold: v.threshold,
            background: v.background,
            float_p_values: v.float_p_values,
        }
    }
}

/// MEME makes a DNA background strand-symmetric: A and T get their mean, C and G theirs.
pub(crate) fn symmetrize(bg: Background) -> Background {
    let f = bg.freqs();
    let at = (f[0] + f[3]) / 2.0;
    let cg = (f[1] + f[2]) / 2.0;
    Background::new([at, cg, cg, at]).unwrap_or(Background::UNIFORM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_meme_defaults() {
        let p = TomtomParams::new().check().unwrap();
        assert_eq!(p.distance(), Distance::Euclidean);
        assert_eq!(p.min_overlap(), 1);
        assert!(!p.internal());
        assert_eq!(p.motif_pseudocount(), 0.1);
        assert!(p.reverse_complements());
        assert_eq!(p.threshold(), Threshold::QValue(0.5));
        assert_eq!(p.background(), Background::UNIFORM);
        assert!(!p.float_p_values());
        assert_eq!(p, ValidTomtomParams::default());
    }

    #[test]
    fn validation_names_the_field() {
        let e = TomtomParams::new()
            .motif_pseudocount(-1.0)
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("motif_pseudocount"));
        assert!(TomtomParams::new()
            .motif_pseudocount(f64::NAN)
            .check()
            .is_err());
        assert!(TomtomParams::new()
            .threshold(Threshold::QValue(1.5))
            .check()
            .is_err());
        assert!(TomtomParams::new()
            .threshold(Threshold::EValue(-1.0))
            .check()
            .is_err());
        assert!(TomtomParams::new()
            .threshold(Threshold::EValue(1e3))
            .check()
            .is_ok());
        assert_eq!(
            TomtomParams::new()
                .min_overlap(0)
                .check()
                .unwrap()
                .min_overlap(),
            1
        );
    }

    #[test]
    fn distance_names_round_trip() {
        for d in Distance::ALL {
            assert_eq!(d.name().parse::<Distance>().unwrap(), d);
        }
        assert!("allr".parse::<Distance>().is_err());
    }

    #[test]
    fn background_is_symmetrized() {
        let bg = Background::new([0.3, 0.2, 0.1, 0.4]).unwrap();
        let p = TomtomParams::new().background(bg).check().unwrap();
        let f = p.background().freqs();
        assert!((f[0] - 0.35).abs() < 1e-12 && (f[3] - 0.35).abs() < 1e-12);
        assert!((f[1] - 0.15).abs() < 1e-12 && (f[2] - 0.15).abs() < 1e-12);
    }

    #[test]
    fn threshold_changes_keep_validation() {
        let p = ValidTomtomParams::default();
        assert!(p.with_threshold(Threshold::QValue(2.0)).is_err());
        let q = p.with_threshold(Threshold::EValue(5.0)).unwrap();
        assert!(q.threshold().passes(1.0, 5.0));
        assert!(!q.threshold().passes(0.0, 5.5));
    }
}
