//! Fixture loading shared by the integration tests: the shared fixtures folder (skipped with a
//! printed notice when absent) and a small MEME-format reader for the motif files there.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ndarray::Array2;
use neuronmotif_core::Background;
use neuronmotif_tomtom::tsv::{read_tsv, TsvRow};
use neuronmotif_tomtom::TomtomMotif;

/// `../shared/fixtures/<rel>` relative to the workspace, or `None` (with a notice) when absent.
pub fn fixture(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping: fixture {} not found (the shared fixtures folder is absent)",
            p.display()
        );
        None
    }
}

/// Minimal MEME minimal-format reader: background, MOTIF id, letter-probability matrices with
/// `w=` and `nsites=`. Enough for the fixture files; the real reader lives in neuronmotif-io.
pub fn read_meme(path: &PathBuf) -> Vec<TomtomMotif> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut bg = Background::UNIFORM;
    let mut out = Vec::new();
    let mut i = 0;
    let mut id = String::new();
    while i < lines.len() {
        let l = lines[i].trim();
        if l.starts_with("Background letter frequencies") {
            let toks: Vec<&str> = lines[i + 1].split_whitespace().collect();
            let f: Vec<f64> = toks.chunks(2).map(|c| c[1].parse().unwrap()).collect();
            bg = Background::new([f[0], f[1], f[2], f[3]]).unwrap();
            i += 2;
            continue;
        }
        if let Some(rest) = l.strip_prefix("MOTIF") {
            id = rest.split_whitespace().next().unwrap().to_string();
        }
        if l.starts_with("letter-probability matrix:") {
            let kv = l.replace("= ", "=");
            let get = |key: &str| -> Option<f64> {
                kv.split_whitespace()
                    .find_map(|t| t.strip_prefix(key).and_then(|v| v.parse().ok()))
            };
            let w = get("w=").unwrap() as usize;
            let nsites = get("nsites=");
            let mut rows = Vec::with_capacity(w * 4);
            for r in 0..w {
                rows.extend(
                    lines[i + 1 + r]
                        .split_whitespace()
                        .map(|v| v.parse::<f64>().unwrap()),
                );
            }
            // Rows as written: MEME compares six-decimal rows without renormalising them.
            let rows = Array2::from_shape_vec((w, 4), rows).unwrap();
            out.push(
                TomtomMotif::from_written_rows(id.clone(), rows.view(), nsites)
                    .unwrap()
                    .with_background(bg),
            );
            i += 1 + w;
            continue;
        }
        i += 1;
    }
    out
}

/// Read a Tomtom TSV fixture.
pub fn read_table(path: &PathBuf) -> Vec<TsvRow> {
    read_tsv(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap()
}

/// Pearson correlation.
pub fn pearson_r(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}
