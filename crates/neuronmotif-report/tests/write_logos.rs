//! `write_logos` turns any motif file the io crate reads into one valid SVG per motif, with
//! file names that are safe on every OS and never collide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use neuronmotif_report::{column_stacks, write_logos, LogoMode, LogoOptions};

const JASPAR: &str = ">MA0004.1\tArnt\nA  [     4     19      0      0      0      0 ]\n\
C  [    16      0     20      0      0      0 ]\nG  [     0      1      0     20      0     20 ]\n\
T  [     0      0      0      0     20      0 ]\n\
>con\tdevice name\nA  [ 5 5 ]\nC  [ 5 5 ]\nG  [ 5 5 ]\nT  [ 5 5 ]\n";

const MEME: &str = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n\
Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n\
MOTIF a/b first\nletter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n\
 1.0 0.0 0.0 0.0\n 0.5 0.5 0.0 0.0\n\n\
MOTIF a_b second\nletter-probability matrix: alength= 4 w= 1 nsites= 20 E= 0\n 0.0 0.0 0.0 1.0\n\n\
MOTIF A_B third\nletter-probability matrix: alength= 4 w= 1 nsites= 20 E= 0\n 0.0 0.0 1.0 0.0\n\n\
MOTIF .hidden\nletter-probability matrix: alength= 4 w= 1 nsites= 20 E= 0\n 0.0 1.0 0.0 0.0\n\n";

fn glyph_count(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).expect("valid XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.starts_with("glyph "))
        })
        .count()
}

#[test]
fn jaspar_motifs_become_valid_svgs_with_safe_names() {
    let motifs = neuronmotif_io::read_str(JASPAR, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logos(&motifs, dir.path().join("logos"), &LogoOptions::default()).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // "con" is a Windows device name.
    assert_eq!(names, ["MA0004.1.svg", "_con.svg"]);
    let arnt = std::fs::read_to_string(&paths[0]).unwrap();
    // One glyph per nonzero probability of an informative column: 2 + 2 + 1 + 1 + 1 + 1.
    assert_eq!(glyph_count(&arnt), 8);
    assert!(arnt.contains("<title>MA0004.1 Arnt</title>"));
    // A uniform motif has no information: no glyph in bits, four per column in probability.
    let uniform = std::fs::read_to_string(&paths[1]).unwrap();
    assert_eq!(glyph_count(&uniform), 0);
    let probs = LogoOptions {
        mode: LogoMode::Probability,
        ..Default::default()
    };
    let paths = write_logos(&motifs, dir.path().join("p"), &probs).unwrap();
    assert_eq!(glyph_count(&std::fs::read_to_string(&paths[1]).unwrap()), 8);
    assert_eq!(
        column_stacks(&motifs[1].ppm(), LogoMode::Bits),
        vec![vec![]; 2]
    );
}

#[test]
fn colliding_ids_get_numbered_names() {
    let motifs = neuronmotif_io::read_str(MEME, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logos(&motifs, dir.path(), &LogoOptions::default()).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // "a/b" and "a_b" both sanitise to a_b; "A_B" collides case-insensitively (macOS, Windows).
    assert_eq!(names, ["a_b.svg", "a_b_2.svg", "A_B_3.svg", "_hidden.svg"]);
    for p in &paths {
        assert!(p.is_file());
        glyph_count(&std::fs::read_to_string(p).unwrap());
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        4,
        "no temporary files left"
    );
}

#[test]
fn unwritable_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let motifs = neuronmotif_io::read_str(JASPAR, None).unwrap();
    let err = write_logos(&motifs, &file, &LogoOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}
