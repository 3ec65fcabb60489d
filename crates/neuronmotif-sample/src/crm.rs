//! CRMs: one position probability matrix per shift state of a neuron.

use ndarray::{Array2, ArrayView2};
use neuronmotif_core::{CountMatrix, Ppm};
use neuronmotif_field::ShiftId;
use serde::{Deserialize, Serialize};

use crate::SampleError;

/// Where the exact max-pool argmax path put a cluster's samples (an extra the original lacks).
///
/// For every sample, the route from the neuron down its strongest connection at each layer is
/// followed, recording which position won each max-pool; `offset_bp` is where that route's
/// layer-1 unit starts. A CRM whose samples mostly share one route has `purity` near 1, and its
/// shift id then *is* that bp offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteSummary {
    /// Most common layer-1 start (bp) of the strongest route among the cluster's samples.
    pub offset_bp: usize,
    /// Fraction of the cluster's samples whose route starts there.
    pub purity: f32,
}

/// A cis-regulatory module of one neuron: the PPM of the activating sequences in one shift
/// state, with the statistics NeuronMotif reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Crm {
    /// Conv layer (1-based).
    pub layer: usize,
    /// Neuron (channel, 0-based).
    pub neuron: usize,
    /// Shift state (leaf of the demixing; unresolved lower digits are 0).
    pub shift: ShiftId,
    /// motif_nb the neuron was decoupled with.
    pub motif_nb: u32,
    /// Activation-weighted PPM over the receptive field, ACGT.
    pub ppm: Ppm,
    /// Number of samples in the state.
    pub n: usize,
    /// Largest sampled activation in the state (`act`/ActMax).
    pub act_max: f32,
    /// Activation of the neuron on the PPM's consensus sequence (`conact`).
    pub conact: f32,
    /// Argmax-route summary, when computed.
    pub route: Option<RouteSummary>,
}

impl Crm {
    /// MOTIF id used in the run directory: `L<layer>_N<neuron>_S<shift>`.
    pub fn id(&self) -> String {
        format!("L{}_N{}_S{}", self.layer, self.neuron, self.shift)
    }

    /// Alternate name carrying the statistics: `n<samples>_act<actmax>_con<conact>`.
    pub fn alt_name(&self) -> String {
        format!("n{}_act{:.4}_con{:.4}", self.n, self.act_max, self.conact)
    }
}

/// Route purity of a set of CRMs: the fraction of their samples whose strongest route starts
/// at their CRM's most common offset, weighted by CRM size (0 when no CRM has a route). With
/// the route as ground truth for a sample's shift, it measures how cleanly demixing separated
/// the shift states.
pub fn route_purity(crms: &[Crm]) -> f64 {
    let n: usize = crms.iter().map(|c| c.n).sum();
    crms.iter()
        .map(|c| c.route.as_ref().map_or(0.0, |r| f64::from(r.purity)) * c.n as f64)
        .sum::<f64>()
        / n.max(1) as f64
}

/// NeuronMotif's activation-binned PPM of a cluster.
///
/// Split (0, amax] into `bins` equal strata; each non-empty stratum contributes its own
/// row-normalised counts weighted by its mean activation, an empty one repeats the stratum above
/// it weighted by its midpoint. Each activation level then counts in proportion to its
/// activation, not to how many samples happen to sit there.
pub fn binned_ppm(codes: ArrayView2<'_, u8>, act: &[f32], bins: usize) -> Result<Ppm, SampleError> {
    let width = codes.ncols();
    let amax = act.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if act.is_empty() || amax <= 0.0 {
        // nothing activating: plain counts (or uniform for an empty cluster)
        if act.is_empty() {
            return Ok(Ppm::uniform(width));
        }
        let mut m = CountMatrix::zeros(width);
        for row in codes.outer_iter() {
            m.add_codes(row.as_slice().unwrap_or(&row.to_vec()), 1.0);
        }
        return Ok(m.to_ppm()?);
    }
    let mut counts: Vec<CountMatrix> = (0..bins).map(|_| CountMatrix::zeros(width)).collect();
    let mut sums = vec![0.0f64; bins];
    let mut ns = vec![0usize; bins];
    for (row, &a) in codes.outer_iter().zip(act) {
        let b = crate::archive::stratum(a, amax, bins);
        let owned;
        let slice = match row.as_slice() {
            Some(s) => s,
            None => {
                owned = row.to_vec();
                &owned
            }
        };
        counts[b].add_codes(slice, 1.0);
        sums[b] += f64::from(a);
        ns[b] += 1;
    }
    let mut total = Array2::<f64>::zeros((width, 4));
    let mut above: Option<Ppm> = None;
    for b in (0..bins).rev() {
        let (p, w) = if ns[b] > 0 {
            (counts[b].to_ppm()?, sums[b] / ns[b] as f64)
        } else {
            let mid = f64::from(amax) * (b as f64 + 0.5) / bins as f64;
            match &above {
                Some(p) => (p.clone(), mid),
                None => continue,
            }
        };
        total.scaled_add(w, &p.view());
        above = Some(p);
    }
    Ok(Ppm::from_weights(total)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn high_activation_strata_dominate() {
        // 9 weak sequences "A", 1 strong "C": counts say A, activation weighting says C
        let codes = Array2::from_shape_vec((10, 1), vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
        let act = [0.1f32, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 1.0];
        let p = binned_ppm(codes.view(), &act, 20).unwrap();
        // strata: C alone in the top (mean 1.0); A in stratum 1 (mean 0.1); strata 2..18 are
        // empty and repeat the C stratum at their midpoints.
        assert!(p.view()[[0, 1]] > 0.9, "{:?}", p.view());
        let one = binned_ppm(array![[2u8, 3]].view(), &[0.5], 20).unwrap();
        assert_eq!(one.consensus().to_string(), "GT");
        assert_eq!(
            binned_ppm(Array2::zeros((0, 3)).view(), &[], 20).unwrap(),
            Ppm::uniform(3)
        );
    }

    #[test]
    fn route_purity_weights_by_size() {
        let crm = |n: usize, purity: Option<f32>| Crm {
            layer: 2,
            neuron: 0,
            shift: neuronmotif_field::ShiftId(0),
            motif_nb: 1,
            ppm: Ppm::uniform(3),
            n,
            act_max: 1.0,
            conact: 1.0,
            route: purity.map(|p| RouteSummary {
                offset_bp: 0,
                purity: p,
            }),
        };
        // (10 × 1.0 + 30 × 0.5) / 40
        assert!((route_purity(&[crm(10, Some(1.0)), crm(30, Some(0.5))]) - 0.625).abs() < 1e-12);
        // a CRM without a route counts as impure; no samples at all gives 0
        assert!((route_purity(&[crm(10, Some(1.0)), crm(10, None)]) - 0.5).abs() < 1e-12);
        assert_eq!(route_purity(&[]), 0.0);
    }

    #[test]
    fn weighting_formula_by_hand() {
        // two strata of 2 bins: a = 1.0 ("A") in bin 1, a = 0.4 ("G") in bin 0
        let codes = array![[0u8], [2]];
        let p = binned_ppm(codes.view(), &[1.0, 0.4], 2).unwrap();
        let (wa, wg) = (1.0, f64::from(0.4f32));
        assert!((p.view()[[0, 0]] - wa / (wa + wg)).abs() < 1e-12);
        assert!((p.view()[[0, 2]] - wg / (wa + wg)).abs() < 1e-12);
    }
}
