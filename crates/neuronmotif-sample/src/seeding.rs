//! Seeding the first generation from the previous layer's CRMs (layers L ≥ 2).
//!
//! Each initial sequence gets the argmax consensus of previous-layer CRMs written where the
//! neuron's excitatory connections would read them: for a drawn connection (tap t, channel c)
//! and a random winner r of each feeding max-pool, at `start(t, r) = t·J_post + r·J_pre`.
//! Uninformative positions of a CRM are drawn from its column instead (unless
//! `SamplerParams::draw_uninformative_seeds` is off).

use ndarray::{Array2, ArrayView2};
use neuronmotif_field::Geometry;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::archive::stratum;
use crate::params::ValidSamplerParams;
use crate::{Crm, LayerTable, SampleError};

/// A previous-layer CRM, prepared for placement.
#[derive(Debug, Clone)]
struct SeedCrm {
    /// Per position: the base to write, or the cumulative probabilities of A, C and G to draw
    /// it from.
    columns: Vec<SeedColumn>,
    /// Positions that, once written, may not be overwritten (empty for non-motifs).
    core: Option<(usize, usize)>,
    conact: f32,
}

/// One position of a seed.
#[derive(Debug, Clone, Copy)]
enum SeedColumn {
    /// The argmax base (informative positions).
    Fixed(u8),
    /// Cumulative P(A), P(A or C), P(A, C or G) of the column to draw from.
    Draw([f64; 3]),
}

impl SeedColumn {
    fn base(self, rng: &mut impl Rng) -> u8 {
        match self {
            SeedColumn::Fixed(b) => b,
            SeedColumn::Draw(cum) => {
                let u: f64 = rng.gen();
                cum.iter().position(|&c| u < c).unwrap_or(3) as u8
            }
        }
    }
}

/// Everything needed to seed neurons of layer L from layer L−1's table.
#[derive(Debug, Clone)]
pub struct SeedSource {
    /// CRMs of each previous-layer neuron (padding slots with n = 0 are skipped: bug 8).
    by_neuron: Vec<Vec<SeedCrm>>,
    /// Strength of each previous-layer neuron: the sum of its CRMs' max activations (the
    /// original v1.0 behaviour; HEAD scrambled it, bug 1).
    strength: Vec<f32>,
}

impl SeedSource {
    /// Prepare a table for seeding layer `table.layer + 1`.
    pub fn new(table: &LayerTable, params: &ValidSamplerParams) -> SeedSource {
        let mut by_neuron = vec![Vec::new(); table.neurons];
        let mut strength = vec![0.0f32; table.neurons];
        for crm in &table.crms {
            strength[crm.neuron] += crm.act_max.max(0.0);
            if crm.n == 0 {
                continue;
            }
            by_neuron[crm.neuron].push(prepare(crm, params));
        }
        SeedSource {
            by_neuron,
            strength,
        }
    }

    /// Number of previous-layer neurons.
    pub fn neurons(&self) -> usize {
        self.by_neuron.len()
    }
}

fn prepare(crm: &Crm, params: &ValidSamplerParams) -> SeedCrm {
    // IC with a small pseudo-term as in the original (1e-6 keeps log finite on exact zeros)
    let ic: Vec<f64> = crm
        .ppm
        .view()
        .outer_iter()
        .map(|r| {
            let h: f64 = r.iter().map(|&p| -(p + 1e-6) * (p + 1e-6).log2()).sum();
            2.0 - h
        })
        .collect();
    let hot: Vec<usize> = (0..ic.len())
        .filter(|&i| ic[i] > params.core_ic_bits)
        .collect();
    let core = match (
        hot.len() > params.core_min_positions,
        hot.first(),
        hot.last(),
    ) {
        (true, Some(&a), Some(&b)) => Some((a, b + 1)),
        _ => None,
    };
    let consensus = crm.ppm.consensus();
    let columns = consensus
        .codes()
        .iter()
        .zip(crm.ppm.view().outer_iter())
        .zip(&ic)
        .map(|((&base, p), &ic)| {
            if params.draw_uninformative_seeds && ic <= params.core_ic_bits {
                let total: f64 = p.iter().sum();
                let mut acc = 0.0;
                let mut cum = [0.0; 3];
                for (c, &v) in cum.iter_mut().zip(p.iter()) {
                    acc += v / total;
                    *c = acc;
                }
                SeedColumn::Draw(cum)
            } else {
                SeedColumn::Fixed(base)
            }
        })
        .collect();
    SeedCrm {
        columns,
        core,
        conact: crm.conact,
    }
}

