//! Shared by the integration tests: explaining a model's first layers in memory, each layer
//! seeded from the one before, as the pipeline does on disk.
#![allow(clippy::unwrap_used, dead_code)]

use neuronmotif_cnn::Model;
use neuronmotif_sample::*;

/// Short genetic searches, and motif_nb fixed at 1: enough for tests on small models.
pub fn quick_params() -> (ValidSamplerParams, ValidDecoupleParams) {
    let sampler = SamplerParams {
        generations: 8,
        ..Default::default()
    }
    .check()
    .unwrap();
    let dec = DecoupleParams {
        motif_nb: MotifNb::Fixed(1),
        ..Default::default()
    }
    .check()
    .unwrap();
    (sampler, dec)
}

/// Explain conv layers `1..=last` of `model` in order with `seed`; `neurons(layer, channels)`
/// picks each layer's neurons. The result of each layer, in layer order.
pub fn explain_layers(
    model: &Model,
    last: usize,
    (sampler, dec): &(ValidSamplerParams, ValidDecoupleParams),
    seed: u64,
    neurons: impl Fn(usize, usize) -> Vec<usize>,
) -> Vec<LayerResult> {
    let mut prev: Option<LayerTable> = None;
    let mut out = Vec::new();
    for layer in 1..=last {
        let sub = model.substructure(layer).unwrap();
        let seeds = prev.as_ref().map(|t| SeedSource::new(t, sampler));
        let ctx = LayerContext {
            sub: &sub,
            geometry: model.geometry(),
            seeds: seeds.as_ref(),
            sampler,
            decouple: dec,
            seed,
        };
        let picked = neurons(layer, sub.channels());
        let r = explain_layer(&ctx, &picked, &MemoryStore::default(), &Silent).unwrap();
        let crms = r.neurons.iter().flat_map(|n| n.crms.clone()).collect();
        prev = Some(LayerTable::new(&sub, crms));
        out.push(r);
    }
    out
}
