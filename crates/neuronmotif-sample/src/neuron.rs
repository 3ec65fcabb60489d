//! One neuron, end to end: samples, demixing with the motif_nb choice, CRMs.

use std::time::Instant;

use neuronmotif_cnn::{Batch, Substructure};
use neuronmotif_field::Geometry;

use crate::decouple::decouple;
use crate::params::{MotifNb, ValidDecoupleParams, ValidSamplerParams};
use crate::rng::Streams;
use crate::sampling::{sample, SamplingMode};
use crate::seeding::SeedSource;
use crate::{Crm, Progress, SampleError, SampleSet};

/// What explaining one neuron produced.
#[derive(Debug, Clone)]
pub struct NeuronResult {
    /// Conv layer (1-based).
    pub layer: usize,
    /// Neuron (channel).
    pub neuron: usize,
    /// How the samples were obtained.
    pub mode: SamplingMode,
    /// Number of activating samples.
    pub samples: usize,
    /// The motif_nb the CRMs were demixed with.
    pub motif_nb: u32,
    /// `max conact / max act` for each motif_nb tried, in order (the acceptance criterion).
    pub tried: Vec<(u32, f32)>,
    /// The CRMs, in shift order.
    pub crms: Vec<Crm>,
    /// Seconds spent sampling.
    pub sampling_s: f64,
    /// Seconds spent demixing.
    pub decoupling_s: f64,
}

/// Everything a neuron needs that is shared by a layer.
#[derive(Debug)]
pub struct LayerContext<'a> {
    /// The model up to this layer.
    pub sub: &'a Substructure,
    /// The model's geometry.
    pub geometry: &'a Geometry,
    /// The previous layer's CRMs (None for layer 1, or to start from random sequences).
    pub seeds: Option<&'a SeedSource>,
    /// Sampling parameters.
    pub sampler: &'a ValidSamplerParams,
    /// Demixing parameters.
    pub decouple: &'a ValidDecoupleParams,
    /// The run seed.
    pub seed: u64,
}

/// Generate the activating samples of one neuron.
pub fn sample_neuron(
    ctx: &LayerContext<'_>,
    neuron: usize,
    progress: &dyn Progress,
) -> Result<(SampleSet, SamplingMode), SampleError> {
    let streams = Streams {
        seed: ctx.seed,
        layer: ctx.sub.layer(),
        neuron,
    };
    sample(
        ctx.sub,
        ctx.geometry,
        neuron,
        ctx.seeds,
        ctx.sampler,
        streams,
        progress,
    )
}

/// Demix a neuron's samples with a given motif_nb.
pub fn decouple_neuron(
    ctx: &LayerContext<'_>,
    neuron: usize,
    samples: &SampleSet,
    motif_nb: u32,
) -> Result<Vec<Crm>, SampleError> {
    let routes = sample_routes(ctx, neuron, samples)?;
    decouple_routed(ctx, neuron, samples, motif_nb, &routes)
}

/// Where each sample's strongest route from the neuron enters the input (bp offset); the same
/// for every motif_nb, so the automatic choice computes it once.
pub(crate) fn sample_routes(
    ctx: &LayerContext<'_>,
    neuron: usize,
    samples: &SampleSet,
) -> Result<Vec<u32>, SampleError> {
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ctx
        .sub
        .strongest_route(Batch::Codes(samples.codes.view()), neuron)?)
}

/// [`decouple_neuron`] with the samples' routes already known.
pub(crate) fn decouple_routed(
    ctx: &LayerContext<'_>,
    neuron: usize,
    samples: &SampleSet,
    motif_nb: u32,
    routes: &[u32],
) -> Result<Vec<Crm>, SampleError> {
    let streams = Streams {
        seed: ctx.seed,
        layer: ctx.sub.layer(),
        neuron,
    };
    let space = ctx.geometry.shift_space(ctx.sub.layer(), motif_nb)?;
    decouple(
        ctx.sub,
        &space,
        samples,
        neuron,
        ctx.decouple,
        streams,
        routes,
    )
}

/// NeuronMotif's acceptance statistic: the best CRM consensus activation over the best sampled
/// activation.
pub fn consensus_ratio(crms: &[Crm]) -> f32 {
    let act = crms
        .iter()
        .map(|c| c.act_max)
        .fold(f32::NEG_INFINITY, f32::max);
    let con = crms
        .iter()
        .map(|c| c.conact)
        .fold(f32::NEG_INFINITY, f32::max);
    if act > 0.0 {
        con / act
    } else {
        0.0
    }
}

/// Explain one neuron: sample, then demix with a fixed motif_nb or, in automatic mode, with
/// 1, 2, … until the consensus ratio reaches `accept_ratio` (keeping the best ratio seen if it
/// never does, at most `max`).
///
/// The original chose one motif_nb for a whole layer with a t-test over neurons and no upper
/// bound; here each neuron is judged on its own criterion value (see docs/algorithm.md), which
/// lets a run resume neuron by neuron and lets neurons differ.
pub fn explain_neuron(
    ctx: &LayerContext<'_>,
    neuron: usize,
    progress: &dyn Progress,
) -> Result<NeuronResult, SampleError> {
    let layer = ctx.sub.layer();
    progress.neuron_started(layer, neuron);
    let t0 = Instant::now();
    let (samples, mode) = sample_neuron(ctx, neuron, progress)?;
    let sampling_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let pooled = ctx.geometry.shift_space(layer, 1)?.count() > 1;
    let candidates: Vec<u32> = match ctx.decouple.motif_nb {
        MotifNb::Fixed(m) => vec![m],
        MotifNb::Auto { max } => {
            if pooled {
                (1..=max).collect()
            } else {
                vec![1]
            }
        }
    };
    let mut best: Option<(f32, u32, Vec<Crm>)> = None;
    let mut tried = Vec::new();
    let routes = sample_routes(ctx, neuron, &samples)?;
    for m in candidates {
        if progress.cancelled() {
            return Err(SampleError::Cancelled);
        }
        let crms = decouple_routed(ctx, neuron, &samples, m, &routes)?;
        let q = consensus_ratio(&crms);
        tried.push((m, q));
        let better = best.as_ref().is_none_or(|(bq, _, _)| q > *bq);
        if better {
            best = Some((q, m, crms));
        }
        if f64::from(q) >= ctx.decouple.accept_ratio {
            break;
        }
    }
    let (_, motif_nb, crms) = best.unwrap_or((0.0, 1, Vec::new()));
    progress.neuron_finished(layer, neuron, crms.len());
    Ok(NeuronResult {
        layer,
        neuron,
        mode,
        samples: samples.len(),
        motif_nb,
        tried,
        crms,
        sampling_s,
        decoupling_s: t1.elapsed().as_secs_f64(),
    })
}
