//! A whole layer: every neuron sampled, then one motif_nb chosen for the layer by the original
//! consensus-activation rule.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::neuron::{
    consensus_ratio, decouple_routed, sample_neuron, sample_routes, LayerContext, NeuronResult,
};
use crate::params::MotifNb;
use crate::stats::t_test;
use crate::{Progress, SampleError, SampleSet};

/// Where a layer's samples wait while its motif_nb is decided (and where a resumed run finds
/// them). The pipeline keeps them on disk; [`MemoryStore`] keeps them in memory.
pub trait SampleStore: Sync {
    /// Samples saved earlier for this neuron, if any.
    fn get(&self, neuron: usize) -> Result<Option<SampleSet>, SampleError>;
    /// Save a neuron's samples.
    fn put(&self, neuron: usize, samples: &SampleSet) -> Result<(), SampleError>;
}

/// A [`SampleStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<HashMap<usize, SampleSet>>);

impl SampleStore for MemoryStore {
    fn get(&self, neuron: usize) -> Result<Option<SampleSet>, SampleError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| SampleError::Cancelled)?
            .get(&neuron)
            .cloned())
    }
    fn put(&self, neuron: usize, samples: &SampleSet) -> Result<(), SampleError> {
        self.0
            .lock()
            .map_err(|_| SampleError::Cancelled)?
            .insert(neuron, samples.clone());
        Ok(())
    }
}

/// The layer-wide decision: accept when the mean consensus ratio exceeds `accept` for fewer
/// than 10 neurons, else when a one-sample t-test of the ratios against `accept` gives t > 0
/// and a two-sided p < 0.1 (the original's rule, scipy's `ttest_1samp`).
pub fn layer_accepts(ratios: &[f32], accept: f64) -> bool {
    let x: Vec<f64> = ratios.iter().map(|&v| f64::from(v)).collect();
    if x.is_empty() {
        return true;
    }
    if x.len() < 10 {
        return x.iter().sum::<f64>() / x.len() as f64 > accept;
    }
    match t_test(&x, accept) {
        Some((t, p)) => t > 0.0 && p < 0.1,
        // no spread: decide on the (common) value
        None => x[0] > accept,
    }
}

/// What a layer produced.
#[derive(Debug, Clone)]
pub struct LayerResult {
    /// The motif_nb used for every neuron.
    pub motif_nb: u32,
    /// `(motif_nb, mean consensus ratio, accepted)` for each value tried.
    pub tried: Vec<(u32, f32, bool)>,
    /// One result per requested neuron, in the requested order.
    pub neurons: Vec<NeuronResult>,
}

/// The samples' route offsets are kept between motif_nb values (they do not depend on it) up
/// to this many bytes per layer; beyond, they are recomputed.
const ROUTE_CACHE_BYTES: usize = 64 << 20;

/// The motif_nb values the layer rule may try: `(first, max)`. A layer without a pool below
/// it has one shift state per sample, so automatic mode tries 1 only.
pub fn motif_nb_bounds(ctx: &LayerContext<'_>) -> Result<(u32, u32), SampleError> {
    let pooled = ctx.geometry.shift_space(ctx.sub.layer(), 1)?.count() > 1;
    Ok(match ctx.decouple.motif_nb {
        MotifNb::Fixed(m) => (m, m),
        MotifNb::Auto { max } => (1, if pooled { max } else { 1 }),
    })
}

/// The first round of [`explain_layer`] for one neuron: sample it (or reuse its samples from
/// `store`, saving new ones there), then demix with the layer's first motif_nb. Neurons are
/// independent here, so a run split over machines (`--shard`) does this part where it likes
/// and hands the results to [`decide_layer`].
pub fn sample_and_demix(
    ctx: &LayerContext<'_>,
    neuron: usize,
    store: &dyn SampleStore,
    progress: &dyn Progress,
) -> Result<NeuronResult, SampleError> {
    Ok(first_round(ctx, neuron, store, progress)?.0)
}

