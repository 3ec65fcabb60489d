//! Informative segments of a long matrix (a CRM spanning a whole receptive field).
//!
//! A CRM is mostly background with a few motif instances. To match it against a database, or
//! to build a motif dictionary, NeuronMotif cuts out the runs of informative positions. The
//! two presets reproduce the original's two uses of the cut, with its natural-log threshold
//! restated exactly in bits.

use std::ops::Range;

use crate::{Background, CoreError, Ppm, Result};

/// How to cut a matrix into informative segments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentParams {
    /// Pseudocount weight M in `(p·n + M/4)/(n + M)` before the IC is computed: a cluster of few
    /// sequences looks informative by chance, and this discounts it.
    pub pseudocount: f64,
    /// A position is informative when its (smoothed, averaged) IC exceeds this many bits.
    pub min_ic_bits: f64,
    /// Width of the centred moving average applied to the IC track (1 = none). Positions
    /// without a full window get 0, as in the original.
    pub moving_average: usize,
    /// Positions added on each side of every informative run.
    pub flank: usize,
    /// Shortest segment kept, in positions. A matrix narrower than this could never have a
    /// segment, so it is kept whole when it has an informative position (a receptive field
    /// under 9 bp, such as the 7 bp of the original's demo2 layer 1, is then still matched).
    pub min_len: usize,
}

impl SegmentParams {
    /// The original tests `2 − H > 1` with H in nats. In bits that is `H < 1/ln 2`, i.e.
    /// `IC_bits > 2 − 1/ln 2 ≈ 0.557`: the same positions, stated in the units used everywhere
    /// else here.
    pub const ORIGINAL_THRESHOLD_BITS: f64 = 2.0 - std::f64::consts::LOG2_E;

    /// The segments reported and matched against the database (the original's `.sel` export):
    /// M = 80, flank 2, segments longer than 8 positions.
    pub fn report() -> SegmentParams {
        SegmentParams {
            pseudocount: 80.0,
            min_ic_bits: Self::ORIGINAL_THRESHOLD_BITS,
            moving_average: 1,
            flank: 2,
            min_len: 9,
        }
    }

    /// The segments a motif dictionary is built from (the original's `segment.py`): M = 30,
    /// 3-position moving average, flank 1, at least 4 positions.
    pub fn dictionary() -> SegmentParams {
        SegmentParams {
            pseudocount: 30.0,
            min_ic_bits: Self::ORIGINAL_THRESHOLD_BITS,
            moving_average: 3,
            flank: 1,
            min_len: 4,
        }
    }
}

/// One informative run of a matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Positions `start..end` of the matrix (end exclusive).
    pub range: Range<usize>,
    /// Mean IC (bits) of the smoothed matrix over the segment.
    pub mean_ic_bits: f64,
}

impl Ppm {
    /// Cut the informative segments of a matrix built from `nsites` sequences.
    pub fn segments(&self, nsites: f64, params: &SegmentParams) -> Result<Vec<Segment>> {
        if params.moving_average == 0 || params.moving_average.is_multiple_of(2) {
            return Err(CoreError::Param {
                name: "moving_average",
                value: params.moving_average.to_string(),
                expected: "an odd window of at least 1",
            });
        }
        let ic = self
            .smooth(nsites.max(0.0), params.pseudocount, &Background::UNIFORM)?
            .ic_bits();
        let w = ic.len();
        let h = params.moving_average / 2;
        let track: Vec<f64> = (0..w)
            .map(|i| {
                if i < h || i + h >= w {
                    0.0
                } else {
                    ic[i - h..=i + h].iter().sum::<f64>() / params.moving_average as f64
                }
            })
            .collect();
        let mut runs: Vec<Range<usize>> = Vec::new();
        let mut i = 0;
        while i < w {
            if track[i] > params.min_ic_bits {
                let start = i;
                while i < w && track[i] > params.min_ic_bits {
                    i += 1;
                }
                let r = start.saturating_sub(params.flank)..(i + params.flank).min(w);
                match runs.last_mut() {
                    Some(last) if last.end >= r.start => last.end = last.end.max(r.end),
                    _ => runs.push(r),
                }
            } else {
                i += 1;
            }
        }
        if w < params.min_len && !runs.is_empty() {
            runs.truncate(1);
            runs[0] = 0..w;
        }
        Ok(runs
            .into_iter()
            .filter(|r| r.len() >= params.min_len.min(w))
            .map(|r| Segment {
                mean_ic_bits: ic[r.clone()].iter().sum::<f64>() / r.len() as f64,
                range: r,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn planted(width: usize, motifs: &[(usize, usize)]) -> Ppm {
        Ppm::new(Array2::from_shape_fn((width, 4), |(i, b)| {
            if motifs.iter().any(|&(a, b)| (a..b).contains(&i)) {
                if b == i % 4 {
                    1.0
                } else {
                    0.0
                }
            } else {
                0.25
            }
        }))
        .unwrap()
    }

    #[test]
    fn threshold_is_the_nat_rule_in_bits() {
        // 2 - H_nat > 1  <=>  H_bits < 1/ln2
        let h_bits = 1.0 / std::f64::consts::LN_2;
        assert!((2.0 - h_bits - SegmentParams::ORIGINAL_THRESHOLD_BITS).abs() < 1e-15);
    }

    #[test]
    fn report_segments_find_planted_motifs_with_flanks() {
        let m = planted(60, &[(10, 20), (40, 46)]);
        let segs = m.segments(1000.0, &SegmentParams::report()).unwrap();
        let ranges: Vec<_> = segs.iter().map(|s| s.range.clone()).collect();
        // 10..20 grows by 2 on each side; 40..46 grows to 38..48 (length 10 > 8).
        assert_eq!(ranges, vec![8..22, 38..48]);
        assert!(segs[0].mean_ic_bits > 1.0);
    }

    #[test]
    fn short_runs_and_few_sites_are_dropped() {
        let m = planted(30, &[(5, 8)]);
        assert!(m
            .segments(1000.0, &SegmentParams::report())
            .unwrap()
            .is_empty());
        // With 4 sequences, M = 80 swamps the signal.
        let m = planted(30, &[(5, 20)]);
        assert!(m
            .segments(4.0, &SegmentParams::report())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_matrix_narrower_than_a_segment_is_kept_whole_when_informative() {
        let params = SegmentParams::report();
        // 7 positions (demo2's layer 1): one informative position is enough
        let m = planted(7, &[(3, 4)]);
        let segs = m.segments(1000.0, &params).unwrap();
        assert_eq!(
            segs.iter().map(|s| s.range.clone()).collect::<Vec<_>>(),
            vec![0..7]
        );
        // nothing informative: nothing kept
        assert!(planted(7, &[])
            .segments(1000.0, &params)
            .unwrap()
            .is_empty());
        // a matrix as wide as a segment follows the usual rule: a short run is dropped
        let m = planted(9, &[(4, 5)]);
        assert!(m.segments(1000.0, &params).unwrap().is_empty());
    }

    #[test]
    fn close_runs_merge() {
        let m = planted(40, &[(5, 15), (18, 28)]);
        let segs = m.segments(1000.0, &SegmentParams::report()).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].range, 3..30);
    }

    #[test]
    fn dictionary_preset_uses_moving_average() {
        let m = planted(20, &[(5, 10)]);
        let segs = m.segments(1000.0, &SegmentParams::dictionary()).unwrap();
        assert_eq!(segs.len(), 1);
        let mut bad = SegmentParams::dictionary();
        bad.moving_average = 2;
        assert!(m.segments(10.0, &bad).is_err());
    }
}
