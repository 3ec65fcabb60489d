//! Write one SVG logo per motif of any motif file the io crate reads.
//!
//! ```text
//! cargo run -p neuronmotif-report --example logo -- MOTIFS.meme OUT_DIR [--probability] [--rc]
//! ```
use std::process::ExitCode;

use neuronmotif_report::{write_logos, LogoMode, LogoOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [input, out_dir] = positional[..] else {
        eprintln!("usage: logo MOTIFS OUT_DIR [--probability] [--rc]");
        return ExitCode::from(2);
    };
    let opts = LogoOptions {
        mode: if args.iter().any(|a| a == "--probability") {
            LogoMode::Probability
        } else {
            LogoMode::Bits
        },
        reverse_complement: args.iter().any(|a| a == "--rc"),
        ..LogoOptions::default()
    };
    let result = neuronmotif_io::read_path(input, None)
        .map_err(neuronmotif_report::ReportError::from)
        .and_then(|motifs| write_logos(&motifs, out_dir, &opts));
    match result {
        Ok(paths) => {
            println!("{} logos written to {out_dir}", paths.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
