//! The `neuronmotif` command end to end: outputs, byte-identical resume after a kill, and one
//! clear error line (non-zero exit, nothing overwritten) for each kind of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use neuronmotif_cnn::testing::random_model;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neuronmotif"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// A demo2-shaped model (RF 7, 12, 22) with random weights.
fn model(dir: &Path) -> PathBuf {
    let p = dir.join("model.safetensors");
    random_model(&[(7, 6, 2), (3, 5, 2), (3, 4, 1)], 21)
        .save(&p)
        .unwrap();
    p
}

/// The bundled demo model and JASPAR subset.
fn demo_inputs() -> (PathBuf, PathBuf) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    (
        data.join("demo/model.safetensors"),
        data.join("jaspar/JASPAR2024_demo_subset.meme"),
    )
}

/// Every result file of layers 1..=`layers` (`matches.tsv` too when a database was given).
fn outputs(dir: &Path, layers: usize, matches: bool) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let mut files = vec![
        "crms.meme",
        "crms.tsv",
        "segments.meme",
        "routes.tsv",
        "table.safetensors",
    ];
    if matches {
        files.push("matches.tsv");
    }
    for l in 1..=layers {
        for f in &files {
            let p = dir.join(format!("layer{l}/{f}"));
            v.push((
                format!("layer{l}/{f}"),
                std::fs::read(&p).unwrap_or_else(|_| panic!("{} missing", p.display())),
            ));
        }
    }
    v
}

#[test]
fn info_prints_the_layer_plan() {
    let t = tempfile::tempdir().unwrap();
    let m = model(t.path());
    let o = run(&["info", m.to_str().unwrap()]);
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("alphabet    ACGT"), "{s}");
    // RF 7, 12, 22 and T = 1, 2, 4 from the algebra
    let rows: Vec<Vec<&str>> = s
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let rf: Vec<&str> = rows.iter().map(|r| r[4]).collect();
    assert_eq!(rf, ["7", "12", "22"], "{s}");
}

#[test]
fn run_writes_the_run_directory() {
    let t = tempfile::tempdir().unwrap();
    let m = model(t.path());
    let out = t.path().join("run");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tsv = std::fs::read_to_string(out.join("layer3/crms.tsv")).unwrap();
    assert!(tsv.starts_with("layer\tneuron\tshift\tn_samples\tact_max\tconsensus_act\tconsensus\n"));
    let run_json: serde_json_value::Value =
        serde_json_value::parse(&std::fs::read_to_string(out.join("run.json")).unwrap());
    assert_eq!(run_json.get("status"), Some("complete"));
    // samples are removed once a layer is complete
    assert!(!out.join("layer2/samples").exists());
    // every CRM of the MEME file is a row of the TSV
    let meme = std::fs::read_to_string(out.join("layer3/crms.meme")).unwrap();
    assert_eq!(meme.matches("\nMOTIF ").count(), tsv.lines().count() - 1);
}

/// `--conv winograd` runs, says so in run.json, and a direct run will not resume its directory
/// (the two round differently, so their files must not mix).
#[test]
fn winograd_runs_are_recorded_and_kept_apart() {
    let t = tempfile::tempdir().unwrap();
    let (m, db) = demo_inputs();
    let out = t.path().join("run");
    let (ms, os) = (m.to_str().unwrap(), out.to_str().unwrap());
    let args = [
        "run",
        ms,
        "--out",
        os,
        "--quiet",
        "--layers",
        "1..=2",
        "--neurons",
        "0..4",
    ];
    let mut wino = args.to_vec();
    wino.extend(["--conv", "winograd", "--db", db.to_str().unwrap()]);
    let o = run(&wino);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run_json: serde_json_value::Value =
        serde_json_value::parse(&std::fs::read_to_string(out.join("run.json")).unwrap());
    assert_eq!(run_json.get("conv"), Some("winograd"));
    assert_eq!(run_json.get("status"), Some("complete"));
    let mut direct = args.to_vec();
    direct.extend(["--db", db.to_str().unwrap()]);
    let o = run(&direct);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another model, seed or parameters"), "{err}");
}

