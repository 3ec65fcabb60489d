//! Generating sequences that activate a neuron: exhaustive enumeration for small receptive
//! fields, a seeded gradient-guided genetic search otherwise.

use ndarray::{Array2, ArrayView2};
use neuronmotif_cnn::{Batch, Substructure};
use neuronmotif_core::SequenceSpace;
use neuronmotif_field::Geometry;
use rand::Rng;
use rayon::prelude::*;

use crate::archive::Archive;
use crate::params::ValidSamplerParams;
use crate::rng::{Purpose, Streams};
use crate::seeding::{seeded_population, SeedSource};
use crate::{Progress, SampleError, SampleSet};

/// How a neuron's samples were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingMode {
    /// All 4^RF sequences were evaluated.
    Exhaustive,
    /// Genetic search over this many generations.
    Genetic {
        /// Generations run (the search stops early when the mean activation stalls).
        generations: usize,
    },
    /// The samples were saved by an earlier, interrupted run and reused.
    Resumed,
}

/// Sample neuron `channel` of `sub`'s last conv layer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sample(
    sub: &Substructure,
    geometry: &Geometry,
    channel: usize,
    seeds: Option<&SeedSource>,
    params: &ValidSamplerParams,
    streams: Streams,
    progress: &dyn Progress,
) -> Result<(SampleSet, SamplingMode), SampleError> {
    let rf = sub.input_len();
    if params.is_exhaustive(rf) {
        return Ok((exhaustive(sub, channel, rf)?, SamplingMode::Exhaustive));
    }
    let pop = params.population_for(rf);
    let layer = sub.layer();
    let random = || {
        let mut rng = streams.get(Purpose::Init, 0, 0);
        Array2::from_shape_fn((pop, rf), |_| rng.gen_range(0..4u8))
    };
    let init = match seeds {
        Some(src) if layer >= 2 => {
            let weights = sub.neuron_weights(channel)?;
            let mut rng = streams.get(Purpose::Seeding, 0, 0);
            match seeded_population(src, weights.view(), geometry, layer, pop, params, &mut rng)? {
                Some(p) => p,
                // No CRM below excites the neuron, yet its bias (or inputs from neurons without
                // CRMs) may still switch it on: search from random sequences, as on layer 1.
                // A neuron that nothing activates ends with no sample and no CRM.
                None => random(),
            }
        }
        _ => random(),
    };
    let j_post = geometry.jump_post(layer)?;
    genetic(sub, channel, init, j_post, params, streams, progress)
}

/// Every sequence of length `rf`, kept when the activation is > 0.
fn exhaustive(sub: &Substructure, channel: usize, rf: usize) -> Result<SampleSet, SampleError> {
    let space = SequenceSpace::new(rf)?;
    const CHUNK: usize = 1 << 16;
    let mut codes = Vec::new();
    let mut act = Vec::new();
    let mut block = Array2::<u8>::zeros((0, rf));
    for start in (0..space.count()).step_by(CHUNK) {
        let n = CHUNK.min(space.count() - start);
        block = Array2::from_shape_fn((n, rf), |(i, p)| {
            (((start + i) >> (2 * (rf - 1 - p))) & 3) as u8
        });
        let a = sub.activations(block.view(), channel)?;
        for (row, &v) in block.outer_iter().zip(a.column(0)) {
            if v > 0.0 {
                codes.extend(row.iter());
                act.push(v);
            }
        }
    }
    drop(block);
    let n = act.len();
    Ok(SampleSet {
        codes: Array2::from_shape_vec((n, rf), codes).map_err(|e| SampleError::Param {
            name: "exhaustive",
            value: e.to_string(),
            expected: "consistent shapes",
        })?,
        act,
    })
}

/// Sequences per parallel mutation task (fixed, so results do not depend on threads).
const MUTATION_CHUNK: usize = 64;

