//! Claim: on models whose motifs we planted by hand, the pipeline finds them where they were
//! planted.
//!
//! The models and their truth files are `testdata/planted/` (made by `cargo xtask gen-planted`
//! from the design in `xtask/src/planted.rs`; the truth comes from that design, not from any
//! run). Each test runs the whole pipeline with its defaults (every layer, every neuron,
//! automatic motif_nb up to 3, seed 1, the original's sampling constants) against the bundled
//! JASPAR subset, and scores the run directory with `neuronmotif_pipeline::validation`. No sampling
//! limits are needed: each planted model runs in about a second. The floors asserted here are
//! what the method achieves by design of the model, with the shortfalls it honestly has
//! explained beside them (see docs/validation.md for the full tables).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use neuronmotif_core::Ppm;
use neuronmotif_field::ShiftId;
use neuronmotif_pipeline::matching::{crm_segments, match_segments, CrmOrigin, Database};
use neuronmotif_pipeline::run_dir::{atomic_write, crms_tsv, layer_dir, meme_text};
use neuronmotif_pipeline::validation::{
    score_run, Design, NeuronTruth, PlantedMotif, Recovery, Strand, Truth, TRUTH_FORMAT,
};
use neuronmotif_pipeline::{LayerSummary, Pipeline, PipelineConfig, RunJson};
use neuronmotif_sample::{Crm, Silent};
use neuronmotif_tomtom::TomtomParams;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn subset() -> PathBuf {
    testdata().join("jaspar/JASPAR2024_demo_subset.meme")
}

/// Run the pipeline on a planted model and score it; the table is printed (`--nocapture`).
fn run_and_score(name: &str) -> (Recovery, RunJson) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = PipelineConfig::new(
        testdata().join(format!("planted/{name}.safetensors")),
        dir.path(),
    );
    config.db = Some(subset());
    config.threads = Some(2);
    Pipeline::new(config).unwrap().run(&Silent).unwrap();
    let truth = Truth::read(&testdata().join(format!("planted/{name}.truth.json"))).unwrap();
    let recovery = score_run(dir.path(), &truth).unwrap();
    println!("{recovery}");
    let run = RunJson::read(dir.path()).unwrap().unwrap();
    (recovery, run)
}

/// Every start the method reports for a planted motif is one the design allows.
fn no_motif_outside_its_allowed_starts(r: &Recovery) {
    for n in &r.neurons {
        for m in &n.motifs {
            assert_eq!(
                m.max_position_error_bp.unwrap_or(0),
                0,
                "layer {} neuron {}: {} found at {:?}, allowed {:?}",
                n.layer,
                n.neuron,
                m.id,
                m.found,
                m.allowed
            );
        }
    }
}

#[test]
fn single_motifs_are_recovered_in_every_shift_state() {
    let (r, _) = run_and_score("single");
    assert!(r.neurons.iter().all(|n| n.scored));
    no_motif_outside_its_allowed_starts(&r);
    for n in r.neurons.iter().filter(|n| n.design == Design::Single) {
        let at = format!("layer {} neuron {}", n.layer, n.neuron);
        // one motif behind one pool of 2: each of its 2 starts gets its own CRM
        assert!(n.motifs[0].recovered(), "{at}: not recovered");
        assert_eq!(n.placements_recovered, n.placements, "{at}: shift states");
        assert!(
            n.precision().unwrap_or(0.0) >= 0.75,
            "{at}: precision {:?}",
            n.precision()
        );
    }
    // the minus-strand filter is recovered as the reverse complement of SOX2, and the
    // negative-gamma neurons (layers 1 and 2) exactly like positive ones
    assert_eq!(r.neuron(2, 2).unwrap().motifs[0].strand, Strand::Reverse);
    assert!(r.neuron(1, 3).unwrap().motifs[0].recovered());
    assert!(r.neuron(2, 4).unwrap().motifs[0].recovered());
    // the neuron with no excitatory path reports nothing
    assert_eq!(r.neuron(2, 3).unwrap().dead_as_designed(), Some(true));
    let t = r.totals();
    assert_eq!((t.motifs_recovered, t.motifs), (t.motifs, 8));
    assert_eq!(t.placements_recovered, t.placements);
}