/// [`sample_and_demix`], also returning the samples' routes (kept between rounds).
fn first_round(
    ctx: &LayerContext<'_>,
    k: usize,
    store: &dyn SampleStore,
    progress: &dyn Progress,
) -> Result<(NeuronResult, Vec<u32>), SampleError> {
    let layer = ctx.sub.layer();
    let (first, _) = motif_nb_bounds(ctx)?;
    if progress.cancelled() {
        return Err(SampleError::Cancelled);
    }
    progress.neuron_started(layer, k);
    let t0 = std::time::Instant::now();
    let (samples, mode) = match store.get(k)? {
        Some(s) => (s, crate::SamplingMode::Resumed),
        None => {
            let (s, mode) = sample_neuron(ctx, k, progress)?;
            store.put(k, &s)?;
            (s, mode)
        }
    };
    let sampling_s = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let routes = sample_routes(ctx, k, &samples)?;
    let crms = decouple_routed(ctx, k, &samples, first, &routes)?;
    let q = consensus_ratio(&crms);
    progress.neuron_finished(layer, k, crms.len());
    let result = NeuronResult {
        layer,
        neuron: k,
        mode,
        samples: samples.len(),
        motif_nb: first,
        tried: vec![(first, q)],
        crms,
        sampling_s,
        decoupling_s: t1.elapsed().as_secs_f64(),
    };
    Ok((result, routes))
}

/// Explain `neurons` of the layer: sample each (or reuse samples from `store`), demix with
/// motif_nb 1, 2, … until the layer accepts (automatic mode, at most `max`; the value with the
/// best mean ratio is kept if none is accepted), or with the fixed value.
pub fn explain_layer(
    ctx: &LayerContext<'_>,
    neurons: &[usize],
    store: &dyn SampleStore,
    progress: &dyn Progress,
) -> Result<LayerResult, SampleError> {
    let (_, max) = motif_nb_bounds(ctx)?;
    let route_cache = Mutex::new(HashMap::<usize, Vec<u32>>::new());
    let route_bytes = AtomicUsize::new(0);
    let results: Vec<NeuronResult> = neurons
        .par_iter()
        .map(|&k| -> Result<NeuronResult, SampleError> {
            let (result, routes) = first_round(ctx, k, store, progress)?;
            if max > result.motif_nb {
                // keep the routes for the next motif_nb while the layer's total stays small
                let bytes = routes.len() * 4;
                let kept = route_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
                if kept <= ROUTE_CACHE_BYTES {
                    if let Ok(mut cache) = route_cache.lock() {
                        cache.insert(k, routes);
                    }
                }
            }
            Ok(result)
        })
        .collect::<Result<_, _>>()?;
    decide_layer_with(ctx, results, |m, prev| {
        local_round(ctx, m, prev, store, progress, &route_cache)
    })
}

/// The rest of [`explain_layer`] once every neuron has its [`sample_and_demix`] result (in the
/// requested neuron order): the layer's acceptance test, and further motif_nb rounds over
/// the samples in `store` while it fails. Gives exactly what [`explain_layer`] gives.
pub fn decide_layer(
    ctx: &LayerContext<'_>,
    first_round: Vec<NeuronResult>,
    store: &dyn SampleStore,
    progress: &dyn Progress,
) -> Result<LayerResult, SampleError> {
    let cache = Mutex::new(HashMap::new());
    decide_layer_with(ctx, first_round, |m, prev| {
        local_round(ctx, m, prev, store, progress, &cache)
    })
}

