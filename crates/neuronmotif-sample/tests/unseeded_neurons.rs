//! A neuron that no CRM below excites is still searched, from random sequences: its bias alone
//! may switch it on. One that nothing can switch on still ends with no CRM.
#![allow(clippy::unwrap_used)]

use neuronmotif_cnn::testing::random_model;
use neuronmotif_cnn::{Layer, Model};
use neuronmotif_sample::{NeuronResult, SamplingMode};

mod common;

/// demo2's first two blocks with random weights, then layer-2 neuron 0 made inhibitory
/// everywhere with bias `bias0` and neuron 1 with bias `bias1` (its batchnorm is left as
/// random_model made it: gamma > 0, so the signs carry through).
fn model(bias0: f32, bias1: f32) -> Model {
    let m = random_model(&[(7, 6, 2), (3, 3, 1)], 5);
    let mut layers = m.layers().to_vec();
    let conv2 = layers
        .iter()
        .rposition(|l| matches!(l, Layer::Conv(_)))
        .unwrap();
    if let Layer::Conv(c) = &mut layers[conv2] {
        for n in 0..2 {
            c.weight
                .index_axis_mut(ndarray::Axis(0), n)
                .mapv_inplace(|w| -w.abs() - 0.01);
        }
        c.bias[0] = bias0;
        c.bias[1] = bias1;
    }
    if let Layer::BatchNorm(bn) = &mut layers[conv2 + 1] {
        // identity batchnorm for neurons 0 and 1, so the bias is the activation's ceiling
        for n in 0..2 {
            bn.gamma[n] = 1.0;
            bn.beta[n] = 0.0;
            bn.mean[n] = 0.0;
            bn.var[n] = (1.0 - bn.eps) as f32;
        }
    }
    Model::new(m.alphabet(), None, layers).unwrap()
}

/// Neurons 0 and 1 of layer 2, seeded from layer 1's CRMs.
fn layer2_samples(model: &Model) -> Vec<NeuronResult> {
    let params = common::quick_params();
    let picks = |layer, channels| {
        if layer == 1 {
            (0..channels).collect()
        } else {
            vec![0, 1]
        }
    };
    let mut layers = common::explain_layers(model, 2, &params, 3, picks);
    layers.pop().unwrap().neurons
}

#[test]
fn a_neuron_switched_on_by_its_bias_alone_is_sampled() {
    let r = layer2_samples(&model(0.3, -0.05));
    // neuron 0: every input can only lower it from 0.3, so many random sequences fire it
    assert!(
        matches!(r[0].mode, SamplingMode::Genetic { .. }),
        "{:?}",
        r[0].mode
    );
    assert!(r[0].samples > 0, "no sample for the bias-driven neuron");
    assert!(!r[0].crms.is_empty(), "no CRM for the bias-driven neuron");
    // neuron 1: a negative bias and only inhibitory inputs: it can never fire
    assert_eq!(r[1].samples, 0);
    assert!(r[1].crms.is_empty());
}