#[test]
fn rigid_pair_keeps_its_spacing_through_a_pool() {
    let (r, _) = run_and_score("fixed_gap");
    no_motif_outside_its_allowed_starts(&r);
    // Gata3 then TAL1::TCF3, rigid at layer 2 (1 placement) and shifted as a whole by the pool
    // of 3 at layer 3 (3 placements): both motifs, every placement, every spacing exact
    for (layer, placements) in [(2, 1), (3, 3)] {
        let n = r.neuron(layer, 0).unwrap();
        assert!(n.motifs.iter().all(|m| m.recovered()), "layer {layer}");
        assert_eq!(
            (n.placements_recovered, n.placements),
            (placements, placements)
        );
        let s = n.spacing.as_ref().unwrap();
        assert!(!s.found.is_empty());
        assert_eq!(
            s.exact(),
            s.found.len(),
            "layer {layer}: spacings {:?}",
            s.found
        );
    }
    // The FOXA2 inverted repeat: both sites at every placement. (Its sites are 6 bp apart, so
    // both fall into one segment, where Tomtom reports one alignment per target; the rest of
    // the segment beside a significant match is cut and matched again, which finds the
    // reverse site.)
    for (layer, placements) in [(2, 1), (3, 3)] {
        let n = r.neuron(layer, 1).unwrap();
        assert_eq!(n.motifs.len(), 2, "layer {layer}: two FOXA2 sites");
        assert!(
            n.motifs.iter().all(|m| m.recovered()),
            "layer {layer}: both FOXA2 sites"
        );
        assert_eq!(
            (n.placements_recovered, n.placements),
            (placements, placements),
            "layer {layer}"
        );
    }
    // every layer-1 filter is recovered, including TAL1::TCF3's, which only 32 of the 4^10
    // 10-mers activate: the layer is enumerated exhaustively, so its CRMs are censuses and
    // are not smoothed with the 80 pseudo-sequences meant for small samples
    for k in [0, 1, 2, 3] {
        assert!(
            r.neuron(1, k).unwrap().motifs[0].recovered(),
            "layer 1 neuron {k}"
        );
    }
}

#[test]
fn flexible_pair_needs_motif_nb_2_and_resolves_most_placements() {
    let (r, run) = run_and_score("flexible_gap");
    no_motif_outside_its_allowed_starts(&r);
    // layers 1-2: single motifs (the relays have 2 shift states each), all recovered
    for n in r.neurons.iter().filter(|n| n.layer < 3) {
        assert_eq!(
            n.placements_recovered, n.placements,
            "layer {} neuron {}",
            n.layer, n.neuron
        );
    }
    // layer 3: two motifs shifting independently through two pools of 2, 16 placements. The
    // automatic rule rejects motif_nb 1 (its CRMs mix placements) and settles on 2.
    let layer3 = run.results.iter().find(|l| l.layer == 3).unwrap();
    assert_eq!(layer3.motif_nb, 2, "{:?}", layer3.motif_nb_tried);
    let n = r.neuron(3, 0).unwrap();
    assert_eq!(n.placements, 16);
    assert!(
        n.placements_recovered >= 12,
        "{} of 16 placements",
        n.placements_recovered
    );
    for m in &n.motifs {
        assert!(
            m.crms * 4 >= n.crms * 3,
            "{}: in {} of {} CRMs",
            m.id,
            m.crms,
            n.crms
        );
        assert_eq!(m.covered(), 4, "{}: starts {:?}", m.id, m.found);
    }
    let s = n.spacing.as_ref().unwrap();
    assert!(s.exact() * 4 >= s.found.len() * 3, "spacings {:?}", s.found);
    assert_eq!(s.max_error_bp(), Some(0));
}