/// [`decide_layer`] with the further rounds delegated: `next_round(m, previous)` must return,
/// for every neuron of `previous` in the same order, [`demix_round`] of it at motif_nb `m`.
/// A run spread over machines computes each shard's neurons there and gathers the rest.
pub fn decide_layer_with<E: From<SampleError>>(
    ctx: &LayerContext<'_>,
    mut results: Vec<NeuronResult>,
    mut next_round: impl FnMut(u32, &[NeuronResult]) -> Result<Vec<NeuronResult>, E>,
) -> Result<LayerResult, E> {
    let (first, max) = motif_nb_bounds(ctx)?;
    if let Some(r) = results
        .iter()
        .find(|r| r.tried.first().map(|t| t.0) != Some(first))
    {
        return Err(SampleError::Param {
            name: "first-round motif_nb",
            value: format!(
                "{:?} for neuron {}, where this layer starts at {first}",
                r.tried.first().map(|t| t.0),
                r.neuron
            ),
            expected: "every neuron's first round at the layer rule's first motif_nb",
        }
        .into());
    }
    let ratios = |rs: &[NeuronResult]| -> Vec<f32> {
        rs.iter()
            .filter(|r| r.samples > 0)
            .map(|r| r.tried.last().map_or(0.0, |t| t.1))
            .collect()
    };
    let mean = |v: &[f32]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f32>() / v.len() as f32
        }
    };
    let q = ratios(&results);
    let mut accepted = layer_accepts(&q, ctx.decouple.accept_ratio);
    let mut tried = vec![(first, mean(&q), accepted)];
    let mut best = (mean(&q), first, results.clone());
    let mut m = first;
    while !accepted && m < max {
        m += 1;
        let next = next_round(m, &results)?;
        if next.len() != results.len()
            || next
                .iter()
                .zip(&results)
                .any(|(a, b)| a.neuron != b.neuron || a.tried.last().map(|t| t.0) != Some(m))
        {
            return Err(SampleError::Param {
                name: "demixing round",
                value: format!("motif_nb {m}"),
                expected: "one demix_round result per neuron, in order",
            }
            .into());
        }
        results = next;
        let q = ratios(&results);
        accepted = layer_accepts(&q, ctx.decouple.accept_ratio);
        tried.push((m, mean(&q), accepted));
        if mean(&q) > best.0 || accepted {
            best = (mean(&q), m, results.clone());
        }
    }
    let (_, motif_nb, mut neurons_out) = if accepted { (0.0, m, results) } else { best };
    // every neuron keeps the history of ratios tried
    for r in &mut neurons_out {
        r.motif_nb = motif_nb;
    }
    Ok(LayerResult {
        motif_nb,
        tried,
        neurons: neurons_out,
    })
}

/// One neuron's next demixing round: its samples from `store` demixed with motif_nb `m`,
/// appended to the history of `prev` (its result of the round before).
pub fn demix_round(
    ctx: &LayerContext<'_>,
    prev: &NeuronResult,
    m: u32,
    store: &dyn SampleStore,
) -> Result<NeuronResult, SampleError> {
    routed_round(ctx, prev, m, store, None)
}

fn routed_round(
    ctx: &LayerContext<'_>,
    prev: &NeuronResult,
    m: u32,
    store: &dyn SampleStore,
    routes: Option<Vec<u32>>,
) -> Result<NeuronResult, SampleError> {
    let samples = store
        .get(prev.neuron)?
        .unwrap_or_else(|| SampleSet::empty(ctx.sub.input_len()));
    let t1 = std::time::Instant::now();
    let routes = match routes {
        Some(v) => v,
        None => sample_routes(ctx, prev.neuron, &samples)?,
    };
    let crms = decouple_routed(ctx, prev.neuron, &samples, m, &routes)?;
    let mut out = prev.clone();
    out.tried.push((m, consensus_ratio(&crms)));
    out.crms = crms;
    out.motif_nb = m;
    out.decoupling_s += t1.elapsed().as_secs_f64();
    Ok(out)
}

/// A round of every neuron in this process, reusing the routes kept from the first round.
fn local_round(
    ctx: &LayerContext<'_>,
    m: u32,
    prev: &[NeuronResult],
    store: &dyn SampleStore,
    progress: &dyn Progress,
    route_cache: &Mutex<HashMap<usize, Vec<u32>>>,
) -> Result<Vec<NeuronResult>, SampleError> {
    prev.par_iter()
        .map(|r| -> Result<NeuronResult, SampleError> {
            if progress.cancelled() {
                return Err(SampleError::Cancelled);
            }
            let cached = route_cache
                .lock()
                .ok()
                .and_then(|c| c.get(&r.neuron).cloned());
            routed_round(ctx, r, m, store, cached)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptance_rule() {
        assert!(layer_accepts(&[0.96, 0.97], 0.95));
        assert!(!layer_accepts(&[0.96, 0.93], 0.95));
        // ten neurons: t-test. Mean 0.97 with small spread: accepted
        let good: Vec<f32> = (0..10).map(|i| 0.96 + 0.002 * i as f32).collect();
        assert!(layer_accepts(&good, 0.95));
        // mean above 0.95 but huge spread: not significant
        let noisy: Vec<f32> = (0..10)
            .map(|i| if i % 2 == 0 { 0.6 } else { 1.32 })
            .collect();
        assert!(!layer_accepts(&noisy, 0.95));
        assert!(layer_accepts(&[], 0.95));
    }
}