fn genetic(
    sub: &Substructure,
    channel: usize,
    mut x: Array2<u8>,
    j_post: usize,
    params: &ValidSamplerParams,
    streams: Streams,
    progress: &dyn Progress,
) -> Result<(SampleSet, SamplingMode), SampleError> {
    let (pop, rf) = x.dim();
    let mut archive = Archive::new(rf);
    let mut grad = vec![0.0f32; pop * rf * 4];
    let mut act_x = vec![0.0f32; pop];
    let mut y = Array2::<u8>::zeros((pop, rf));
    let mut best_mean = f32::NEG_INFINITY;
    let mut stall = 0;
    let mut generations = 0;
    let shifts = j_post > 1;
    let n_elite = ((pop as f64) * params.elite_fraction) as usize;
    for g in 0..params.generations {
        if progress.cancelled() {
            return Err(SampleError::Cancelled);
        }
        generations = g + 1;
        // 1. gradient-informed resampling of every position
        sub.gradient_into(Batch::Codes(x.view()), channel, 0, &mut act_x, &mut grad)?;
        mutate(x.view(), &grad, params.step, &mut y, streams, g);
        // 2. evaluate
        let v: Vec<f32> = sub.activations(y.view(), channel)?.column(0).to_vec();
        // 3. archive (pruned every few generations once above the cap)
        archive.add_positive(y.as_slice().unwrap_or(&[]), &v);
        if archive.size() > params.archive_cap && g % params.prune_every == params.prune_every - 1 {
            let mut rng = streams.get(Purpose::Archive, g as u64, 0);
            archive.prune(params.archive_cap, params.archive_bins, &mut rng);
        }
        let mean = v.iter().map(|&a| f64::from(a)).sum::<f64>() as f32 / pop as f32;
        progress.generation(sub.layer(), channel, g, mean);
        if mean > best_mean {
            best_mean = mean;
            stall = 0;
        } else {
            stall += 1;
            if stall > params.patience {
                break;
            }
        }
        // 4. next population: elites (+ shifted copies) and single-point crossover children
        let mut rng = streams.get(Purpose::Selection, g as u64, 0);
        x = next_population(
            y.view(),
            &v,
            n_elite,
            if shifts { Some(j_post) } else { None },
            &mut rng,
        );
    }
    let mut rng = streams.get(Purpose::Archive, u64::MAX, 0);
    archive.prune(params.archive_cap, params.archive_bins, &mut rng);
    Ok((
        archive.into_samples(),
        SamplingMode::Genetic { generations },
    ))
}

/// `Y ~ normalise(max(0, X + α·∇f))` position by position (uniform where nothing is left).
fn mutate(
    x: ArrayView2<'_, u8>,
    grad: &[f32],
    step: f32,
    y: &mut Array2<u8>,
    streams: Streams,
    generation: usize,
) {
    let rf = x.ncols();
    let xs = x.as_standard_layout();
    let (Some(xs), Some(ys)) = (xs.as_slice(), y.as_slice_mut()) else {
        return;
    };
    ys.par_chunks_mut(MUTATION_CHUNK * rf)
        .zip(xs.par_chunks(MUTATION_CHUNK * rf))
        .enumerate()
        .for_each(|(ci, (yc, xc))| {
            let mut rng = streams.get(Purpose::Mutation, generation as u64, ci as u64);
            let g0 = ci * MUTATION_CHUNK * rf * 4;
            for (j, (yv, &xv)) in yc.iter_mut().zip(xc).enumerate() {
                let g = &grad[g0 + j * 4..g0 + j * 4 + 4];
                let cur = usize::from(xv & 3);
                let mut w = [0.0f32; 4];
                let mut sum = 0.0;
                for (b, wb) in w.iter_mut().enumerate() {
                    let v = f32::from(u8::from(b == cur)) + step * g[b];
                    *wb = if v > 0.0 { v } else { 0.0 };
                    sum += *wb;
                }
                let u: f32 = rng.gen();
                *yv = if sum > 0.0 && sum.is_finite() {
                    let t = u * sum;
                    let mut acc = 0.0;
                    let mut pick = 3;
                    for (b, &wb) in w.iter().enumerate() {
                        acc += wb;
                        if t < acc {
                            pick = b;
                            break;
                        }
                    }
                    pick as u8
                } else {
                    ((u * 4.0) as u8).min(3)
                };
            }
        });
}

