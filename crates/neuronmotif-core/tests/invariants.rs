#![allow(clippy::unwrap_used)]
//! Invariants of the DNA and matrix types, checked on random values.

use neuronmotif_core::onehot::{self, SequenceSpace};
use neuronmotif_core::testing::{dna_seq, ppm};
use neuronmotif_core::{Alphabet, Background, CountMatrix, DnaSeq, Ppm, SegmentParams};
use proptest::prelude::*;

fn alphabet() -> impl Strategy<Value = Alphabet> {
    Just(vec!['A', 'C', 'G', 'T'])
        .prop_shuffle()
        .prop_map(|letters| Alphabet::parse(&letters.iter().collect::<String>()).unwrap())
}

proptest! {
    #[test]
    fn sequence_reverse_complement_is_an_involution(s in dna_seq(0..200)) {
        prop_assert_eq!(s.reverse_complement().reverse_complement(), s);
    }

    #[test]
    fn text_round_trip(s in dna_seq(0..200)) {
        prop_assert_eq!(DnaSeq::parse(&s.to_string()).unwrap(), s.clone());
        prop_assert_eq!(DnaSeq::parse(&s.to_string().to_lowercase()).unwrap(), s);
    }

    #[test]
    fn one_hot_round_trip(seqs in (1usize..60).prop_flat_map(|len| proptest::collection::vec(dna_seq(len..len + 1), 1..20))) {
        let b = onehot::encode(&seqs).unwrap();
        prop_assert_eq!(b.sum(), (seqs.len() * seqs[0].len()) as f32);
        prop_assert_eq!(onehot::decode(b.view()).unwrap(), seqs);
    }

    #[test]
    fn alphabet_reorder_round_trips(seqs in proptest::collection::vec(dna_seq(12..13), 1..10), a in alphabet()) {
        let b = onehot::encode(&seqs).unwrap();
        let model = a.from_canonical(b.view());
        // The model-order batch puts base X's 1 in channel channel_of(X).
        for (s, m) in seqs.iter().zip(model.outer_iter()) {
            for (pos, base) in s.bases().enumerate() {
                prop_assert_eq!(m[[pos, a.channel_of(base)]], 1.0);
            }
        }
        prop_assert_eq!(a.to_canonical(model.view()), b);
    }

    #[test]
    fn ppm_reverse_complement_is_an_involution(m in ppm(1..40)) {
        prop_assert_eq!(m.reverse_complement().reverse_complement(), m.clone());
        // and it reverses the consensus strand
        let rc_ic: Vec<f64> = m.reverse_complement().ic_bits().into_iter().rev().collect();
        for (a, b) in rc_ic.iter().zip(m.ic_bits()) {
            prop_assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn ic_is_within_zero_and_two(m in ppm(1..40)) {
        for v in m.ic_bits() {
            prop_assert!((0.0..=2.0).contains(&v), "{}", v);
        }
    }

    #[test]
    fn smoothing_keeps_rows_stochastic_and_lowers_ic(m in ppm(1..30), n in 0.0f64..1e4, mm in 0.01f64..200.0) {
        let s = m.smooth(n, mm, &Background::UNIFORM).unwrap();
        for (row, (ic_s, ic_m)) in s.view().outer_iter().zip(s.ic_bits().into_iter().zip(m.ic_bits())) {
            prop_assert!((row.sum() - 1.0).abs() < 1e-12);
            prop_assert!(row.iter().all(|&p| p > 0.0));
            // mixing toward uniform never adds information (IC is concave-down in p)
            prop_assert!(ic_s <= ic_m + 1e-9);
        }
    }

    #[test]
    fn trimming_never_removes_an_informative_position(m in ppm(1..40), thr in 0.0f64..2.0) {
        let ic = m.ic_bits();
        match m.trim_range(thr) {
            None => prop_assert!(ic.iter().all(|&v| v < thr)),
            Some(r) => {
                for (i, &v) in ic.iter().enumerate() {
                    if v >= thr { prop_assert!(r.contains(&i)); }
                }
                prop_assert!(ic[r.start] >= thr && ic[r.end - 1] >= thr);
            }
        }
    }

    #[test]
    fn segments_are_disjoint_ordered_and_long_enough(m in ppm(1..80), n in 1.0f64..5000.0) {
        for params in [SegmentParams::report(), SegmentParams::dictionary()] {
            let segs = m.segments(n, &params).unwrap();
            for w in segs.windows(2) {
                prop_assert!(w[0].range.end < w[1].range.start);
            }
            for s in &segs {
                // a matrix narrower than a segment is kept whole or not at all
                let shortest = params.min_len.min(m.width());
                prop_assert!(s.range.len() >= shortest && s.range.end <= m.width());
                if m.width() < params.min_len {
                    prop_assert_eq!(s.range.clone(), 0..m.width());
                }
            }
        }
    }

    #[test]
    fn counts_of_sequences_give_their_consensus(s in dna_seq(1..50), copies in 1usize..5) {
        let seqs = vec![s.clone(); copies];
        let p = CountMatrix::from_seqs(&seqs).unwrap().to_ppm().unwrap();
        prop_assert_eq!(p.consensus(), s.clone());
        prop_assert_eq!(p.total_ic_bits(), 2.0 * s.len() as f64);
        prop_assert_eq!(Ppm::from_seq(&s), p);
    }

    #[test]
    fn enumeration_index_matches_sequence(len in 1usize..9, idx in any::<usize>()) {
        let sp = SequenceSpace::new(len).unwrap();
        let i = idx % sp.count();
        let s = sp.sequence(i).unwrap();
        // lexicographic index is the base-4 number of the codes
        let back = s.codes().iter().fold(0usize, |acc, &c| acc * 4 + c as usize);
        prop_assert_eq!(back, i);
    }
}
