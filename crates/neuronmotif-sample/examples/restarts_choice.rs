//! How many Lloyd iterations should each k-means++ initialisation get before the best is
//! refined (`DecoupleParams::kmeans_probe_iter`): 0 (the original's MiniBatchKMeans chooses by
//! the initial inertia), 5 (the default), or all (every initialisation refined fully)? On the
//! same samples of every demo2 neuron (layers 2-5, each demixed with motif_nb 1-3), compare
//! the motif_nb acceptance statistic (max conact / max act, mean over neurons), the route
//! purity of the CRMs, and the demixing time.
//! `cargo run --release -p neuronmotif-sample --example restarts_choice -- ../shared/fixtures/neuronmotif-demos`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use neuronmotif_core::Alphabet;
use neuronmotif_sample::*;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/fixtures/neuronmotif-demos".into());
    let model =
        neuronmotif_cnn::keras::import(format!("{dir}/demo2.weight.hdf5"), Alphabet::ACGT).unwrap();
    let sampler = SamplerParams::default().check().unwrap();
    let mut prev: Option<LayerTable> = None;
    println!("layer\tmotif_nb\tprobe_iter\tmean_ratio\tpurity\tseconds");
    for layer in 1..=5 {
        let sub = model.substructure(layer).unwrap();
        let seeds = prev.as_ref().map(|t| SeedSource::new(t, &sampler));
        let variant = |probe: usize, m: u32| {
            DecoupleParams {
                motif_nb: MotifNb::Fixed(m),
                kmeans_probe_iter: probe,
                ..Default::default()
            }
            .check()
            .unwrap()
        };
        let base = variant(100, 1);
        let ctx = LayerContext {
            sub: &sub,
            geometry: model.geometry(),
            seeds: seeds.as_ref(),
            sampler: &sampler,
            decouple: &base,
            seed: 1,
        };
        let samples: Vec<SampleSet> = (0..sub.channels())
            .map(|k| sample_neuron(&ctx, k, &Silent).unwrap().0)
            .collect();
        let mut keep = None;
        for m in 1..=3u32 {
            if layer == 1 {
                break;
            }
            for probe in [100, 5, 0] {
                let dec = variant(probe, m);
                let ctx = LayerContext {
                    decouple: &dec,
                    ..ctx
                };
                let t = Instant::now();
                let crms: Vec<Vec<Crm>> = samples
                    .iter()
                    .enumerate()
                    .map(|(k, s)| decouple_neuron(&ctx, k, s, m).unwrap())
                    .collect();
                let secs = t.elapsed().as_secs_f64();
                let ratios: Vec<f64> = crms
                    .iter()
                    .filter(|c| !c.is_empty())
                    .map(|c| f64::from(consensus_ratio(c)))
                    .collect();
                let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
                let all: Vec<Crm> = crms.iter().flatten().cloned().collect();
                println!(
                    "{layer}\t{m}\t{probe}\t{mean:.4}\t{:.4}\t{secs:.2}",
                    route_purity(&all)
                );
                if m == 1 && probe == 100 {
                    keep = Some(crms);
                }
            }
        }
        // the next layer is seeded from motif_nb 1 CRMs (layer 1: from its single CRM each)
        let crms = match keep {
            Some(c) => c,
            None => samples
                .iter()
                .enumerate()
                .map(|(k, s)| decouple_neuron(&ctx, k, s, 1).unwrap())
                .collect(),
        };
        prev = Some(LayerTable::new(&sub, crms.into_iter().flatten().collect()));
    }
}
