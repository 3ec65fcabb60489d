//! Shared test helpers: an f64 reference network evaluated with direct loops from the
//! *unfolded* layers, and random models.
#![allow(dead_code, clippy::unwrap_used, clippy::needless_range_loop)]

use ndarray::{Array1, Array2, Array3};
use neuronmotif_cnn::{BatchNormLayer, ConvLayer, Layer, Model, Padding};
use neuronmotif_core::{Alphabet, Base};
use proptest::prelude::*;

pub mod fixtures;
pub mod reference;

/// `[len][ch]` activations of one sequence.
pub type Map = Vec<Vec<f64>>;

/// Evaluate `model` up to conv layer `layer` on one canonical `[len][4]` input. Returns the
/// output of every conv (after the batchnorm that directly follows it, before activation), in
/// order, and the pre-activation value definition matches NeuronMotif's.
pub fn naive_conv_maps(model: &Model, layer: usize, x: &Map) -> Vec<Map> {
    // canonical -> model channel order
    let a = model.alphabet();
    let mut cur: Map = x
        .iter()
        .map(|row| {
            (0..4)
                .map(|ch| row[a.base_at(ch).unwrap().index()])
                .collect()
        })
        .collect();
    let mut maps = Vec::new();
    let layers = model.layers();
    let mut convs = 0;
    let mut i = 0;
    while i < layers.len() {
        match &layers[i] {
            Layer::Conv(c) => {
                cur = conv(c, &cur);
                convs += 1;
                // a batchnorm directly after (dropouts between) belongs to the conv's output
                let mut j = i + 1;
                while matches!(layers.get(j), Some(Layer::Dropout)) {
                    j += 1;
                }
                if let Some(Layer::BatchNorm(b)) = layers.get(j) {
                    cur = bn(b, &cur);
                    i = j;
                }
                maps.push(cur.clone());
                if convs == layer {
                    return maps;
                }
            }
            Layer::BatchNorm(b) => cur = bn(b, &cur),
            Layer::Relu { threshold } => {
                let t = f64::from(*threshold);
                cur = cur
                    .iter()
                    .map(|r| r.iter().map(|&v| if v > t { v } else { 0.0 }).collect())
                    .collect();
            }
            Layer::MaxPool { kernel, stride } => {
                let n = (cur.len() - kernel) / stride + 1;
                cur = (0..n)
                    .map(|q| {
                        (0..cur[0].len())
                            .map(|c| {
                                (0..*kernel)
                                    .map(|j| cur[q * stride + j][c])
                                    .fold(f64::NEG_INFINITY, f64::max)
                            })
                            .collect()
                    })
                    .collect();
            }
            _ => {}
        }
        i += 1;
    }
    maps
}

fn conv(c: &ConvLayer, x: &Map) -> Map {
    let (k, d, s) = (c.kernel(), c.dilation, c.stride);
    let span = d * (k - 1) + 1;
    let n = (x.len() - span) / s + 1;
    (0..n)
        .map(|p| {
            (0..c.out_channels())
                .map(|o| {
                    let mut v = f64::from(c.bias[o]);
                    for t in 0..k {
                        for ci in 0..c.in_channels() {
                            v += f64::from(c.weight[[o, ci, t]]) * x[p * s + t * d][ci];
                        }
                    }
                    v
                })
                .collect()
        })
        .collect()
}

fn bn(b: &BatchNormLayer, x: &Map) -> Map {
    x.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(c, &v)| {
                    f64::from(b.gamma[c]) * (v - f64::from(b.mean[c]))
                        / (f64::from(b.var[c]) + b.eps).sqrt()
                        + f64::from(b.beta[c])
                })
                .collect()
        })
        .collect()
}

/// The activation of neuron (layer, channel) at `pos`.
pub fn naive_activation(model: &Model, layer: usize, channel: usize, pos: usize, x: &Map) -> f64 {
    naive_conv_maps(model, layer, x).last().unwrap()[pos][channel]
}

