//! `cargo xtask <task>`: the project's automation, written in Rust instead of shell scripts.
//!
//! Each task lives in its own module; tasks that need Python say so in their help text and
//! check for it with a clear message.

use std::process::ExitCode;

mod args;
mod bench_cnn;
mod bench_cnn_paired;
mod bench_tomtom;
mod fma_peak;
mod jaspar_subset;
mod planted;
mod pyenv;
mod resident;
mod score;
mod torch_export;
mod train_demo;

/// One task: its name, a one-line summary, and its entry point (receives the remaining args).
struct Task {
    name: &'static str,
    about: &'static str,
    run: fn(&[String]) -> Result<(), String>,
}

const TASKS: &[Task] = &[
    Task {
        name: "bench-cnn",
        about: "time neuronmotif-cnn and TensorFlow side by side (TensorFlow part needs python3 + tensorflow-cpu; see --help)",
        run: bench_cnn::run,
    },
    Task {
        name: "bench-tomtom",
        about: "time neuronmotif-tomtom and memelite side by side (needs python3; see --help)",
        run: bench_tomtom::run,
    },
    Task {
        name: "jaspar-subset",
        about: "write testdata/jaspar/JASPAR2024_demo_subset.meme from the shared JASPAR 2024 file (no Python)",
        run: jaspar_subset::run,
    },
    Task {
        name: "gen-planted",
        about: "write the planted-grammar ground-truth models and truth JSON to testdata/planted/ (no Python)",
        run: planted::run,
    },
    Task {
        name: "train-demo",
        about: "simulate data, train and convert the demo CNN into testdata/demo/ (needs python3; see --help)",
        run: train_demo::run,
    },
    Task {
        name: "torch-export",
        about: "write a PyTorch nn.Sequential as a model file plus PyTorch reference outputs into testdata/torch/ (needs python3; see --help)",
        run: torch_export::run,
    },
    Task {
        name: "score",
        about: "score a run directory against a planted model's truth JSON: recovery table (no Python)",
        run: score::run,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first().map(String::as_str) else {
        print_help();
        return ExitCode::SUCCESS;
    };
    if matches!(name, "help" | "--help" | "-h") {
        print_help();
        return ExitCode::SUCCESS;
    }
    match TASKS.iter().find(|t| t.name == name) {
        Some(task) => match (task.run)(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xtask {name}: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            eprintln!("unknown task {name:?}; run `cargo xtask help`");
            ExitCode::from(2)
        }
    }
}

fn print_help() {
    println!("cargo xtask <task> [args]\n\ntasks:");
    for t in TASKS {
        println!("  {:<16} {}", t.name, t.about);
    }
}