/// Elites, their circularly shifted copies when pools sit below the neuron, and crossover
/// children of fitness-selected parents, `pop` sequences in all.
fn next_population(
    y: ArrayView2<'_, u8>,
    v: &[f32],
    n_elite: usize,
    shift_range: Option<usize>,
    rng: &mut impl Rng,
) -> Array2<u8> {
    let (pop, rf) = y.dim();
    let mut order: Vec<usize> = (0..pop).collect();
    order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    let elites = &order[..n_elite.min(pop)];
    let mut next: Vec<u8> = Vec::with_capacity(pop * rf);
    for &e in elites {
        next.extend(y.row(e).iter());
    }
    if let Some(j) = shift_range {
        // one copy rolled left by s, one rolled right by an independent s, s in [1, J_post)
        for dir in [-1isize, 1] {
            let s = rng.gen_range(1..j.max(2)) as isize % rf as isize;
            for &e in elites {
                let row = y.row(e);
                next.extend(
                    (0..rf).map(|p| row[((p as isize - dir * s).rem_euclid(rf as isize)) as usize]),
                );
            }
        }
    }
    // fitness v + 1 (v >= 0) or exp(v) (v < 0): continuous and positive
    let mut cum = Vec::with_capacity(pop);
    let mut acc = 0.0f64;
    for &a in v {
        acc += if a >= 0.0 {
            f64::from(a) + 1.0
        } else {
            f64::from(a).exp()
        };
        cum.push(acc);
    }
    let pick = |rng: &mut dyn rand::RngCore| -> usize {
        let u = rand::Rng::gen::<f64>(rng) * acc;
        cum.partition_point(|&c| c <= u).min(pop - 1)
    };
    // Children fill the rest: with 10% elites that is exactly the original's ⌊0.45·S⌋ pairs,
    // or ⌊0.35·S⌋ pairs next to the two shifted elite copies.
    while next.len() < pop * rf {
        let (a, b) = (pick(rng), pick(rng));
        let cut = rng.gen_range(0..rf);
        let (ra, rb) = (y.row(a), y.row(b));
        next.extend(ra.iter().take(cut).chain(rb.iter().skip(cut)));
        if next.len() < pop * rf {
            next.extend(rb.iter().take(cut).chain(ra.iter().skip(cut)));
        }
    }
    next.truncate(pop * rf);
    Array2::from_shape_vec((pop, rf), next).unwrap_or_else(|_| Array2::zeros((pop, rf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn next_population_keeps_size_and_elites() {
        let mut rng = crate::rng::Rng::seed_from_u64(1);
        let y = Array2::from_shape_fn((20, 8), |(i, p)| ((i + p) % 4) as u8);
        let v: Vec<f32> = (0..20).map(|i| i as f32 - 5.0).collect();
        let next = next_population(y.view(), &v, 2, Some(4), &mut rng);
        assert_eq!(next.dim(), (20, 8));
        assert_eq!(next.row(0), y.row(19));
        assert_eq!(next.row(1), y.row(18));
        // the shifted copies are rotations of the elites
        let rot = |r: ndarray::ArrayView1<'_, u8>, s: usize| -> Vec<u8> {
            (0..8).map(|p| r[(p + 8 - s) % 8]).collect()
        };
        let r2: Vec<u8> = next.row(2).to_vec();
        assert!((1..4).any(|s| r2 == rot(y.row(19), 8 - s)), "{r2:?}");
    }

    #[test]
    fn mutation_with_zero_step_copies_and_large_step_follows_gradient() {
        let streams = Streams {
            seed: 1,
            layer: 1,
            neuron: 0,
        };
        let x = Array2::from_shape_fn((100, 5), |(i, p)| ((i * 3 + p) % 4) as u8);
        let mut y = Array2::zeros((100, 5));
        let zero = vec![0.0f32; 100 * 5 * 4];
        mutate(x.view(), &zero, 1.0, &mut y, streams, 0);
        assert_eq!(x, y);
        // gradient strongly favours G everywhere
        let g: Vec<f32> = (0..100 * 5 * 4)
            .map(|i| if i % 4 == 2 { 100.0 } else { -100.0 })
            .collect();
        mutate(x.view(), &g, 1.0, &mut y, streams, 0);
        assert!(y.iter().all(|&b| b == 2));
    }
}