pub fn onehot_to_map(b: &Array3<f32>, i: usize) -> Map {
    b.index_axis(ndarray::Axis(0), i)
        .outer_iter()
        .map(|r| r.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

/// A random conv chain description.
#[derive(Debug, Clone)]
pub struct Spec {
    pub blocks: Vec<Block>,
    pub agct: bool,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub kernel: usize,
    pub dilation: usize,
    pub stride: usize,
    pub out: usize,
    pub bn: bool,
    pub relu: Option<f32>,
    pub pool: Option<(usize, usize)>,
    pub dropout: bool,
}

pub fn spec_strategy(max_blocks: usize) -> impl Strategy<Value = Spec> {
    let block = (
        1usize..6,
        prop_oneof![4 => Just(1usize), 1 => Just(2usize)],
        prop_oneof![6 => Just(1usize), 1 => Just(2usize)],
        1usize..7,
        any::<bool>(),
        prop_oneof![3 => Just(Some(0.0f32)), 1 => Just(None), 1 => (-0.5f32..0.5).prop_map(Some)],
        prop_oneof![2 => Just(None), 3 => (1usize..4).prop_flat_map(|k| (Just(k), 1..=k)).prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(kernel, dilation, stride, out, bn, relu, pool, dropout)| Block {
            kernel,
            dilation,
            stride,
            out,
            bn,
            relu,
            pool,
            dropout,
        });
    (
        proptest::collection::vec(block, 1..=max_blocks),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(blocks, agct, seed)| Spec { blocks, agct, seed })
}

/// Deterministic pseudo-random values in [-1, 1).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

pub fn build(spec: &Spec) -> Model {
    let mut rng = Lcg(spec.seed);
    let mut layers = Vec::new();
    let mut cin = 4;
    let n = spec.blocks.len();
    for (bi, b) in spec.blocks.iter().enumerate() {
        let weight = Array3::from_shape_fn((b.out, cin, b.kernel), |_| rng.next());
        let bias = Array1::from_shape_fn(b.out, |_| rng.next() * 0.5);
        layers.push(Layer::Conv(ConvLayer {
            name: format!("c{bi}"),
            weight,
            bias,
            has_bias: true,
            stride: b.stride,
            dilation: b.dilation,
            padding: Padding::Valid,
        }));
        if b.dropout {
            layers.push(Layer::Dropout);
        }
        if b.bn {
            layers.push(Layer::BatchNorm(BatchNormLayer {
                name: format!("bn{bi}"),
                // negative gammas included on purpose
                gamma: Array1::from_shape_fn(b.out, |_| rng.next() * 1.5),
                beta: Array1::from_shape_fn(b.out, |_| rng.next() * 0.3),
                mean: Array1::from_shape_fn(b.out, |_| rng.next() * 0.3),
                var: Array1::from_shape_fn(b.out, |_| rng.next().abs() + 0.2),
                eps: 1e-3,
            }));
        }
        if bi + 1 < n {
            if let Some(t) = b.relu {
                layers.push(Layer::Relu { threshold: t });
            }
            if let Some((k, s)) = b.pool {
                layers.push(Layer::MaxPool {
                    kernel: k,
                    stride: s,
                });
            }
        }
        cin = b.out;
    }
    let alphabet = if spec.agct {
        Alphabet::AGCT
    } else {
        Alphabet::ACGT
    };
    Model::new(alphabet, None, layers).unwrap()
}

pub fn random_codes(n: usize, len: usize, seed: u64) -> Array2<u8> {
    let mut rng = Lcg(seed);
    Array2::from_shape_fn((n, len), |_| {
        ((rng.next() + 1.0) * 2.0).clamp(0.0, 3.99) as u8
    })
}

pub fn codes_to_onehot(codes: &Array2<u8>) -> Array3<f32> {
    let mut out = Array3::zeros((codes.nrows(), codes.ncols(), 4));
    for ((i, j), &c) in codes.indexed_iter() {
        out[[i, j, c as usize]] = 1.0;
    }
    out
}

pub fn base_index(b: Base) -> usize {
    b.index()
}