/// NeuronMotif's activation-level-stratified weights: split (0, max] into `bins` equal strata,
/// give every stratum a mass of 1/bins shared in proportion to its entries' weights, and hand
/// the mass of an empty stratum to the nearest non-empty stratum above it. Weak but positive
/// connections are sampled far more often than proportional sampling would give.
pub(crate) fn stratified_weights(w: &[f32], bins: usize) -> Vec<f64> {
    let max = w.iter().copied().fold(0.0f32, f32::max);
    let mut out = vec![0.0f64; w.len()];
    if max <= 0.0 {
        return out;
    }
    let mut sums = vec![0.0f64; bins];
    let strata: Vec<usize> = w.iter().map(|&v| stratum(v, max, bins)).collect();
    for (&v, &s) in w.iter().zip(&strata) {
        sums[s] += f64::from(v);
    }
    // mass of each stratum after handing empty strata's mass upward
    let mut mass = vec![0.0f64; bins];
    let mut receiver = bins - 1; // the top stratum holds `max`, so it is never empty
    for s in (0..bins).rev() {
        if sums[s] > 0.0 {
            receiver = s;
        }
        mass[receiver] += 1.0 / bins as f64;
    }
    for (o, (&v, &s)) in out.iter_mut().zip(w.iter().zip(&strata)) {
        *o = mass[s] * f64::from(v) / sums[s];
    }
    let total: f64 = out.iter().sum();
    out.iter_mut().for_each(|v| *v /= total);
    out
}

/// Draw `k` distinct indices with probabilities `p` (sequential sampling without replacement,
/// done by rejecting repeats, which is the same distribution); all of them when fewer exist.
fn draw_distinct(cum: &[f64], k: usize, rng: &mut impl Rng, out: &mut Vec<usize>) {
    out.clear();
    let n = cum.len();
    if k >= n {
        out.extend(0..n);
        return;
    }
    let total = cum[n - 1];
    while out.len() < k {
        let u = rng.gen::<f64>() * total;
        let i = cum.partition_point(|&c| c <= u).min(n - 1);
        if !out.contains(&i) {
            out.push(i);
        }
    }
}

