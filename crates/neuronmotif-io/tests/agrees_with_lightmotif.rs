//! Our parsers agree with an independent implementation, lightmotif-io 0.10, on the shared
//! JASPAR exports and the original's MEME database: same ids, names and matrices.
//!
//! lightmotif reads bracketed JASPAR counts as integers, so the nine JASPAR 2024 records with
//! fractional counts are compared through TRANSFAC (which it reads as floats) and MEME
//! instead; the tests count the records each comparison covers so a silent skip cannot hide a
//! regression.

mod common;

use std::io::Cursor;

use common::fixture;
use lightmotif::abc::{Dna, Nucleotide, Symbol};
use neuronmotif_io::{read_path, Format};

/// lightmotif's DNA column of each canonical base (its order is A, C, T, G, N).
const LIGHTMOTIF_COLUMN: [usize; 4] = [0, 1, 3, 2];

#[test]
fn lightmotif_column_order_is_what_we_assume() {
    let columns =
        [Nucleotide::A, Nucleotide::C, Nucleotide::G, Nucleotide::T].map(|n| n.as_index());
    assert_eq!(columns, LIGHTMOTIF_COLUMN);
}

#[test]
fn meme_files_agree() {
    for relative in [
        "jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme",
        "jaspar/JASPAR2026_CORE_vertebrates_non-redundant.meme",
        "neuronmotif-demos/jaspar2020_core_vertebrates_redundant.meme",
        "tomtom/queries_dev.meme",
    ] {
        let Some(path) = fixture(relative) else {
            continue;
        };
        let ours = read_path(&path, Some(Format::Meme)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let theirs: Vec<_> = lightmotif_io::meme::Reader::<_, Dna>::new(Cursor::new(text))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ours.len(), theirs.len(), "{relative}");
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.id, b.id());
            assert_eq!(a.name.as_deref(), b.name(), "{}", a.id);
            assert_eq!(a.url.as_deref(), b.url(), "{}", a.id);
            let matrix = b.matrix().matrix();
            assert_eq!(a.width(), matrix.rows(), "{}", a.id);
            for (pos, row) in a.matrix.values().outer_iter().enumerate() {
                for (base, &p) in row.iter().enumerate() {
                    let q = f64::from(matrix[pos][LIGHTMOTIF_COLUMN[base]]);
                    assert!((p - q).abs() < 1e-6, "{} position {pos}: {p} vs {q}", a.id);
                }
            }
        }
        eprintln!("{relative}: {} motifs agree", ours.len());
    }
}

#[test]
fn jaspar_bracketed_counts_agree_where_lightmotif_reads_them() {
    let Some(path) = fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.jaspar") else {
        return;
    };
    let ours = read_path(&path, Some(Format::Jaspar)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // One record per chunk, so a record lightmotif refuses does not end its iteration.
    let chunks: Vec<String> = text.split('>').skip(1).map(|c| format!(">{c}")).collect();
    assert_eq!(chunks.len(), ours.len());
    let (mut compared, mut refused) = (0, 0);
    for (a, chunk) in ours.iter().zip(&chunks) {
        let parsed = lightmotif_io::jaspar16::Reader::<_, Dna>::new(Cursor::new(chunk.as_str()))
            .next()
            .unwrap();
        let counts = a.matrix.values();
        let fractional = counts.iter().any(|v| v.fract() != 0.0);
        let Ok(b) = parsed else {
            // lightmotif's limit: integer counts.
            assert!(fractional, "{} refused by lightmotif", a.id);
            refused += 1;
            continue;
        };
        assert_eq!(a.id, b.id());
        assert_eq!(a.name.as_deref(), b.description(), "{}", a.id);
        let matrix = b.matrix().matrix();
        assert_eq!(a.width(), matrix.rows());
        for (pos, row) in counts.outer_iter().enumerate() {
            for (base, &c) in row.iter().enumerate() {
                assert_eq!(
                    c,
                    f64::from(matrix[pos][LIGHTMOTIF_COLUMN[base]]),
                    "{}",
                    a.id
                );
            }
        }
        compared += 1;
    }
    eprintln!("jaspar: {compared} records agree, {refused} refused by lightmotif");
    assert_eq!((compared, refused), (870, 9));
}

#[test]
fn transfac_counts_agree() {
    let Some(path) = fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.transfac") else {
        return;
    };
    let ours = read_path(&path, Some(Format::Transfac)).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let theirs: Vec<lightmotif_io::transfac::Record<Dna>> =
        lightmotif_io::transfac::read(std::io::BufReader::new(file))
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(Some(a.id.as_str()), b.accession());
        assert_eq!(a.name.as_deref(), b.id(), "{}", a.id);
        let data = b.data().unwrap();
        assert_eq!(a.width(), data.rows());
        for (pos, row) in a.matrix.values().outer_iter().enumerate() {
            for (base, &c) in row.iter().enumerate() {
                let theirs = f64::from(data[pos][LIGHTMOTIF_COLUMN[base]]);
                assert!(
                    (c - theirs).abs() <= 1e-6 * c.max(1.0),
                    "{}: {c} vs {theirs}",
                    a.id
                );
            }
        }
    }
    eprintln!("transfac: {} records agree", ours.len());
}
