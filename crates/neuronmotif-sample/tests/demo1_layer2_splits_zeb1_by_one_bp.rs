//! demo1 (the original's first demo): its layer-2 neuron demixes into two CRMs, both the ZEB1
//! core CAGGTG, offset by exactly one base pair from each other.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use neuronmotif_core::Alphabet;
use neuronmotif_sample::*;

fn demo(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/neuronmotif-demos")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("notice: {} is absent; skipping", p.display());
        None
    }
}

#[test]
fn demo1_layer2_splits_zeb1_by_one_bp() {
    let Some(path) = demo("demo1.weight.hdf5") else {
        return;
    };
    let model = neuronmotif_cnn::keras::import(path, Alphabet::ACGT).unwrap();
    let sampler = SamplerParams::default().check().unwrap();
    let dec = DecoupleParams::default().check().unwrap();
    let mut prev = None;
    let mut last = None;
    for layer in 1..=2 {
        let sub = model.substructure(layer).unwrap();
        let seeds = prev.as_ref().map(|t| SeedSource::new(t, &sampler));
        let ctx = LayerContext {
            sub: &sub,
            geometry: model.geometry(),
            seeds: seeds.as_ref(),
            sampler: &sampler,
            decouple: &dec,
            seed: 7,
        };
        let neurons: Vec<usize> = (0..sub.channels()).collect();
        let r = explain_layer(&ctx, &neurons, &MemoryStore::default(), &Silent).unwrap();
        let crms: Vec<Crm> = r.neurons.iter().flat_map(|n| n.crms.clone()).collect();
        // RF 5 and 8 are below 11: every sequence was evaluated
        assert!(r.neurons.iter().all(|n| n.mode == SamplingMode::Exhaustive));
        prev = Some(LayerTable {
            layer,
            rf: sub.input_len(),
            neurons: sub.channels(),
            crms: crms.clone(),
        });
        last = Some(crms);
    }
    let crms = last.unwrap();
    assert_eq!(crms.len(), 2, "T(2) = 2 shift states");
    let pos: Vec<usize> = crms
        .iter()
        .map(|c| {
            let s = c.ppm.consensus().to_string();
            s.find("CAGGTG")
                .unwrap_or_else(|| panic!("{s} lacks the ZEB1 core CAGGTG"))
        })
        .collect();
    assert_eq!(
        pos[0].abs_diff(pos[1]),
        1,
        "the two CRMs are the same motif one bp apart: {pos:?}"
    );
    // the two shift states carry most of the activating sequences each, and their consensus
    // activates the neuron about as much as the best sample (the acceptance criterion)
    for c in &crms {
        assert!(
            c.n > 100 && c.conact > 0.8 * c.act_max,
            "{} {}",
            c.id(),
            c.alt_name()
        );
    }
}
