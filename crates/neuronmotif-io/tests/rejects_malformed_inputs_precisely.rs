//! Every file in `tests/data/malformed/` is rejected with the specific error and line it
//! deserves (never a panic, never a vague "invalid file"), and the files in `tests/data/accepted/`
//! with Windows line endings, a byte-order mark and tabs read exactly like their plain twins.

use std::path::{Path, PathBuf};

use neuronmotif_io::{Format, IoError, MotifFile, ReadOptions};

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative)
}

/// The variant's name, for table-driven expectations.
fn variant(e: &IoError) -> &'static str {
    match e {
        IoError::Io { .. } => "Io",
        IoError::InvalidUtf8 { .. } => "InvalidUtf8",
        IoError::EmptyInput { .. } => "EmptyInput",
        IoError::NoMotifs { .. } => "NoMotifs",
        IoError::UnexpectedLine { .. } => "UnexpectedLine",
        IoError::Truncated { .. } => "Truncated",
        IoError::UnsupportedVersion { .. } => "UnsupportedVersion",
        IoError::NonDnaAlphabet { .. } => "NonDnaAlphabet",
        IoError::InvalidField { .. } => "InvalidField",
        IoError::Missing { .. } => "Missing",
        IoError::InvalidNumber { .. } => "InvalidNumber",
        IoError::RowLength { .. } => "RowLength",
        IoError::RowSum { .. } => "RowSum",
        IoError::EmptyPosition { .. } => "EmptyPosition",
        IoError::WidthMismatch { .. } => "WidthMismatch",
        IoError::DuplicateId { .. } => "DuplicateId",
        IoError::Core { .. } => "Core",
        IoError::UnknownFormat { .. } => "UnknownFormat",
        IoError::Unwritable { .. } => "Unwritable",
        _ => "unknown variant",
    }
}

/// (file, expected variant, expected 1-based line or None for file-level errors)
const CASES: &[(&str, &str, Option<usize>)] = &[
    ("meme_truncated.meme", "Truncated", Some(13)),
    ("meme_w_too_large.meme", "WidthMismatch", Some(14)),
    ("meme_w_too_small.meme", "WidthMismatch", Some(14)),
    ("meme_row_does_not_sum.meme", "RowSum", Some(13)),
    ("meme_text_in_number_column.meme", "InvalidNumber", Some(13)),
    ("meme_nan.meme", "InvalidNumber", Some(13)),
    ("meme_negative.meme", "InvalidNumber", Some(13)),
    ("meme_row_too_short.meme", "RowLength", Some(13)),
    ("meme_empty.meme", "EmptyInput", None),
    ("meme_blank_lines_only.meme", "EmptyInput", None),
    ("meme_duplicate_ids.meme", "DuplicateId", Some(16)),
    ("meme_no_version_line.meme", "UnexpectedLine", Some(1)),
    ("meme_version_3.meme", "UnsupportedVersion", Some(1)),
    ("meme_rna_alphabet.meme", "NonDnaAlphabet", Some(3)),
    ("meme_protein_block.meme", "NonDnaAlphabet", Some(2)),
    ("meme_alength_20.meme", "InvalidField", Some(11)),
    ("meme_header_only.meme", "NoMotifs", Some(9)),
    (
        "meme_background_not_a_distribution.meme",
        "InvalidField",
        Some(4),
    ),
    ("meme_background_truncated.meme", "UnexpectedLine", Some(6)),
    ("meme_motif_without_matrix.meme", "Missing", Some(10)),
    ("meme_unknown_line.meme", "UnexpectedLine", Some(15)),
    ("meme_unknown_key.meme", "InvalidField", Some(11)),
    ("meme_bare_carriage_return.meme", "UnexpectedLine", Some(10)),
    ("meme_invalid_utf8.meme", "InvalidUtf8", Some(10)),
    ("jaspar_truncated.jaspar", "Truncated", Some(4)),
    ("jaspar_uneven_rows.jaspar", "RowLength", Some(4)),
    ("jaspar_uneven_rows_any_order.jaspar", "RowLength", Some(3)),
    (
        "jaspar_text_in_number_column.jaspar",
        "InvalidNumber",
        Some(3),
    ),
    ("jaspar_duplicate_base.jaspar", "InvalidField", Some(3)),
    ("jaspar_duplicate_ids.jaspar", "DuplicateId", Some(11)),
    ("jaspar_empty_position.jaspar", "EmptyPosition", Some(1)),
    ("jaspar_missing_bracket.jaspar", "UnexpectedLine", Some(3)),
    ("pfm_three_rows.pfm", "Truncated", Some(4)),
    ("pfm_uneven_rows.pfm", "RowLength", Some(3)),
    ("transfac_no_terminator.transfac", "Truncated", Some(8)),
    (
        "transfac_position_out_of_order.transfac",
        "InvalidField",
        Some(7),
    ),
    ("transfac_without_matrix.transfac", "Missing", Some(1)),
    ("transfac_rna_columns.transfac", "InvalidField", Some(3)),
    ("homer_missing_threshold.motif", "Missing", Some(1)),
    (
        "homer_threshold_not_a_number.motif",
        "InvalidField",
        Some(1),
    ),
    ("homer_row_too_long.motif", "RowLength", Some(3)),
    ("chen_row_too_short.chen", "RowLength", Some(3)),
    ("chen_header_without_rows.chen", "Missing", Some(1)),
    ("unknown_format.txt", "UnknownFormat", None),
    ("empty.txt", "EmptyInput", None),
];

