//! Receptive fields and shift counts of the architectures in the NeuronMotif paper, computed
//! from layer lists written here (the expected numbers are the paper's and the original code's).
#![allow(clippy::unwrap_used)]

use neuronmotif_field::{Geometry, LayerPlan, Op};

/// conv/pool list: `(kernel, pool after)`; pool 1 means none.
fn chain(spec: &[(usize, usize)]) -> Geometry {
    let mut ops = Vec::new();
    for (i, &(k, p)) in spec.iter().enumerate() {
        ops.push(Op::conv(format!("conv{}", i + 1), 8, k));
        ops.push(Op::Transparent); // batchnorm
        ops.push(Op::Transparent); // relu
        if p > 1 {
            ops.push(Op::pool(p));
        }
        ops.push(Op::Transparent); // dropout
    }
    Geometry::new(ops).unwrap()
}

fn rfs(g: &Geometry) -> Vec<usize> {
    (1..=g.conv_count())
        .map(|l| g.receptive_field(l).unwrap().len)
        .collect()
}

fn shifts(g: &Geometry, m: u32) -> Vec<u64> {
    (1..=g.conv_count())
        .map(|l| g.shift_space(l, m).unwrap().count())
        .collect()
}

#[test]
fn basset() {
    let g = chain(&[(19, 3), (11, 4), (7, 4)]);
    assert_eq!(rfs(&g), [19, 51, 132]);
    assert_eq!(shifts(&g, 1), [1, 3, 12]);
}

#[test]
fn deepsea() {
    let g = chain(&[(8, 4), (8, 4), (8, 4)]);
    assert_eq!(rfs(&g), [8, 39, 163]);
    assert_eq!(shifts(&g, 1), [1, 4, 16]);
}

#[test]
fn bd10_and_dd10() {
    // conv 7 then nine 3s; pool 2 after conv 2, 4, 6, 8 (and 10).
    let mut spec = vec![(7, 1)];
    for i in 2..=10 {
        spec.push((3, if i % 2 == 0 { 2 } else { 1 }));
    }
    let g = chain(&spec);
    assert_eq!(rfs(&g), [7, 9, 14, 18, 28, 36, 56, 72, 112, 144]);
    assert_eq!(shifts(&g, 1), [1, 1, 2, 2, 4, 4, 8, 8, 16, 16]);
    assert_eq!(g.shift_space(10, 2).unwrap().count(), 256);
}

#[test]
fn original_demo_models() {
    assert_eq!(rfs(&chain(&[(5, 2), (2, 1)])), [5, 8]);
    assert_eq!(shifts(&chain(&[(5, 2), (2, 1)]), 1), [1, 2]);
    let demo2 = chain(&[(7, 2), (3, 2), (3, 2), (3, 2), (3, 1)]);
    assert_eq!(rfs(&demo2), [7, 12, 22, 42, 82]);
    assert_eq!(shifts(&demo2, 1), [1, 2, 4, 8, 16]);
    assert_eq!(demo2.shift_space(5, 2).unwrap().count(), 256);
}

#[test]
fn deepsea_layer3_offsets_are_0_to_15() {
    // Worked example of docs/receptive-fields.md: digits (r2, r1), offset 4·r2 + r1.
    let g = chain(&[(8, 4), (8, 4), (8, 4)]);
    let s = g.shift_space(3, 1).unwrap();
    assert_eq!(s.digits().len(), 2);
    assert_eq!((s.digits()[0].conv_layer, s.digits()[0].jump_bp), (2, 4));
    assert_eq!((s.digits()[1].conv_layer, s.digits()[1].jump_bp), (1, 1));
    let mut offs: Vec<u64> = (0..16)
        .map(|i| s.offsets_bp(neuronmotif_field::ShiftId(i)).unwrap()[0])
        .collect();
    assert_eq!(offs[6], 4 + 2); // id 6 = digits (1, 2)
    offs.sort();
    assert_eq!(offs, (0..16).collect::<Vec<_>>());
}

#[test]
fn original_start_formula() {
    // start(t, r) = t·J_post + r·J_pre for Basset layer 3: J_pre = 3, J_post = 12.
    let g = chain(&[(19, 3), (11, 4), (7, 4)]);
    assert_eq!((g.jump_pre(3).unwrap(), g.jump_post(3).unwrap()), (3, 12));
    assert_eq!(g.pool_size_below(3).unwrap(), 4);
    for t in 0..7 {
        for r in 0..4 {
            assert_eq!(g.unit_start(3, 0, t, &[r]).unwrap(), t * 12 + r * 3);
        }
    }
    // the largest start plus RF(L-1) is RF(L)
    assert_eq!(g.unit_start(3, 0, 6, &[3]).unwrap() + 51, 132);
    assert!(g.unit_start(3, 0, 7, &[0]).is_err());
    assert!(g.unit_start(3, 0, 0, &[4]).is_err());
    assert!(g.unit_start(1, 0, 0, &[]).is_err());
}

#[test]
fn plan_table_and_errors() {
    let g = chain(&[(19, 3), (11, 4), (7, 4)]);
    let plan = LayerPlan::new(&g).unwrap();
    assert_eq!(plan.rows()[2].rf, 132);
    assert_eq!(plan.rows()[2].shifts_twice, Some(144));
    assert!(plan.to_string().contains("132"));
    assert!(g.receptive_field(4).is_err());
    assert!(g.receptive_field(0).is_err());
    let e = Geometry::new(vec![Op::conv("c", 1, 0)]).unwrap_err();
    assert!(e.to_string().contains("conv \"c\""), "{e}");
}
