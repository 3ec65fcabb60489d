//! Any motif written in any format reads back as the same motif, within that format's
//! precision, and the written text is recognised as that format.

// Strategy and helper code outside `#[test]` functions panics on failure by design.
#![allow(clippy::unwrap_used)]

use neuronmotif_core::testing::ppm;
use neuronmotif_core::CountMatrix;
use neuronmotif_io::{
    read_str, write_string, ChenPrecision, Format, MatrixKind, Motif, MotifMatrix, WriteOptions,
};
use proptest::prelude::*;

/// Motifs with unique ids; half hold probabilities (with an integer nsites), half counts.
fn motifs() -> impl Strategy<Value = Vec<Motif>> {
    let one = (
        "[A-Za-z0-9_.:-]{1,10}",
        proptest::option::of("[A-Za-z0-9_:()-]{1,10}"),
        ppm(1..20),
        any::<bool>(),
        1u32..5000,
        proptest::option::of("https://[a-z]{1,8}\\.org/[A-Za-z0-9]{1,6}"),
    );
    proptest::collection::vec(one, 1..4).prop_map(|items| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, (id, name, ppm, as_counts, n, url))| {
                let n = f64::from(n);
                let mut motif = if as_counts {
                    // Fractional counts with three decimals, as JASPAR ships a few.
                    let counts = ppm.view().mapv(|p| (p * n * 1000.0).round() / 1000.0);
                    let counts = CountMatrix::new(counts).unwrap();
                    Motif::new(
                        format!("{id}_{i}"),
                        MotifMatrix::from_counts(counts).unwrap(),
                    )
                } else {
                    let mut m = Motif::from_ppm(format!("{id}_{i}"), ppm);
                    m.nsites = Some(n);
                    m
                };
                motif.name = name;
                motif.url = url;
                motif
            })
            .collect()
    })
}

fn max_ppm_difference(a: &Motif, b: &Motif) -> f64 {
    (&a.ppm().into_array() - &b.ppm().into_array())
        .mapv(f64::abs)
        .fold(0.0, |m: f64, &d| m.max(d))
}

/// The `nsites` a count format implies for what we wrote.
fn jaspar_nsites(m: &Motif) -> Option<f64> {
    match m.matrix.kind() {
        MatrixKind::Probabilities => m.nsites,
        MatrixKind::Counts => Some((m.matrix.values().row(0).sum() * (1.0 + 1e-9)).floor()),
    }
}

fn write_read(format: Format, motifs: &[Motif], options: &WriteOptions) -> Vec<Motif> {
    let text = write_string(format, motifs, options).unwrap();
    let all_square = motifs.iter().all(|m| m.width() == 4);
    if !(all_square && matches!(format, Format::Pfm | Format::Chen)) {
        // A file of only 4 x 4 matrices can be pfm or chen; otherwise detection must be right.
        assert_eq!(Format::detect(&text), Some(format), "{text}");
    }
    let back = read_str(&text, Some(format)).unwrap();
    assert_eq!(back.len(), motifs.len());
    for (a, b) in motifs.iter().zip(&back) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.width(), b.width());
    }
    back
}

proptest! {
    // Integration tests have no lib.rs beside them for proptest's regression files.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn meme_keeps_probabilities_to_six_decimals(motifs in motifs()) {
        let back = write_read(Format::Meme, &motifs, &WriteOptions::default());
        for (a, b) in motifs.iter().zip(&back) {
            prop_assert_eq!(&a.name, &b.name);
            prop_assert_eq!(&a.url, &b.url);
            prop_assert_eq!(jaspar_nsites(a), b.nsites);
            prop_assert_eq!(b.matrix.kind(), MatrixKind::Probabilities);
            // 6 decimals, then renormalised.
            prop_assert!(max_ppm_difference(a, b) <= 3e-6, "{}", max_ppm_difference(a, b));
        }
        // Once rounded, the text is stable.
        let first = write_string(Format::Meme, &motifs, &WriteOptions::default()).unwrap();
        let second = write_string(Format::Meme, &back, &WriteOptions::default()).unwrap();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn count_formats_keep_counts_exactly(motifs in motifs()) {
        for format in [Format::Jaspar, Format::Pfm, Format::Transfac] {
            let back = write_read(format, &motifs, &WriteOptions::default());
            for (a, b) in motifs.iter().zip(&back) {
                prop_assert_eq!(&a.name, &b.name);
                prop_assert_eq!(b.matrix.kind(), MatrixKind::Counts);
                prop_assert_eq!(jaspar_nsites(a), b.nsites, "{} {}", format, a.id);
                match a.matrix.kind() {
                    MatrixKind::Counts => prop_assert_eq!(a.matrix.values(), b.matrix.values()),
                    MatrixKind::Probabilities => prop_assert!(max_ppm_difference(a, b) <= 1e-9),
                }
            }
        }
    }

    #[test]
    fn homer_keeps_probabilities_exactly(motifs in motifs()) {
        let back = write_read(Format::Homer, &motifs, &WriteOptions::default());
        for (a, b) in motifs.iter().zip(&back) {
            prop_assert!(max_ppm_difference(a, b) <= 1e-12);
            prop_assert!(b.metadata_value("log_odds_threshold").is_some());
            if a.matrix.kind() == MatrixKind::Probabilities {
                prop_assert_eq!(a.matrix.values(), b.matrix.values());
            }
        }
    }

    #[test]
    fn chen_is_exact_by_default_and_per_mille_on_request(motifs in motifs()) {
        let back = write_read(Format::Chen, &motifs, &WriteOptions::default());
        for (a, b) in motifs.iter().zip(&back) {
            prop_assert_eq!(&a.name, &b.name);
            prop_assert_eq!(a.matrix.values(), b.matrix.values());
        }
        let per_mille = WriteOptions::default().with_chen_precision(ChenPrecision::PerMille);
        let text = write_string(Format::Chen, &motifs, &per_mille).unwrap();
        let back = read_str(&text, Some(Format::Chen)).unwrap();
        for (a, b) in motifs.iter().zip(&back) {
            // Truncation loses < 0.001 per entry; renormalising the ~997-1000 total adds < 0.004.
            prop_assert!(max_ppm_difference(a, b) <= 5e-3, "{}", max_ppm_difference(a, b));
            prop_assert_eq!(b.matrix.kind(), MatrixKind::Counts);
        }
    }
}
