//! The strongest route follows the winning pool position down to the layer-1 motif.
#![allow(clippy::unwrap_used)]

use ndarray::{array, Array1, Array3};
use neuronmotif_cnn::{ConvLayer, Layer, Model, Padding};
use neuronmotif_core::Alphabet;

fn conv(name: &str, w: Array3<f32>, bias: f32) -> Layer {
    let out = w.shape()[0];
    Layer::Conv(ConvLayer {
        name: name.into(),
        weight: w,
        bias: Array1::from_elem(out, bias),
        has_bias: true,
        stride: 1,
        dilation: 1,
        padding: Padding::Valid,
    })
}

#[test]
fn route_lands_on_the_motif() {
    // conv1 scores "CAG" (+1 per matching base), pool 2, conv2 sums its two taps
    let mut w1 = Array3::<f32>::zeros((1, 4, 3));
    for (t, base) in [1usize, 0, 2].into_iter().enumerate() {
        w1[[0, base, t]] = 1.0;
    }
    let w2 = Array3::<f32>::from_elem((1, 1, 2), 1.0);
    let model = Model::new(
        Alphabet::ACGT,
        None,
        vec![
            conv("c1", w1, -2.0),
            Layer::Relu { threshold: 0.0 },
            Layer::MaxPool {
                kernel: 2,
                stride: 2,
            },
            conv("c2", w2, 0.0),
        ],
    )
    .unwrap();
    let sub = model.substructure(2).unwrap();
    assert_eq!(sub.input_len(), 6);
    // CAG at every possible start 0..=3 of a 6-bp input (T elsewhere)
    let mut seqs = Vec::new();
    for start in 0..4 {
        let mut s = [3u8; 6];
        s[start] = 1;
        s[start + 1] = 0;
        s[start + 2] = 2;
        seqs.push(s);
    }
    let codes = ndarray::Array2::from_shape_fn((4, 6), |(i, j)| seqs[i][j]);
    assert_eq!(
        sub.strongest_route(codes.view(), 0).unwrap(),
        vec![0, 1, 2, 3]
    );
    let _ = array![0];
}
