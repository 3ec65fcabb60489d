//! Every JASPAR export in the shared fixtures, and the original NeuronMotif's MEME database,
//! reads completely with the expected motif counts, and the three 2024 files agree with each
//! other on ids, names, counts and nsites.

mod common;

use common::{fixture, MOTIF_DATABASES};
use neuronmotif_io::{read_path, Format, MatrixKind, MotifFile, ReadOptions, Strands};

#[test]
fn every_database_reads_with_its_motif_count_and_detected_format() {
    for (relative, count) in MOTIF_DATABASES {
        let Some(path) = fixture(relative) else {
            continue;
        };
        let file = MotifFile::read_path(&path, &ReadOptions::default()).unwrap();
        assert_eq!(file.motifs.len(), count, "{relative}");
        let expected_format = match path.extension().and_then(|e| e.to_str()) {
            Some("meme") => Format::Meme,
            Some("jaspar") => Format::Jaspar,
            Some("transfac") => Format::Transfac,
            other => panic!("unexpected extension {other:?}"),
        };
        assert_eq!(file.format, expected_format, "{relative}");
        for m in &file.motifs {
            assert!(m.width() > 0);
            let source = m.source.as_ref().unwrap();
            assert_eq!(source.format, expected_format);
            assert!(source.file.ends_with(relative.rsplit('/').next().unwrap()));
        }
        if expected_format == Format::Meme {
            let header = file.meme_header.unwrap();
            assert_eq!(header.alphabet.as_deref(), Some("ACGT"));
            assert_eq!(header.strands, Strands::Both);
            let bg = header.background.unwrap();
            assert_eq!(bg.written(), [0.25; 4]);
            assert!(file
                .motifs
                .iter()
                .all(|m| m.nsites.is_some() && m.background.is_some()));
        }
    }
}

#[test]
fn jaspar_2024_files_agree_on_ids_names_counts_and_nsites() {
    let (Some(meme), Some(jaspar), Some(transfac)) = (
        fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme"),
        fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.jaspar"),
        fixture("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.transfac"),
    ) else {
        return;
    };
    let meme = read_path(meme, Some(Format::Meme)).unwrap();
    let jaspar = read_path(jaspar, Some(Format::Jaspar)).unwrap();
    let transfac = read_path(transfac, Some(Format::Transfac)).unwrap();
    assert_eq!(meme.first().map(|m| m.id.as_str()), Some("MA0002.3"));
    let mut fractional = 0;
    let mut rounded_up = Vec::new();
    for ((p, c), t) in meme.iter().zip(&jaspar).zip(&transfac) {
        assert_eq!((&p.id, &p.name), (&c.id, &c.name));
        assert_eq!((&c.id, &c.name), (&t.id, &t.name));
        assert_eq!(c.matrix.kind(), MatrixKind::Counts);
        assert_eq!(c.matrix.values(), t.matrix.values(), "{}", c.id);
        // JASPAR's own rule: nsites is the first position's total, truncated. For fractional
        // matrices JASPAR truncates its database values, which the .jaspar text rounds to three
        // decimals: a total printed as 1000.000 may have been 999.9996 (MA0685.2 SP4).
        let is_fractional = c.matrix.values().iter().any(|v| v.fract() != 0.0);
        if is_fractional {
            fractional += 1;
            let (ours, theirs) = (c.nsites.unwrap(), p.nsites.unwrap());
            assert!(
                ours == theirs || ours == theirs + 1.0,
                "{}: {ours} vs {theirs}",
                c.id
            );
            if ours != theirs {
                rounded_up.push(c.id.clone());
            }
        } else {
            assert_eq!(c.nsites, p.nsites, "{}", c.id);
        }
        assert_eq!(t.nsites, c.nsites, "{}", c.id);
        // The MEME file prints each count / column total with 6 decimals (and fractional
        // counts reach the .jaspar text rounded to 3): the fixture README promises 1e-6.
        let diff = (&c.ppm().into_array() - &p.matrix.values()).mapv(f64::abs);
        assert!(diff.iter().all(|&d| d <= 1e-6), "{}", c.id);
        assert_eq!(t.metadata_value("CC"), Some("tax_group:vertebrates"));
    }
    // The README says nine matrices have fractional counts.
    assert_eq!(fractional, 9);
    eprintln!("fractional matrices whose text total exceeds JASPAR's nsites: {rounded_up:?}");
    assert_eq!(rounded_up, ["MA0685.2", "MA0740.2", "MA1511.2", "MA1972.1"]);
}
