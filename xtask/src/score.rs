//! `cargo xtask score RUN_DIR TRUTH.json`: how much of a planted model's ground truth a run
//! recovered (`neuronmotif::validation::score_run`), as a Markdown table.

use std::path::PathBuf;

use neuronmotif::validation::{score_run_with, ScoreParams, Truth};

const HELP: &str = "cargo xtask score RUN_DIR TRUTH.json [--q Q]

Scores a run directory (made with `neuronmotif run MODEL --db FILE`, FILE holding the planted
JASPAR IDs, e.g. testdata/jaspar/JASPAR2024_demo_subset.meme) against the truth JSON written
beside a planted model by `cargo xtask gen-planted`. Prints one row per planted motif: CRMs
holding it (Tomtom q <= Q on the planted strand), starts found vs allowed, placements (true
shift states) recovered, spacing errors and precision. No Python needed.
  --q Q   q-value threshold for a match (default 0.05)";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut params = ScoreParams::default();
    let mut paths = Vec::new();
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    while let Some(flag) = a.flag() {
        match flag {
            "--q" => {
                params.q_threshold = a.parsed(flag, "a number between 0 and 1", |q: &f64| {
                    (0.0..=1.0).contains(q)
                })?
            }
            other if other.starts_with("--") => return Err(a.unknown(other)),
            other => paths.push(PathBuf::from(other)),
        }
    }
    let [run_dir, truth_path] = paths.as_slice() else {
        return Err(format!("expected RUN_DIR and TRUTH.json\n\n{HELP}"));
    };
    let truth = Truth::read(truth_path).map_err(|e| e.to_string())?;
    let recovery = score_run_with(run_dir, &truth, &params).map_err(|e| e.to_string())?;
    print!("{recovery}");
    Ok(())
}