/// The first generation of a layer-`layer` neuron: `pop` uniform random sequences with seeds
/// written over them. `weights` is `[tap, input channel]`. `None` when no CRM of the previous
/// layer excites the neuron (there is nothing to seed with).
pub(crate) fn seeded_population(
    source: &SeedSource,
    weights: ArrayView2<'_, f32>,
    geometry: &Geometry,
    layer: usize,
    pop: usize,
    params: &ValidSamplerParams,
    rng: &mut impl Rng,
) -> Result<Option<Array2<u8>>, SampleError> {
    let rf = geometry.receptive_field(layer)?.len;
    let rf_prev = geometry.receptive_field(layer - 1)?.len;
    let pools: Vec<usize> = geometry
        .pools_feeding(layer)?
        .iter()
        .map(|(_, p)| p.kernel)
        .collect();
    let per_seq = geometry.pool_size_below(layer)?.max(1);
    let (taps, chans) = weights.dim();
    if chans != source.neurons() {
        return Err(SampleError::Table {
            path: "<seeding>".into(),
            message: format!("the previous layer's table has {} neurons but conv layer {layer} reads {chans} channels", source.neurons()),
        });
    }
    // excitatory connections, scaled by the previous neurons' strengths
    let mut entries = Vec::new();
    let mut w = Vec::new();
    for t in 0..taps {
        for c in 0..chans {
            let v = weights[[t, c]] * source.strength[c];
            if v > 0.0 && !source.by_neuron[c].is_empty() {
                entries.push((t, c));
                w.push(v);
            }
        }
    }
    if entries.is_empty() {
        return Ok(None); // no CRM below excites the neuron: nothing to seed with
    }
    let p = stratified_weights(&w, params.seeding_bins);
    let mut cum = Vec::with_capacity(p.len());
    let mut acc = 0.0;
    for v in p {
        acc += v;
        cum.push(acc);
    }
    let mut pop_codes = Array2::<u8>::zeros((pop, rf));
    let mut drawn = Vec::new();
    let mut claimed = vec![false; rf];
    let mut order: Vec<usize> = Vec::new();
    let mut r = vec![0usize; pools.len()];
    for mut row in pop_codes.outer_iter_mut() {
        for v in row.iter_mut() {
            *v = rng.gen_range(0..4);
        }
        claimed.iter_mut().for_each(|c| *c = false);
        draw_distinct(&cum, per_seq, rng, &mut drawn);
        for &e in &drawn {
            let (t, c) = entries[e];
            let crms = &source.by_neuron[c];
            order.clear();
            order.extend(0..crms.len());
            order.shuffle(rng);
            for &ci in &order {
                let crm = &crms[ci];
                for (slot, &k) in r.iter_mut().zip(&pools) {
                    *slot = rng.gen_range(0..k);
                }
                let start = geometry.unit_start(layer, 0, t, &r)?;
                if let Some((a, b)) = crm.core {
                    if (start + a..(start + b).min(rf)).any(|i| claimed[i]) {
                        continue;
                    }
                }
                for (j, &column) in crm.columns.iter().enumerate().take(rf_prev) {
                    let i = start + j;
                    if i >= rf {
                        break;
                    }
                    if !claimed[i] {
                        row[i] = column.base(rng);
                    }
                }
                if let (Some((a, b)), true) = (crm.core, crm.conact > 0.0) {
                    for flag in claimed.iter_mut().take((start + b).min(rf)).skip(start + a) {
                        *flag = true;
                    }
                }
            }
        }
    }
    Ok(Some(pop_codes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SamplerParams;
    use rand::SeedableRng;

    /// A CRM whose positions 0-2 are sharp (C, G, T) and 3-5 uniform or nearly so.
    fn mixed_crm() -> Crm {
        let rows = [
            [0.01, 0.97, 0.01, 0.01],
            [0.01, 0.01, 0.97, 0.01],
            [0.01, 0.01, 0.01, 0.97],
            [0.25, 0.25, 0.25, 0.25],
            [0.3, 0.2, 0.25, 0.25],
            [0.25, 0.25, 0.25, 0.25],
        ];
        Crm {
            layer: 1,
            neuron: 0,
            shift: neuronmotif_field::ShiftId(0),
            motif_nb: 1,
            ppm: neuronmotif_core::Ppm::new(ndarray::Array2::from_shape_fn((6, 4), |(i, b)| {
                rows[i][b]
            }))
            .unwrap(),
            n: 100,
            act_max: 1.0,
            conact: 1.0,
            route: None,
        }
    }

    /// Informative positions seed their argmax; uninformative ones are drawn from the column
    /// (about a quarter each base here, where the argmax would always be `A`), unless switched
    /// off, which gives the original's argmax everywhere.
    #[test]
    fn uninformative_seed_positions_are_drawn() {
        let on = SamplerParams::default().check().unwrap();
        let seed = prepare(&mixed_crm(), &on);
        let mut rng = crate::rng::Rng::seed_from_u64(7);
        let mut counts = [[0usize; 4]; 6];
        for _ in 0..4000 {
            for (j, c) in seed.columns.iter().enumerate() {
                counts[j][usize::from(c.base(&mut rng))] += 1;
            }
        }
        assert_eq!(counts[0], [0, 4000, 0, 0]);
        assert_eq!(counts[1], [0, 0, 4000, 0]);
        assert_eq!(counts[2], [0, 0, 0, 4000]);
        for (j, row) in counts.iter().enumerate().skip(3) {
            for (b, &n) in row.iter().enumerate() {
                // each near 1000 (0.3 x 4000 = 1200 for A at position 4); 6 sigma is about 170
                let want = if j == 4 && b == 0 {
                    1200
                } else if j == 4 && b == 1 {
                    800
                } else {
                    1000
                };
                assert!((n as i64 - want).abs() < 180, "position {j} base {b}: {n}");
            }
        }
        let off = SamplerParams {
            draw_uninformative_seeds: false,
            ..SamplerParams::default()
        }
        .check()
        .unwrap();
        let argmax: Vec<u8> = prepare(&mixed_crm(), &off)
            .columns
            .iter()
            .map(|c| c.base(&mut rng))
            .collect();
        assert_eq!(argmax, [1, 2, 3, 0, 0, 0]);
    }

    #[test]
    fn stratified_weights_favour_weak_connections() {
        // one strong connection, nine weak ones
        let mut w = vec![0.01f32; 9];
        w.push(1.0);
        let p = stratified_weights(&w, 20);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // proportional sampling would give the strong one 1/1.09 = 92%; strata give the weak
        // stratum 1/20 and hand the 18 empty strata's mass to the nearest non-empty one above:
        // strata 1..18 are empty and sit below the top, so their mass goes to the top stratum.
        let weak: f64 = p[..9].iter().sum();
        assert!((weak - 1.0 / 20.0).abs() < 1e-12, "{weak}");
        // mass of empty strata goes UP to the nearest non-empty stratum
        let w2 = [0.5f32, 1.0]; // strata 9 and 19 of 20
        let p2 = stratified_weights(&w2, 20);
        assert!((p2[0] - 10.0 / 20.0).abs() < 1e-12, "{p2:?}");
    }

    #[test]
    fn distinct_draws() {
        use rand::SeedableRng;
        let mut rng = crate::rng::Rng::seed_from_u64(3);
        let cum = [0.1, 0.2, 0.9, 1.0];
        let mut out = Vec::new();
        for _ in 0..100 {
            draw_distinct(&cum, 3, &mut rng, &mut out);
            let mut s = out.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), 3);
        }
        draw_distinct(&cum, 9, &mut rng, &mut out);
        assert_eq!(out, vec![0, 1, 2, 3]);
    }
}