#[test]
fn interrupted_run_resumes_to_identical_bytes() {
    // The bundled demo model and database, two layers and six neurons each to stay quick.
    let t = tempfile::tempdir().unwrap();
    let (m, db) = demo_inputs();
    let common = [
        "--layers",
        "1..=2",
        "--neurons",
        "0..6",
        "--db",
        db.to_str().unwrap(),
        "--seed",
        "9",
    ];
    let full = t.path().join("full");
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "--out",
        full.to_str().unwrap(),
        "--quiet",
        "--threads",
        "2",
    ]
    .iter()
    .chain(&common)
    .copied()
    .collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = outputs(&full, 2, true);

    // kill a second run as soon as layer 2 has saved some samples (mid-layer), then rerun
    let part = t.path().join("part");
    let mut child = bin()
        .args([
            "run",
            m.to_str().unwrap(),
            "--out",
            part.to_str().unwrap(),
            "--quiet",
            "--threads",
            "1",
        ])
        .args(common)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let mut killed_mid_layer = false;
    while t0.elapsed() < Duration::from_secs(120) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        let samples = part.join("layer2/samples");
        if samples.is_dir() && std::fs::read_dir(&samples).map(|d| d.count()).unwrap_or(0) > 0 {
            child.kill().unwrap();
            killed_mid_layer = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.wait();
    assert!(
        killed_mid_layer,
        "the run finished before it could be interrupted"
    );
    assert!(!part.join("layer2/table.safetensors").exists());
    let o = run(&[
        "run",
        m.to_str().unwrap(),
        "--out",
        part.to_str().unwrap(),
        "--threads",
        "2",
    ]
    .iter()
    .chain(&common)
    .copied()
    .collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("layer 1: complete in the run directory, skipped"),
        "{stderr}"
    );
    let got = outputs(&part, 2, true);
    assert_eq!(got.len(), want.len());
    for ((name, a), (_, b)) in got.iter().zip(&want) {
        assert!(a == b, "{name} differs after resume");
    }
}

#[test]
fn two_shard_processes_write_what_one_process_writes() {
    let t = tempfile::tempdir().unwrap();
    let (m, db) = demo_inputs();
    let args = |out: &Path| -> Vec<String> {
        [
            "run",
            m.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--layers",
            "1..=2",
            "--neurons",
            "0..6",
            "--db",
            db.to_str().unwrap(),
            "--threads",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let one = t.path().join("one");
    let o = bin().args(args(&one)).arg("--quiet").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // two processes sharing one directory, as two machines sharing a file system would
    let split = t.path().join("split");
    let shards: Vec<_> = ["1/2", "0/2"]
        .iter()
        .map(|s| {
            bin()
                .args(args(&split))
                .args(["--shard", s])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let logs: Vec<String> = shards
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&o.stderr).into_owned();
            assert!(o.status.success(), "{log}");
            log
        })
        .collect();
    assert!(
        logs[0].contains("layer written by shard 0"),
        "shard 1's log: {}",
        logs[0]
    );
    assert_eq!(outputs(&one, 2, true), outputs(&split, 2, true));
    assert!(split.join("index.html").exists() && !split.join("layer1/samples").exists());
}

#[test]
fn bad_inputs_give_one_clear_line() {
    let t = tempfile::tempdir().unwrap();
    let m = model(t.path());
    let ms = m.to_str().unwrap();
    let out = t.path().join("o");
    let os = out.to_str().unwrap();
    let check = |args: &[&str], needle: &str| {
        let o = run(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = String::from_utf8(o.stderr).unwrap();
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
        assert!(
            e.starts_with("error: ") && e.contains(needle),
            "{args:?}: {e}"
        );
    };
    check(
        &["info", "/no/such/model.safetensors"],
        "/no/such/model.safetensors",
    );
    for (option, value, needle) in [
        ("--layers", "1..=9", "out of range"),
        ("--layers", "2..=3", "layer 1's table"),
        ("--motif-nb", "auto,9=2", "conv layer 9"),
        ("--motif-nb", "auto,2=1,2=2", "layer 2 is given twice"),
        (
            "--neurons",
            "4..9",
            "select no neuron of conv layer 3, which has 4",
        ),
        (
            "--alphabet",
            "AGCT",
            "this model file declares its input channel order as ACGT",
        ),
        ("--shard", "2/2", "K in 0..N"),
        ("--shard", "1-of-2", "expected K/N"),
    ] {
        check(&["run", ms, "--out", os, option, value], needle);
    }
    check(
        &["info", ms, "--alphabet", "AGCT"],
        "the alphabet AGCT was asked for, but this model file declares its input channel order as ACGT",
    );
    // convert onto its own input: refused, the input untouched
    let before = std::fs::read(&m).unwrap();
    check(&["convert", ms, ms], "the output is the input file");
    assert_eq!(std::fs::read(&m).unwrap(), before);
    // a Keras 3 `.keras` file (a zip archive)
    let k3 = t.path().join("model.keras");
    std::fs::write(&k3, b"PK\x03\x04 rest of a zip archive").unwrap();
    check(&["convert", k3.to_str().unwrap(), os], "Keras 3");
    // an unsupported layer
    let bad = t.path().join("lstm.safetensors");
    let arch = r#"{"version":1,"layers":[{"op":"conv1d","name":"c","in_channels":4,"out_channels":1,"kernel_size":2},{"op":"lstm"}]}"#;
    let w: Vec<u8> = [0.5f32; 8].iter().flat_map(|v| v.to_le_bytes()).collect();
    let b: Vec<u8> = 0f32.to_le_bytes().to_vec();
    let st = safetensors_bytes(
        arch,
        &[("c.weight", vec![1, 4, 2], &w), ("c.bias", vec![1], &b)],
    );
    std::fs::write(&bad, st).unwrap();
    check(&["info", bad.to_str().unwrap()], "unsupported op \"lstm\"");

    // a finished run, then a corrupt table and a different seed: errors, nothing overwritten
    let o = run(&["run", ms, "--out", os, "--quiet", "--layers", "1..=2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meme_before = std::fs::read(out.join("layer2/crms.meme")).unwrap();
    check(
        &["run", ms, "--out", os, "--seed", "5"],
        "another model, seed or parameters",
    );
    std::fs::write(out.join("layer2/table.safetensors"), b"garbage").unwrap();
    check(
        &["run", ms, "--out", os, "--quiet"],
        "layer2/table.safetensors",
    );
    assert_eq!(
        std::fs::read(out.join("layer2/crms.meme")).unwrap(),
        meme_before
    );
    assert!(!out.join("layer3").exists());
}

/// A minimal safetensors writer for the unsupported-layer file.
fn safetensors_bytes(arch: &str, tensors: &[(&str, Vec<usize>, &[u8])]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0;
    for (i, (name, shape, data)) in tensors.iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape:?},\"data_offsets\":[{offset},{}]}}",
            offset + data.len()
        ));
        offset += data.len();
    }
    header.push_str(&format!(
        ",\"__metadata__\":{{\"neuronmotif.architecture\":{}}}}}",
        serde_json_value::quote(arch)
    ));
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    for (_, _, d) in tensors {
        out.extend_from_slice(d);
    }
    out
}

