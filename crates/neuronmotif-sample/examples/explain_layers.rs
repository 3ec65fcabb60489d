//! Explain layers 1..=L of a Keras HDF5 or model file and print each CRM's consensus.
//! `cargo run --release -p neuronmotif-sample --example explain_layers -- MODEL L [motif_nb_last]`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use neuronmotif_cnn::Model;
use neuronmotif_core::Alphabet;
use neuronmotif_sample::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = &args[0];
    let upto: usize = args[1].parse().unwrap();
    let last_m: Option<u32> = args.get(2).map(|s| s.parse().unwrap());
    let model = if path.ends_with(".h5") || path.ends_with(".hdf5") {
        neuronmotif_cnn::keras::import(path, Alphabet::ACGT).unwrap()
    } else {
        Model::load(path).unwrap()
    };
    let sampler = SamplerParams::default().check().unwrap();
    let mut prev: Option<LayerTable> = None;
    let t_all = Instant::now();
    for layer in 1..=upto {
        let t = Instant::now();
        let sub = model.substructure(layer).unwrap();
        let seeds = prev.as_ref().map(|t| SeedSource::new(t, &sampler));
        let dec = DecoupleParams {
            motif_nb: match (layer == upto, last_m) {
                (true, Some(m)) => MotifNb::Fixed(m),
                _ => MotifNb::Auto { max: 3 },
            },
            ..Default::default()
        }
        .check()
        .unwrap();
        let ctx = LayerContext {
            sub: &sub,
            geometry: model.geometry(),
            seeds: seeds.as_ref(),
            sampler: &sampler,
            decouple: &dec,
            seed: 1,
        };
        let mut crms = Vec::new();
        let neurons: Vec<usize> = (0..sub.channels()).collect();
        let lr = explain_layer(&ctx, &neurons, &MemoryStore::default(), &Silent).unwrap();
        println!(
            "layer {layer}: motif_nb {} (tried {:?})",
            lr.motif_nb, lr.tried
        );
        for r in lr.neurons {
            let k = r.neuron;
            println!("layer {layer} neuron {k}: {:?}, {} samples, motif_nb {} (tried {:?}), {} CRMs, {:.2}s + {:.2}s", r.mode, r.samples, r.motif_nb, r.tried, r.crms.len(), r.sampling_s, r.decoupling_s);
            for c in r.crms.iter().take(6) {
                println!(
                    "   {} {} {}  ic {:.1}  route {:?}",
                    c.id(),
                    c.alt_name(),
                    c.ppm.consensus(),
                    c.ppm.total_ic_bits(),
                    c.route
                );
            }
            crms.extend(r.crms);
        }
        println!("layer {layer}: {:.2} s", t.elapsed().as_secs_f64());
        prev = Some(LayerTable::new(&sub, crms));
    }
    println!("total {:.2} s", t_all.elapsed().as_secs_f64());
}