fn read(path: &Path) -> Result<MotifFile, IoError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let options = match Format::from_extension(extension) {
        Some(format) => ReadOptions::with_format(format),
        None => ReadOptions::default(),
    };
    MotifFile::read_path(path, &options)
}

#[test]
fn each_malformed_file_gets_its_specific_error_and_line() {
    for &(name, want_variant, want_line) in CASES {
        let path = data(&format!("malformed/{name}"));
        let error = match read(&path) {
            Ok(file) => panic!(
                "{name}: read {} motifs, expected {want_variant}",
                file.motifs.len()
            ),
            Err(e) => e,
        };
        eprintln!("{error}");
        assert_eq!(variant(&error), want_variant, "{name}: {error}");
        assert_eq!(error.line(), want_line, "{name}: {error}");
        let message = error.to_string();
        assert!(
            message.contains(name),
            "{name}: the message does not name the file: {message}"
        );
    }
}

#[test]
fn the_table_covers_every_file_in_the_corpus() {
    let mut on_disk: Vec<String> = std::fs::read_dir(data("malformed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.0.to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn errors_name_the_motif_and_what_was_expected() {
    let e = read(&data("malformed/meme_row_does_not_sum.meme")).unwrap_err();
    let IoError::RowSum {
        at,
        position,
        sum,
        tolerance,
    } = &e
    else {
        panic!("{e}");
    };
    assert_eq!(
        (at.motif.as_deref(), *position, *tolerance),
        (Some("MA0004.1"), 2, 0.1)
    );
    assert!((sum - 0.8).abs() < 1e-12);
    let e = read(&data("malformed/meme_duplicate_ids.meme")).unwrap_err();
    assert!(
        matches!(e, IoError::DuplicateId { first_line: 10, .. }),
        "{e}"
    );
    let e = read(&data("malformed/meme_text_in_number_column.meme")).unwrap_err();
    assert!(
        matches!(e, IoError::InvalidNumber { column: 2, ref token, .. } if token == "abc"),
        "{e}"
    );
    let e = read(&data("malformed/meme_w_too_small.meme")).unwrap_err();
    assert!(
        matches!(
            e,
            IoError::WidthMismatch {
                declared: 2,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = read(&data("malformed/meme_w_too_large.meme")).unwrap_err();
    assert!(
        matches!(
            e,
            IoError::WidthMismatch {
                declared: 4,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = read(&data("malformed/jaspar_empty_position.jaspar")).unwrap_err();
    assert!(
        matches!(e, IoError::EmptyPosition { position: 2, .. }),
        "{e}"
    );
    let e = read(&data("malformed/unknown_format.txt")).unwrap_err();
    assert!(
        matches!(e, IoError::UnknownFormat { ref tried, .. } if tried.len() == 6),
        "{e}"
    );
}

#[test]
fn windows_line_endings_bom_and_tabs_are_accepted() {
    for (plain, variant) in [
        ("accepted/arnt_lf.meme", "accepted/arnt_crlf_bom_tabs.meme"),
        (
            "accepted/arnt_lf.jaspar",
            "accepted/arnt_crlf_bom_tabs.jaspar",
        ),
    ] {
        let a = MotifFile::read_path(data(plain), &ReadOptions::default()).unwrap();
        let b = MotifFile::read_path(data(variant), &ReadOptions::default()).unwrap();
        assert_eq!(a.format, b.format);
        assert_eq!(a.meme_header, b.meme_header);
        assert_eq!(a.motifs.len(), b.motifs.len());
        for (x, y) in a.motifs.iter().zip(&b.motifs) {
            assert_eq!(
                (&x.id, &x.name, &x.matrix, x.nsites, &x.url),
                (&y.id, &y.name, &y.matrix, y.nsites, &y.url)
            );
        }
    }
}
