//! The archive of activating sequences found during the genetic search.

use std::collections::HashSet;

use ndarray::Array2;
use rand::Rng;

use crate::SampleSet;

/// Activating sequences collected over generations (codes flat, `len` bases each).
#[derive(Debug, Clone)]
pub(crate) struct Archive {
    len: usize,
    codes: Vec<u8>,
    act: Vec<f32>,
}

impl Archive {
    pub(crate) fn new(len: usize) -> Archive {
        Archive {
            len,
            codes: Vec::new(),
            act: Vec::new(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.act.len()
    }

    /// Keep the sequences with activation > 0.
    pub(crate) fn add_positive(&mut self, codes: &[u8], act: &[f32]) {
        for (row, &a) in codes.chunks_exact(self.len).zip(act) {
            if a > 0.0 {
                self.codes.extend_from_slice(row);
                self.act.push(a);
            }
        }
    }

    /// NeuronMotif's `val_uniq_seq`: drop exact duplicates (first occurrence kept), split
    /// (0, max] into `bins` equal-width activation strata and keep at most `cap / bins` per
    /// stratum, chosen at random. Survivors keep their order.
    pub(crate) fn prune(&mut self, cap: usize, bins: usize, rng: &mut impl Rng) {
        let n = self.size();
        let mut seen: HashSet<&[u8]> = HashSet::with_capacity(n);
        let unique: Vec<usize> = (0..n)
            .filter(|&i| {
                self.act[i] > 0.0 && seen.insert(&self.codes[i * self.len..(i + 1) * self.len])
            })
            .collect();
        let max = unique.iter().map(|&i| self.act[i]).fold(0.0f32, f32::max);
        let per_bin = (cap / bins).max(1);
        let mut strata: Vec<Vec<usize>> = vec![Vec::new(); bins];
        for &i in &unique {
            strata[stratum(self.act[i], max, bins)].push(i);
        }
        let mut keep: Vec<usize> = Vec::with_capacity(cap.min(unique.len()));
        for mut s in strata {
            if s.len() > per_bin {
                // partial Fisher-Yates: a uniform random subset of size per_bin
                for j in 0..per_bin {
                    let k = rng.gen_range(j..s.len());
                    s.swap(j, k);
                }
                s.truncate(per_bin);
            }
            keep.extend(s);
        }
        keep.sort_unstable();
        let mut codes = Vec::with_capacity(keep.len() * self.len);
        for &i in &keep {
            codes.extend_from_slice(&self.codes[i * self.len..(i + 1) * self.len]);
        }
        self.act = keep.iter().map(|&i| self.act[i]).collect();
        self.codes = codes;
    }

    pub(crate) fn into_samples(self) -> SampleSet {
        let n = self.act.len();
        SampleSet {
            codes: Array2::from_shape_vec((n, self.len), self.codes)
                .unwrap_or_else(|_| Array2::zeros((0, self.len))),
            act: self.act,
        }
    }
}

/// Index of the equal-width stratum of (0, max] holding `a`.
pub(crate) fn stratum(a: f32, max: f32, bins: usize) -> usize {
    if max <= 0.0 {
        return 0;
    }
    let b = ((a / max) * bins as f32).ceil() as isize - 1;
    b.clamp(0, bins as isize - 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn prune_dedups_and_caps_each_stratum() {
        let mut a = Archive::new(2);
        // 30 copies of one sequence, then 100 distinct ones with activations spread over (0, 1]
        for _ in 0..30 {
            a.add_positive(&[0, 0], &[0.5]);
        }
        for i in 0..100u8 {
            a.add_positive(&[1 + i / 4, i % 4], &[f32::from(i + 1) / 100.0]);
        }
        a.add_positive(&[3, 3], &[-1.0]); // not activating: never stored
        assert_eq!(a.size(), 130);
        let mut rng = crate::rng::Rng::seed_from_u64(1);
        a.prune(40, 10, &mut rng);
        // 101 unique; each of 10 strata has ~10 and keeps at most 4
        assert!(a.size() <= 40);
        let s = a.into_samples();
        let mut rows: Vec<Vec<u8>> = s.codes.outer_iter().map(|r| r.to_vec()).collect();
        let n = rows.len();
        rows.sort();
        rows.dedup();
        assert_eq!(rows.len(), n, "duplicates survived");
        let mut per = [0usize; 10];
        for &v in &s.act {
            per[stratum(v, 1.0, 10)] += 1;
        }
        assert!(per.iter().all(|&c| c <= 4), "{per:?}");
    }

    #[test]
    fn strata_edges() {
        assert_eq!(stratum(1.0, 1.0, 20), 19);
        assert_eq!(stratum(0.05, 1.0, 20), 0);
        assert_eq!(stratum(0.0501, 1.0, 20), 1);
        assert_eq!(stratum(1e-9, 1.0, 20), 0);
    }
}
