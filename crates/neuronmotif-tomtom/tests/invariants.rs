//! Invariants of the comparison on random motifs: probabilities in range, E = p * targets,
//! Tomtom's row order, thresholds, determinism across thread counts, and clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use neuronmotif_core::testing::ppm;
use neuronmotif_core::Ppm;
use neuronmotif_tomtom::{Distance, TargetDb, Threshold, TomtomError, TomtomMotif, TomtomParams};
use proptest::prelude::*;

fn motifs(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<TomtomMotif>> {
    proptest::collection::vec((ppm(1..10), proptest::option::of(1.0f64..500.0)), n).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (p, n))| TomtomMotif::new(format!("T{i}"), p, n))
            .collect()
    })
}

fn distance() -> impl Strategy<Value = Distance> {
    prop_oneof![
        Just(Distance::Euclidean),
        Just(Distance::Pearson),
        Just(Distance::Sandelin)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn values_in_range_and_rows_in_tomtom_order(
        targets in motifs(2..30),
        query in ppm(1..16),
        dist in distance(),
        rc in any::<bool>(),
        min_overlap in 1usize..6,
    ) {
        let params = TomtomParams::new()
            .distance(dist)
            .reverse_complements(rc)
            .min_overlap(min_overlap)
            .threshold(Threshold::QValue(1.0))
            .check()
            .unwrap();
        let n = targets.len();
        let db = TargetDb::new(targets, &params).unwrap();
        let hits = db.compare(&TomtomMotif::new("q", query, Some(20.0))).unwrap();
        // With q <= 1 every target is reported, once.
        prop_assert_eq!(hits.len(), n);
        let mut seen = vec![false; n];
        for m in &hits {
            prop_assert!(!std::mem::replace(&mut seen[m.target_index], true));
            prop_assert!((0.0..=1.0).contains(&m.p_value), "p {}", m.p_value);
            prop_assert!((0.0..=1.0).contains(&m.q_value), "q {}", m.q_value);
            prop_assert!((m.e_value - m.p_value * n as f64).abs() <= 1e-12 * n as f64);
            prop_assert!(m.overlap >= 1);
            if !rc {
                prop_assert_eq!(m.orientation, neuronmotif_tomtom::Orientation::Forward);
            }
        }
        for w in hits.windows(2) {
            prop_assert!(w[0].p_value <= w[1].p_value);
            prop_assert!(w[0].q_value <= w[1].q_value);
        }
    }

    #[test]
    fn thresholds_cut_a_prefix(
        targets in motifs(2..20),
        query in ppm(2..12),
        q_thresh in 0.0f64..1.0,
        e_thresh in 0.0f64..20.0,
    ) {
        let all_params = TomtomParams::new().threshold(Threshold::QValue(1.0)).check().unwrap();
        let db = TargetDb::new(targets, &all_params).unwrap();
        let query = TomtomMotif::new("q", query, None);
        let all = db.compare(&query).unwrap();
        let by_q = db.with_threshold(Threshold::QValue(q_thresh)).unwrap().compare(&query).unwrap();
        let want: Vec<_> = all.iter().filter(|m| m.q_value <= q_thresh).cloned().collect();
        prop_assert_eq!(by_q, want);
        let by_e = db.with_threshold(Threshold::EValue(e_thresh)).unwrap().compare(&query).unwrap();
        let want: Vec<_> = all.iter().filter(|m| m.e_value <= e_thresh).cloned().collect();
        prop_assert_eq!(by_e, want);
    }

    #[test]
    fn a_target_matches_itself_best_at_offset_zero(targets in motifs(3..20), pick in any::<prop::sample::Index>()) {
        let params = TomtomParams::new().threshold(Threshold::QValue(1.0)).check().unwrap();
        let i = pick.index(targets.len());
        let query = targets[i].clone();
        let db = TargetDb::new(targets, &params).unwrap();
        let hits = db.compare(&query).unwrap();
        let own = hits.iter().find(|m| m.target_index == i).unwrap();
        // Aligned with itself every query column meets its best pool column, so no target of
        // the same width (hence the same null) scores higher: none has a smaller p-value.
        for m in hits.iter().filter(|m| m.target_consensus.len() == query.width()) {
            prop_assert!(own.p_value <= m.p_value, "{} {} vs own {}", m.target_id, m.p_value, own.p_value);
        }
        prop_assert_eq!(own.overlap, query.width());
        prop_assert_eq!(own.offset, 0);
    }
}

#[test]
fn batch_is_deterministic_whatever_the_thread_count() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
    let mut random_motif = |i: usize| {
        let w = rng.gen_range(3..15);
        let a = ndarray::Array2::from_shape_fn((w, 4), |_| rng.gen::<f64>().powi(3) + 0.01);
        TomtomMotif::new(format!("M{i}"), Ppm::from_weights(a).unwrap(), Some(30.0))
    };
    let targets: Vec<TomtomMotif> = (0..70).map(&mut random_motif).collect();
    let queries: Vec<TomtomMotif> = (0..25).map(|i| random_motif(100 + i)).collect();
    let db = TargetDb::new(targets, &TomtomParams::new().check().unwrap()).unwrap();
    let sequential: Vec<_> = queries.iter().map(|q| db.compare(q).unwrap()).collect();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let batch = pool.install(|| db.compare_batch(&queries)).unwrap();
        assert_eq!(batch, sequential, "{threads} threads");
        // Compact rows: the same matches, field by field, through the database's strings.
        let compact = pool.install(|| db.search_batch(&queries)).unwrap();
        assert_eq!(compact.len(), queries.len());
        for (found, rows) in compact.iter().zip(&sequential) {
            assert_eq!(found.rows.len(), rows.len());
            for (r, m) in found.rows.iter().zip(rows) {
                assert_eq!(db.target_id(r.target_index as usize), &*m.target_id);
                assert_eq!(
                    db.target_consensus(r.target_index as usize, r.orientation),
                    &*m.target_consensus
                );
                assert_eq!(
                    (i64::from(r.offset), r.overlap as usize, r.orientation),
                    (m.offset, m.overlap, m.orientation)
                );
                assert_eq!(
                    [r.p_value, r.e_value, r.q_value].map(f64::to_bits),
                    [m.p_value, m.e_value, m.q_value].map(f64::to_bits)
                );
                assert_eq!(
                    (&*found.query_id, &*found.query_consensus),
                    (&*m.query_id, &*m.query_consensus)
                );
            }
            let expanded: Vec<_> = found.matches(&db).collect();
            assert_eq!(&expanded, rows);
        }
        assert_eq!(
            compact,
            queries
                .iter()
                .map(|q| db.search(q).unwrap())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn errors_name_the_motif() {
    let params = TomtomParams::new().check().unwrap();
    assert_eq!(
        TargetDb::new(Vec::new(), &params).unwrap_err(),
        TomtomError::EmptyDatabase
    );
    let bad = TomtomMotif::new("MA_EMPTY", Ppm::uniform(0), None);
    let e = TargetDb::new(vec![bad.clone()], &params).unwrap_err();
    assert_eq!(
        e,
        TomtomError::ZeroWidth {
            id: "MA_EMPTY".into()
        }
    );
    assert!(e.to_string().contains("MA_EMPTY"));
    let db = TargetDb::new(vec![TomtomMotif::new("ok", Ppm::uniform(4), None)], &params).unwrap();
    assert!(matches!(
        db.compare(&bad),
        Err(TomtomError::ZeroWidth { .. })
    ));
    let nan = TomtomMotif::new("q_nan", Ppm::uniform(3), Some(f64::NAN));
    let e = db.compare(&nan).unwrap_err();
    assert!(e.to_string().contains("q_nan") && e.to_string().contains("nsites"));
    // The batch reports the first failing query in input order.
    let qs = vec![TomtomMotif::new("fine", Ppm::uniform(3), None), nan, bad];
    assert!(matches!(
        db.compare_batch(&qs),
        Err(TomtomError::BadNsites { .. })
    ));
}

#[test]
fn uniform_query_is_never_significant() {
    // Every column of a uniform query scores the same against any target column after the
    // median shift... up to the pool's spread; no target should be significant.
    let targets: Vec<TomtomMotif> = (0..60)
        .map(|i| {
            let a = ndarray::Array2::from_shape_fn((8, 4), |(p, b)| {
                if (p + i) % 4 == b {
                    0.9
                } else {
                    0.1 / 3.0
                }
            });
            TomtomMotif::new(format!("T{i}"), Ppm::new(a).unwrap(), Some(50.0))
        })
        .collect();
    let db = TargetDb::new(
        targets,
        &TomtomParams::new()
            .distance(Distance::Pearson)
            .check()
            .unwrap(),
    )
    .unwrap();
    let hits = db
        .compare(&TomtomMotif::new("u", Ppm::uniform(10), None))
        .unwrap();
    assert!(hits.is_empty(), "{hits:?}");
}