/// The scoring's geometry against the real segmenter and Tomtom: a CRM with CTCF planted at
/// start 5 on the plus strand and SOX2 at start 27 on the minus strand is scored as found
/// exactly there, on those strands.
#[test]
fn scoring_reads_receptive_field_starts_and_strands() {
    let db = Database::open(&subset(), TomtomParams::new()).unwrap();
    let jaspar = |id: &str| db.motifs.iter().find(|m| m.id == id).unwrap().ppm();
    let (ctcf, sox2) = (jaspar("MA0139.2"), jaspar("MA0143.5").reverse_complement());
    let rf = 40;
    let mut rows = ndarray::Array2::from_elem((rf, 4), 0.25);
    for (ppm, start) in [(&ctcf, 5), (&sox2, 27)] {
        rows.slice_mut(ndarray::s![start..start + ppm.width(), ..])
            .assign(&ppm.view());
    }
    let crm = Crm {
        layer: 2,
        neuron: 0,
        shift: ShiftId(0),
        motif_nb: 1,
        ppm: Ppm::new(rows).unwrap(),
        n: 1000,
        act_max: 1.0,
        conact: 1.0,
        route: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let layer = layer_dir(dir.path(), 2);
    let segments = crm_segments(std::slice::from_ref(&crm), CrmOrigin::Sampled).unwrap();
    let matches = match_segments(&db, &segments).unwrap();
    atomic_write(&layer.join("crms.tsv"), crms_tsv(&[crm]).as_bytes()).unwrap();
    atomic_write(
        &layer.join("segments.meme"),
        meme_text(&segments).unwrap().as_bytes(),
    )
    .unwrap();
    let mut tsv = Vec::new();
    neuronmotif_tomtom::tsv::write_tsv(&mut tsv, matches.iter(), "test").unwrap();
    atomic_write(&layer.join("matches.tsv"), &tsv).unwrap();
    let run = RunJson {
        shards: None,
        neuronmotif_version: "test".into(),
        status: "complete".into(),
        model: serde_json::json!({}),
        seed: 1,
        threads: 1,
        layers: vec![2],
        neurons: "all".into(),
        motif_nb: serde_json::json!(1),
        db: Some(subset().display().to_string()),
        sampler: serde_json::json!({}),
        decouple: serde_json::json!({}),
        conv: "direct".into(),
        fingerprint: String::new(),
        results: vec![LayerSummary {
            layer: 2,
            rf,
            neurons: 1,
            crms: 1,
            motif_nb: 1,
            motif_nb_tried: vec![],
            samples: 1000,
            resumed: 0,
            sampling_s: 0.0,
            decoupling_s: 0.0,
            matching_s: 0.0,
            segments: (segments.len(), segments.len()),
            wall_s: 0.0,
        }],
        total_s: 0.0,
    };
    run.write(dir.path()).unwrap();
    let motif = |id: &str, name: &str, strand, width, start| PlantedMotif {
        id: id.into(),
        name: name.into(),
        strand,
        width,
        positions: vec![start],
    };
    let truth = Truth {
        format: TRUTH_FORMAT.into(),
        model: "synthetic".into(),
        description: "one CRM".into(),
        database: "JASPAR2024_demo_subset.meme".into(),
        generator: "this test".into(),
        neurons: vec![NeuronTruth {
            layer: 2,
            neuron: 0,
            rf,
            design: Design::PairFixed,
            motif_nb: 1,
            negative_gamma: false,
            description: "CTCF + at 5, SOX2 - at 27".into(),
            motifs: vec![
                motif("MA0139.2", "CTCF", Strand::Forward, 15, 5),
                motif("MA0143.5", "SOX2", Strand::Reverse, 7, 27),
            ],
            placements: vec![vec![5, 27]],
        }],
    };
    let r = score_run(dir.path(), &truth).unwrap();
    let n = r.neuron(2, 0).unwrap();
    assert_eq!(n.motifs[0].found, vec![5], "{r}");
    assert_eq!(n.motifs[1].found, vec![27], "{r}");
    assert_eq!(n.motifs[1].wrong_strand_crms, 0);
    assert_eq!(n.placements_recovered, 1);
    assert_eq!(n.spacing.as_ref().unwrap().found, vec![22]);
    assert_eq!(n.precision(), Some(1.0));
    // with the strands swapped in the truth, nothing is recovered and both are flagged
    let mut flipped = truth.clone();
    for m in &mut flipped.neurons[0].motifs {
        m.strand = match m.strand {
            Strand::Forward => Strand::Reverse,
            Strand::Reverse => Strand::Forward,
        };
    }
    let r = score_run(dir.path(), &flipped).unwrap();
    let n = r.neuron(2, 0).unwrap();
    assert!(
        n.motifs
            .iter()
            .all(|m| !m.recovered() && m.wrong_strand_crms == 1),
        "{r}"
    );
}
