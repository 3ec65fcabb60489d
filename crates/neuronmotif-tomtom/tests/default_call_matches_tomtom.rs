//! Claim: with default parameters (ed, q <= 0.5) we report the same rows as
//! `tomtom queries_dev.meme JASPAR2024...meme` (MEME 5.4.1, the NeuronMotif call), except for
//! rows whose q-value sits at the threshold (|q - 0.5| < 0.05 in either table), where the pi0
//! estimates may disagree; and the TSV writer/reader round-trip those rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};

use common::{fixture, read_meme, read_table};
use neuronmotif_tomtom::tsv::{read_tsv, write_tsv};
use neuronmotif_tomtom::{TargetDb, TomtomParams};

#[test]
fn default_rows_match_tomtom_default_call() {
    let (Some(qp), Some(tp), Some(mp)) = (
        fixture("tomtom/queries_dev.meme"),
        fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme"),
        fixture("tomtom/tomtom541_default.tsv"),
    ) else {
        return;
    };
    // MEME skipped the queries wider than 100 columns; compare on the others.
    let queries: Vec<_> = read_meme(&qp)
        .into_iter()
        .filter(|q| q.width() <= 100)
        .collect();
    let db = TargetDb::new(read_meme(&tp), &TomtomParams::new().check().unwrap()).unwrap();
    let ours = db.compare_batch(&queries).unwrap();
    let meme = read_table(&mp);

    let key = |q: &str, t: &str| (q.to_string(), t.to_string());
    let our_q: HashMap<_, f64> = ours
        .iter()
        .flatten()
        .map(|m| (key(&m.query_id, &m.target_id), m.q_value))
        .collect();
    let meme_q: HashMap<_, f64> = meme
        .iter()
        .map(|r| (key(&r.query_id, &r.target_id), r.q_value.unwrap()))
        .collect();
    let ours_set: HashSet<_> = our_q.keys().cloned().collect();
    let meme_set: HashSet<_> = meme_q.keys().cloned().collect();
    let only_ours: Vec<_> = ours_set.difference(&meme_set).collect();
    let only_meme: Vec<_> = meme_set.difference(&ours_set).collect();
    eprintln!(
        "default call: MEME {} rows, ours {} rows, {} only ours, {} only MEME",
        meme_set.len(),
        ours_set.len(),
        only_ours.len(),
        only_meme.len()
    );
    for k in &only_ours {
        assert!((our_q[*k] - 0.5).abs() < 0.05, "{k:?} q {}", our_q[*k]);
    }
    for k in &only_meme {
        assert!((meme_q[*k] - 0.5).abs() < 0.05, "{k:?} q {}", meme_q[*k]);
    }
    assert_eq!(meme_set.len(), 3041);
    assert!(only_ours.len() + only_meme.len() <= 30);

    // Writer -> reader round trip of our rows.
    let mut buf = Vec::new();
    write_tsv(
        &mut buf,
        ours.iter().flatten(),
        "neuronmotif tomtom queries_dev.meme JASPAR2024.meme",
    )
    .unwrap();
    let back = read_tsv(buf.as_slice()).unwrap();
    assert_eq!(back.len(), ours_set.len());
    let first = ours.iter().flatten().next().unwrap();
    assert_eq!(back[0].target_id, &*first.target_id);
    assert_eq!(back[0].offset, first.offset);
    assert_eq!(back[0].orientation, first.orientation);
}
