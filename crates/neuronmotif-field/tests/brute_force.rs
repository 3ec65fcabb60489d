//! The algebra agrees with brute-force index tracing on random chains: for every layer output,
//! the set of input positions it depends on is computed by propagating dependency sets through
//! the layers one by one, and compared with the closed-form windows.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use neuronmotif_field::{ConvGeom, Geometry, Op, PoolGeom, ShiftId};
use proptest::prelude::*;

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..6, 1usize..4, prop_oneof![4 => Just(1usize), 1 => Just(2usize)]).prop_map(
            |(kernel, dilation, stride)| Op::Conv {
                name: "c".into(),
                out_channels: 2,
                geom: ConvGeom { kernel, stride, dilation },
            }
        ),
        2 => (1usize..5).prop_flat_map(|k| (Just(k), 1..=k))
            .prop_map(|(kernel, stride)| Op::Pool(PoolGeom { kernel, stride })),
        1 => Just(Op::Transparent),
    ]
}

fn chain_strategy() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op_strategy(), 1..8).prop_map(|mut ops| {
        // a chain ends at its last conv; make sure there is one
        if !ops.iter().any(|o| matches!(o, Op::Conv { .. })) {
            ops.push(Op::conv("c", 2, 3));
        }
        ops
    })
}

/// Positions each output of `op` depends on, given the dependency sets of its input.
fn trace(op: &Op, input: &[BTreeSet<usize>]) -> Vec<BTreeSet<usize>> {
    let (k, s, d) = match op {
        Op::Conv { geom, .. } => (geom.kernel, geom.stride, geom.dilation),
        Op::Pool(p) => (p.kernel, p.stride, 1),
        Op::Transparent => (1, 1, 1),
    };
    let mut out = Vec::new();
    let mut p = 0;
    while p * s + (k - 1) * d < input.len() {
        let mut set = BTreeSet::new();
        for j in 0..k {
            set.extend(input[p * s + j * d].iter().copied());
        }
        out.push(set);
        p += 1;
    }
    out
}

proptest! {
    #[test]
    fn windows_match_index_tracing(ops in chain_strategy(), extra in 0usize..12) {
        let g = Geometry::new(ops.clone()).unwrap();
        let last = g.conv_count();
        let len = g.receptive_field(last).unwrap().len + extra;
        let mut deps: Vec<BTreeSet<usize>> = (0..len).map(|i| BTreeSet::from([i])).collect();
        for (i, op) in ops.iter().enumerate() {
            deps = trace(op, &deps);
            let field = g.op_field(i).unwrap();
            prop_assert_eq!(g.output_len(i, len), if deps.is_empty() { None } else { Some(deps.len()) });
            for (p, set) in deps.iter().enumerate() {
                let w = field.window(p);
                prop_assert_eq!(*set.first().unwrap(), w.start);
                prop_assert_eq!(*set.last().unwrap() + 1, w.end);
            }
        }
        // an input exactly RF long gives exactly one output of the last conv
        let rf = g.receptive_field(last).unwrap().len;
        prop_assert_eq!(g.output_len(g.conv_op_index(last).unwrap(), rf), Some(1));
        prop_assert_eq!(g.output_len(g.conv_op_index(last).unwrap(), rf - 1), None);
    }

    #[test]
    fn unit_starts_are_exactly_the_feeding_units(ops in chain_strategy(), extra in 0usize..6) {
        let g = Geometry::new(ops.clone()).unwrap();
        for layer in 2..=g.conv_count() {
            let lo = g.conv_op_index(layer - 1).unwrap();
            let hi = g.conv_op_index(layer).unwrap();
            // trace from conv L-1's output: each of its units is its own dependency
            let n_lo = g.output_len(lo, g.receptive_field(layer).unwrap().len + extra).unwrap();
            let mut deps: Vec<BTreeSet<usize>> = (0..n_lo).map(|i| BTreeSet::from([i])).collect();
            for op in &ops[lo + 1..=hi] {
                deps = trace(op, &deps);
            }
            let pools = g.pools_feeding(layer).unwrap();
            let (_, _, geom) = g.conv(layer).unwrap();
            let j_pre = g.receptive_field(layer - 1).unwrap().jump;
            prop_assert_eq!(j_pre, g.jump_pre(layer).unwrap());
            for (o, set) in deps.iter().enumerate() {
                let mut got = BTreeSet::new();
                let radices: Vec<usize> = pools.iter().map(|(_, p)| p.kernel).collect();
                let combos: usize = radices.iter().product();
                for t in 0..geom.kernel {
                    for mut c in 0..combos {
                        let r: Vec<usize> = radices.iter().map(|&k| { let v = c % k; c /= k; v }).collect();
                        let start = g.unit_start(layer, o, t, &r).unwrap();
                        prop_assert_eq!(start % j_pre, 0);
                        got.insert(start / j_pre);
                    }
                }
                prop_assert_eq!(&got, set);
            }
        }
    }

    #[test]
    fn shift_offsets_compose_unit_starts(ops in chain_strategy()) {
        // Follow tap 0 down from the neuron, choosing the in-pool offset of every pool from the
        // shift digits; the layer-1 unit reached starts at offsets_bp(id).
        let g = Geometry::new(ops).unwrap();
        let top = g.conv_count();
        let space = g.shift_space(top, 1).unwrap();
        prop_assume!(space.count() <= 512);
        for id in 0..space.count() {
            let digits = space.digits_of(ShiftId(id)).unwrap();
            prop_assert_eq!(space.id_of(&digits).unwrap(), ShiftId(id));
            let mut pos = 0; // output position at the current layer
            let mut d = digits.iter();
            for layer in (2..=top).rev() {
                let npools = g.pools_feeding(layer).unwrap().len();
                // digits are most-significant-first = top pools first; within a gap the pool
                // nearest conv `layer` comes first, so reverse to chain order
                let mut r: Vec<usize> = d.by_ref().take(npools).map(|&v| v as usize).collect();
                r.reverse();
                let start = g.unit_start(layer, pos, 0, &r).unwrap();
                pos = start / g.receptive_field(layer - 1).unwrap().jump;
            }
            // pools before conv 1 (if any) act on the raw input
            let mut rest: Vec<usize> = d.map(|&v| v as usize).collect();
            rest.reverse();
            let lead_pools: Vec<PoolGeom> = g.ops()[..g.conv_op_index(1).unwrap()]
                .iter().filter_map(|o| if let Op::Pool(p) = o { Some(*p) } else { None }).collect();
            prop_assert_eq!(rest.len(), lead_pools.len());
            // conv 1 output `pos` starts at pos * J(conv1); then lead pools map further down
            let mut bp = pos * g.receptive_field(1).unwrap().jump;
            // jump_before accounts for lead pools already; add their own in-pool offsets
            for (i, r) in rest.iter().enumerate() {
                let pool_op = g.ops().iter().enumerate().filter(|(_, o)| matches!(o, Op::Pool(_))).nth(i).unwrap().0;
                bp += r * g.jump_before(pool_op);
            }
            prop_assert_eq!(space.offsets_bp(ShiftId(id)).unwrap()[0] as usize, bp);
        }
    }
}