/// Just enough JSON for these tests (no serde_json dependency in the CLI crate).
mod serde_json_value {
    pub struct Value(String);
    pub fn parse(s: &str) -> Value {
        Value(s.to_string())
    }
    impl Value {
        pub fn get(&self, key: &str) -> Option<&str> {
            let k = format!("\"{key}\": \"");
            let i = self.0.find(&k)? + k.len();
            let end = self.0[i..].find('"')?;
            Some(&self.0[i..i + end])
        }
    }
    pub fn quote(s: &str) -> String {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The bundled demo (layer 1 only, to stay quick) finds the CTCF motif that the demo model
/// was trained on, writes the report, and `report` redraws the same page from the files.
#[test]
fn demo_layer1_finds_the_planted_ctcf_and_report_redraws_it() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    let d = dir.to_str().unwrap();
    let o = run(&["demo", "--out", d, "--layers", "1", "--threads", "2", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Tomtom table: Query_ID Target_ID offset p E q ...; the trained CTCF must match well.
    let matches = std::fs::read_to_string(dir.join("layer1/matches.tsv")).unwrap();
    let best_ctcf_q = matches
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() == 10 && f[1] == "MA0139.2")
        .filter_map(|f| f[5].parse::<f64>().ok())
        .fold(f64::INFINITY, f64::min);
    assert!(best_ctcf_q < 0.01, "best CTCF q = {best_ctcf_q}\n{matches}");

    let index = dir.join("index.html");
    let layer = dir.join("report/layer1.html");
    let first = (
        std::fs::read(&index).unwrap(),
        std::fs::read(&layer).unwrap(),
    );
    assert!(String::from_utf8_lossy(&first.0).contains("CTCF"));
    assert!(String::from_utf8_lossy(&first.1).contains("MA0139.2"));
    std::fs::remove_file(&index).unwrap();
    std::fs::remove_dir_all(dir.join("report")).unwrap();
    let o = run(&["report", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again = (
        std::fs::read(&index).unwrap(),
        std::fs::read(&layer).unwrap(),
    );
    assert!(again == first, "the report differs when redrawn");

    let o = run(&["report", t.path().to_str().unwrap()]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: ") && e.contains("run.json"), "{e}");
}

#[test]
fn logo_writes_one_svg_per_motif() {
    let t = tempfile::tempdir().unwrap();
    let db = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/jaspar/JASPAR2024_demo_subset.meme");
    let out = t.path().join("logos");
    let o = run(&["logo", db.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ids: Vec<String> = std::fs::read_to_string(&db)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("MOTIF "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 62);
    let svgs = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(svgs, ids.len());
    for id in &ids {
        let svg = std::fs::read_to_string(out.join(format!("{id}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains(id.as_str()));
    }

    let empty = t.path().join("empty.meme");
    std::fs::write(&empty, "MEME version 4\n\nALPHABET= ACGT\n").unwrap();
    let o = run(&["logo", empty.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("empty.meme"));
}
