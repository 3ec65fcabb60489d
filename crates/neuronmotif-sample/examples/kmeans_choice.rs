//! Which clustering recovers shifts better? Route purity of the CRMs (the fraction of a CRM's
//! samples whose exact argmax route starts at the CRM's most common offset, weighted by CRM
//! size) for weighted vs unweighted k-means on the demo models, plus linfa's (unweighted)
//! k-means on the first demixing level.
//! `cargo run --release -p neuronmotif-sample --example kmeans_choice -- ../shared/fixtures/neuronmotif-demos`
#![allow(clippy::unwrap_used)]

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use neuronmotif_cnn::Batch;
use neuronmotif_core::Alphabet;
use neuronmotif_sample::*;

thread_local! {
    static FIRST: std::cell::RefCell<Vec<(f64, f64, f64)>> = const { std::cell::RefCell::new(Vec::new()) };
    static TREE: std::cell::RefCell<Vec<(f64, f64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/fixtures/neuronmotif-demos".into());
    for (file, upto) in [("demo1.weight.hdf5", 2usize), ("demo2.weight.hdf5", 5)] {
        let model =
            neuronmotif_cnn::keras::import(format!("{dir}/{file}"), Alphabet::ACGT).unwrap();
        let sampler = SamplerParams::default().check().unwrap();
        let base = DecoupleParams {
            motif_nb: MotifNb::Fixed(1),
            ..Default::default()
        };
        let mut prev: Option<LayerTable> = None;
        for layer in 1..=upto {
            let sub = model.substructure(layer).unwrap();
            let seeds = prev.as_ref().map(|t| SeedSource::new(t, &sampler));
            let dec = base.clone().check().unwrap();
            let ctx = LayerContext {
                sub: &sub,
                geometry: model.geometry(),
                seeds: seeds.as_ref(),
                sampler: &sampler,
                decouple: &dec,
                seed: 1,
            };
            let mut crms_all = Vec::new();
            for k in 0..sub.channels() {
                let (samples, _) = sample_neuron(&ctx, k, &Silent).unwrap();
                let weighted = decouple_neuron(&ctx, k, &samples, 1).unwrap();
                if layer >= 2 && !samples.is_empty() {
                    let unw = DecoupleParams {
                        weighted: false,
                        ..base.clone()
                    }
                    .check()
                    .unwrap();
                    let ctx_u = LayerContext {
                        decouple: &unw,
                        ..ctx
                    };
                    let unweighted = decouple_neuron(&ctx_u, k, &samples, 1).unwrap();
                    // first level only: linfa k-means vs ours, purity of route offsets
                    let space = model.geometry().shift_space(layer, 1).unwrap();
                    let top = space.digits()[0];
                    let n = samples.len().min(4096);
                    let sub_s = samples.select(&(0..n).collect::<Vec<_>>());
                    let fm = sub
                        .feature_map(Batch::Codes(sub_s.codes.view()), top.conv_layer)
                        .unwrap();
                    let (a, b, c) = fm.dim();
                    let x = fm
                        .into_shape_with_order((a, b * c))
                        .unwrap()
                        .mapv(f64::from);
                    let routes = sub
                        .strongest_route(Batch::Codes(sub_s.codes.view()), k)
                        .unwrap();
                    let model_l = linfa_clustering::KMeans::params(top.pool_size)
                        .fit(&DatasetBase::from(x.clone()))
                        .unwrap();
                    let labels = model_l.predict(&x);
                    let linfa_purity =
                        label_purity(labels.as_slice().unwrap(), &routes, top.pool_size);
                    let xf = x.mapv(|v| v as f32);
                    let mut rng =
                        <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
                    let ours = |w: &[f32], rng: &mut rand_xoshiro::Xoshiro256PlusPlus| {
                        let c = kmeans::fit(xf.view(), w, top.pool_size, 3, 100, 100, rng);
                        label_purity(&kmeans::assign(xf.view(), &c), &routes, top.pool_size)
                    };
                    let ours_w = ours(
                        &sub_s.act.iter().map(|a| a.max(1e-12)).collect::<Vec<_>>(),
                        &mut rng,
                    );
                    let ours_u = ours(&vec![1.0; n], &mut rng);
                    FIRST.with(|f| f.borrow_mut().push((ours_w, ours_u, linfa_purity)));
                    TREE.with(|f| {
                        f.borrow_mut()
                            .push((route_purity(&weighted), route_purity(&unweighted)))
                    });
                    println!(
                        "{file} layer {layer} neuron {k}: {} samples, {} CRMs | route purity: weighted {:.3}  unweighted {:.3} | consensus ratio: weighted {:.3}  unweighted {:.3} | first level: ours weighted {:.3}, ours unweighted {:.3}, linfa {:.3}",
                        samples.len(), weighted.len(), route_purity(&weighted), route_purity(&unweighted), consensus_ratio(&weighted), consensus_ratio(&unweighted), ours_w, ours_u, linfa_purity
                    );
                }
                crms_all.extend(weighted);
            }
            prev = Some(LayerTable::new(&sub, crms_all));
        }
    }
    let f = FIRST.with(|f| f.borrow().clone());
    let t = TREE.with(|t| t.borrow().clone());
    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = v.collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    println!(
        "mean over {} neurons: first level purity ours weighted {:.3}, ours unweighted {:.3}, linfa {:.3}; whole tree purity weighted {:.3}, unweighted {:.3}; weighted better in {} of {} neurons (tree)",
        f.len(),
        mean(&mut f.iter().map(|x| x.0)),
        mean(&mut f.iter().map(|x| x.1)),
        mean(&mut f.iter().map(|x| x.2)),
        mean(&mut t.iter().map(|x| x.0)),
        mean(&mut t.iter().map(|x| x.1)),
        t.iter().filter(|x| x.0 > x.1).count(),
        t.len()
    );
}

/// Route purity of a flat labelling.
fn label_purity(labels: &[usize], routes: &[u32], k: usize) -> f64 {
    let mut total = 0usize;
    for j in 0..k {
        let mut counts = std::collections::HashMap::new();
        for (l, r) in labels.iter().zip(routes) {
            if *l == j {
                *counts.entry(*r).or_insert(0usize) += 1;
            }
        }
        total += counts.values().max().copied().unwrap_or(0);
    }
    total as f64 / labels.len().max(1) as f64
}
