//! The `neuronmotif` command. All logic lives in the library crates; this file parses
//! arguments, draws progress and maps errors to one line and a non-zero exit code.

mod progress;

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use neuronmotif::cnn::Model;
use neuronmotif::core::Alphabet;
use neuronmotif::field::LayerPlan;
use neuronmotif::io::MotifFile;
use neuronmotif::report::{write_logos, LogoMode, LogoOptions, RunReport};
use neuronmotif::sample::MotifNb;
use neuronmotif::tomtom::{Distance, TargetDb, Threshold, TomtomParams};
use neuronmotif::{Pipeline, PipelineConfig};

#[derive(Parser, Debug)]
#[command(
    name = "neuronmotif",
    version,
    about = "Explain every convolutional neuron of a genomic CNN as DNA motifs (NeuronMotif in Rust)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Layers, receptive fields and shift counts of a model.
    Info {
        /// Model file (.safetensors) or Keras 2 HDF5 file.
        model: PathBuf,
        /// Input channel order of a Keras file.
        #[arg(long)]
        alphabet: Option<String>,
    },
    /// Convert a Keras 2 whole-model HDF5 file to a model file.
    Convert {
        /// Keras .h5 file.
        input: PathBuf,
        /// Output .safetensors file.
        output: PathBuf,
        /// Input channel order of the Keras model ("AGCT" for DeepSEA-data models).
        #[arg(long)]
        alphabet: Option<String>,
    },
    /// Explain the neurons of conv layers into a run directory.
    Run(RunArgs),
    /// Compare motifs with a database, Tomtom-style (drop-in for `tomtom -text`).
    Tomtom(TomtomArgs),
    /// (Re)write DIR/index.html and DIR/report/ from a run directory.
    Report {
        /// Run directory written by `neuronmotif run`.
        dir: PathBuf,
    },
    /// One SVG sequence logo per motif of a motif file (MEME, JASPAR, TRANSFAC, HOMER, ...).
    Logo {
        /// Motif file.
        motifs: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "logos")]
        out: PathBuf,
        /// Letter heights: information content (bits) or probability.
        #[arg(long, value_enum, default_value = "bits")]
        mode: LogoScale,
    },
    /// The whole pipeline on the bundled demo model and JASPAR 2024 subset; no arguments needed.
    Demo {
        /// Run directory.
        #[arg(long, default_value = "neuronmotif-demo")]
        out: PathBuf,
        /// Conv layers, e.g. 1 for a one-second taste (default: all three).
        #[arg(long)]
        layers: Option<String>,
        /// Seed: the same seed gives the same output bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum LogoScale {
    Bits,
    Probability,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Model file (.safetensors) or Keras 2 HDF5 file.
    model: PathBuf,
    /// Conv layers, e.g. 1..=5, 3 or 2..4 (default: all).
    #[arg(long)]
    layers: Option<String>,
    /// Run directory.
    #[arg(long)]
    out: PathBuf,
    /// Neurons of each layer, e.g. 0..64 (default: all).
    #[arg(long)]
    neurons: Option<String>,
    /// Number of independently shifting motifs to demix for: auto or 1-4, optionally with
    /// per-layer values (auto,5=2).
    #[arg(long, default_value = "auto")]
    motif_nb: String,
    /// Largest motif_nb tried by auto.
    #[arg(long, default_value_t = 3)]
    max_motif_nb: u32,
    /// Motif database (MEME, JASPAR, TRANSFAC, HOMER) to match CRM segments against.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Seed: the same seed gives the same output bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Input channel order of a Keras file.
    #[arg(long)]
    alphabet: Option<String>,
    /// Keep per-neuron sample files after each layer.
    #[arg(long)]
    keep_samples: bool,
    /// This process's share K/N (0-based) of a run spread over N processes or machines that
    /// share --out; start all N with the same arguments (docs/run-directory.md).
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// How forward passes evaluate convolutions: direct (f32, the default), winograd (fewer
    /// multiplications on wide layers, different rounding) or bf16 (bf16 operands with f32
    /// sums, CPUs with AVX-512 BF16 only); see docs/benchmarks.md.
    #[arg(long, value_enum, default_value = "direct")]
    conv: Conv,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Conv {
    Direct,
    Winograd,
    Bf16,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Dist {
    Pearson,
    Ed,
    Sandelin,
}

#[derive(clap::Args, Debug)]
struct TomtomArgs {
    /// Query motifs (any supported format).
    query: PathBuf,
    /// Target motifs (any supported format).
    target: PathBuf,
    /// Column distance.
    #[arg(long, value_enum, default_value = "ed")]
    dist: Dist,
    /// Report matches with q-value (or E-value with --evalue) at most this.
    #[arg(long, default_value_t = 0.5)]
    thresh: f64,
    /// Threshold on E-values instead of q-values.
    #[arg(long)]
    evalue: bool,
    /// Fewest aligned columns.
    #[arg(long, default_value_t = 1)]
    min_overlap: usize,
    /// Do not compare against reverse complements of the targets.
    #[arg(long)]
    norc: bool,
    /// Write the table to standard output (otherwise to DIR/tomtom.tsv).
    #[arg(long)]
    text: bool,
    /// Output directory when not --text.
    #[arg(long, default_value = "tomtom_out")]
    oc: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info { model, alphabet } => info(&model, alphabet.as_deref()),
        Command::Convert {
            input,
            output,
            alphabet,
        } => {
            if std::fs::canonicalize(&input).ok() == std::fs::canonicalize(&output).ok()
                && output.exists()
            {
                return Err(format!(
                    "{}: the output is the input file; give another output path (nothing was written)",
                    output.display()
                )
                .into());
            }
            let m = open_model(&input, alphabet.as_deref())?;
            m.save(&output)?;
            println!(
                "wrote {} ({} conv layers, {} parameters)",
                output.display(),
                m.conv_count(),
                m.parameter_count()
            );
            Ok(())
        }
        Command::Run(args) => run(args),
        Command::Tomtom(args) => tomtom(args),
        Command::Report { dir } => {
            let index = RunReport::load(&dir)?.write_html(&dir)?;
            println!("wrote {}", index.display());
            Ok(())
        }
        Command::Logo { motifs, out, mode } => logo(&motifs, &out, mode),
        Command::Demo {
            out,
            layers,
            seed,
            threads,
            quiet,
        } => demo(out, layers, seed, threads, quiet),
    }
}

fn parse_alphabet(s: &str) -> Result<Alphabet> {
    Ok(Alphabet::parse(s)?)
}

/// Open a model file or Keras file; `--alphabet` orders a Keras file's input channels (default
/// ACGT) and must agree with a model file's declared order.
fn open_model(path: &std::path::Path, alphabet: Option<&str>) -> Result<Model> {
    let alphabet = alphabet.map(parse_alphabet).transpose()?;
    Ok(Model::open_with_alphabet(path, alphabet)?)
}

fn info(path: &std::path::Path, alphabet: Option<&str>) -> Result<()> {
    let m = open_model(path, alphabet)?;
    println!("model       {}", path.display());
    println!("alphabet    {} (input channel order)", m.alphabet());
    println!("parameters  {}", m.parameter_count());
    if let Some(l) = m.input_length() {
        println!("input       {l} bp");
    }
    println!("layers      {}", m.layers().len());
    println!();
    print!("{}", LayerPlan::new(m.geometry())?);
    Ok(())
}

/// `3`, `2..4` (exclusive end) or `1..=5`.
fn parse_layers(s: &str) -> Result<RangeInclusive<usize>> {
    let bad = || format!("--layers {s:?}: expected N, A..B or A..=B (1-based conv layers)");
    if let Some((a, b)) = s.split_once("..=") {
        return Ok(a.trim().parse().map_err(|_| bad())?..=b.trim().parse().map_err(|_| bad())?);
    }
    if let Some((a, b)) = s.split_once("..") {
        let (a, b): (usize, usize) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if b <= a {
            return Err(bad().into());
        }
        return Ok(a..=b - 1);
    }
    let n: usize = s.trim().parse().map_err(|_| bad())?;
    Ok(n..=n)
}

/// `0..64` (exclusive) or `5`.
fn parse_neurons(s: &str) -> Result<Range<usize>> {
    let bad = || format!("--neurons {s:?}: expected K or A..B (0-based channels, end exclusive)");
    if let Some((a, b)) = s.split_once("..=") {
        let (a, b): (usize, usize) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        return Ok(a..b + 1);
    }
    if let Some((a, b)) = s.split_once("..") {
        return Ok(a.trim().parse().map_err(|_| bad())?..b.trim().parse().map_err(|_| bad())?);
    }
    let n: usize = s.trim().parse().map_err(|_| bad())?;
    Ok(n..n + 1)
}

fn logo(motifs: &Path, out: &Path, mode: LogoScale) -> Result<()> {
    let file = MotifFile::read_path(motifs, &Default::default())?;
    if file.motifs.is_empty() {
        return Err(format!("{}: no motifs in this file", motifs.display()).into());
    }
    let opts = LogoOptions {
        mode: match mode {
            LogoScale::Bits => LogoMode::Bits,
            LogoScale::Probability => LogoMode::Probability,
        },
        ..Default::default()
    };
    let paths = write_logos(&file.motifs, out, &opts)?;
    println!("wrote {} logos to {}", paths.len(), out.display());
    Ok(())
}

/// The demo model (trained by `cargo xtask train-demo`) and the JASPAR 2024 subset it is
/// matched against, built into the binary so the demo needs no files.
const DEMO_MODEL: &[u8] = include_bytes!("../../../testdata/demo/model.safetensors");
const DEMO_DB: &[u8] = include_bytes!("../../../testdata/jaspar/JASPAR2024_demo_subset.meme");

fn demo(
    out: PathBuf,
    layers: Option<String>,
    seed: u64,
    threads: Option<usize>,
    quiet: bool,
) -> Result<()> {
    let inputs = out.join("inputs");
    std::fs::create_dir_all(&inputs).map_err(|e| format!("{}: {e}", inputs.display()))?;
    let model = inputs.join("demo_model.safetensors");
    let db = inputs.join("JASPAR2024_demo_subset.meme");
    for (path, bytes) in [(&model, DEMO_MODEL), (&db, DEMO_DB)] {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if !quiet {
        println!(
            "demo: a 3-layer CNN trained on simulated GATA1, TAL1::TCF3, CTCF and FOS::JUN sites \
             (testdata/README.md), matched against 62 JASPAR 2024 motifs"
        );
    }
    run(RunArgs {
        model,
        layers,
        out,
        neurons: None,
        motif_nb: "auto".into(),
        max_motif_nb: 3,
        db: Some(db),
        seed,
        threads,
        alphabet: None,
        keep_samples: false,
        shard: None,
        conv: Conv::Direct,
        quiet,
    })
}

/// `auto`, `N`, or a comma-separated list of those with per-layer overrides `L=auto` / `L=N`
/// (`auto,5=2`: automatic everywhere but layer 5, which uses 2).
fn parse_motif_nb(text: &str, max: u32) -> Result<(MotifNb, BTreeMap<usize, MotifNb>)> {
    let rule = |v: &str| -> Result<MotifNb> {
        match v.trim() {
            "auto" => Ok(MotifNb::Auto { max }),
            n => n.parse().map(MotifNb::Fixed).map_err(|_| {
                format!(
                    "--motif-nb {text:?}: {n:?} is not auto or a number 1-4 \
                     (expected e.g. auto, 2, or auto,5=2)"
                )
                .into()
            }),
        }
    };
    let mut default = None;
    let mut layers = BTreeMap::new();
    for item in text.split(',') {
        match item.split_once('=') {
            Some((l, v)) => {
                let l: usize = l.trim().parse().ok().filter(|&l| l >= 1).ok_or_else(|| {
                    format!("--motif-nb {text:?}: {l:?} is not a conv layer number (1, 2, ...)")
                })?;
                if layers.insert(l, rule(v)?).is_some() {
                    return Err(format!("--motif-nb {text:?}: layer {l} is given twice").into());
                }
            }
            None => {
                if default.replace(rule(item)?).is_some() {
                    return Err(format!(
                        "--motif-nb {text:?}: more than one value for all layers \
                         (expected e.g. auto,5=2)"
                    )
                    .into());
                }
            }
        }
    }
    let default = default.unwrap_or(MotifNb::Auto { max });
    Ok((default, layers))
}

fn run(args: RunArgs) -> Result<()> {
    let mut config = PipelineConfig::new(&args.model, &args.out);
    config.keras_alphabet = args.alphabet.as_deref().map(parse_alphabet).transpose()?;
    config.layers = args.layers.as_deref().map(parse_layers).transpose()?;
    config.neurons = args.neurons.as_deref().map(parse_neurons).transpose()?;
    (config.motif_nb, config.motif_nb_layers) = parse_motif_nb(&args.motif_nb, args.max_motif_nb)?;
    config.db = args.db;
    config.seed = args.seed;
    config.threads = args.threads;
    config.keep_samples = args.keep_samples;
    config.conv = match args.conv {
        Conv::Direct => neuronmotif::cnn::ConvAlgorithm::Direct,
        Conv::Winograd => neuronmotif::cnn::ConvAlgorithm::Winograd,
        Conv::Bf16 => neuronmotif::cnn::ConvAlgorithm::Bf16,
    };
    config.shard = args
        .shard
        .as_deref()
        .map(|s| s.parse::<neuronmotif::pipeline::Shard>())
        .transpose()?;
    let pipeline = Pipeline::new(config)?;
    if let (Some(r), false) = (&pipeline.config().neurons, args.quiet) {
        for l in pipeline.layers() {
            let channels = pipeline.model().conv(l)?.out_channels();
            if r.end > channels {
                eprintln!(
                    "note: conv layer {l} has {channels} neurons; --neurons {}..{} runs {}..{channels} there",
                    r.start, r.end, r.start
                );
            }
        }
    }
    let bars = progress::Bars::new(args.quiet, pipeline.model());
    let summary = pipeline.run(&bars)?;
    bars.finish();
    if !args.quiet {
        progress::print_summary(&summary);
    }
    Ok(())
}

fn tomtom(args: TomtomArgs) -> Result<()> {
    let distance = match args.dist {
        Dist::Pearson => Distance::Pearson,
        Dist::Ed => Distance::Euclidean,
        Dist::Sandelin => Distance::Sandelin,
    };
    let threshold = if args.evalue {
        Threshold::EValue(args.thresh)
    } else {
        Threshold::QValue(args.thresh)
    };
    let qfile = neuronmotif::io::MotifFile::read_path(&args.query, &Default::default())?;
    let tfile = neuronmotif::io::MotifFile::read_path(&args.target, &Default::default())?;
    let params = TomtomParams::new()
        .distance(distance)
        .threshold(threshold)
        .min_overlap(args.min_overlap)
        .reverse_complements(!args.norc)
        .background(neuronmotif::tomtom::file_background(&qfile))
        .check()?;
    let db = TargetDb::new(neuronmotif::tomtom::motifs_from_file(&tfile)?, &params)?;
    let queries = neuronmotif::tomtom::motifs_from_file(&qfile)?;
    // Compact rows, turned into text rows one at a time as they are written.
    let found = db.search_batch(&queries)?;
    let matches = || found.iter().flat_map(|q| q.matches(&db));
    let cmd = std::env::args().collect::<Vec<_>>().join(" ");
    if args.text {
        let stdout = std::io::stdout();
        neuronmotif::tomtom::tsv::write_tsv(stdout.lock(), matches(), &cmd)?;
    } else {
        std::fs::create_dir_all(&args.oc)?;
        let p = args.oc.join("tomtom.tsv");
        let f = std::fs::File::create(&p)?;
        neuronmotif::tomtom::tsv::write_tsv(std::io::BufWriter::new(f), matches(), &cmd)?;
        let n: usize = found.iter().map(|q| q.rows.len()).sum();
        eprintln!("wrote {} ({n} matches)", p.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_layers("3").unwrap(), 3..=3);
        assert_eq!(parse_layers("1..=5").unwrap(), 1..=5);
        assert_eq!(parse_layers("2..4").unwrap(), 2..=3);
        assert!(parse_layers("4..2").is_err());
        assert!(parse_layers("x").is_err());
        assert_eq!(parse_neurons("0..64").unwrap(), 0..64);
        assert_eq!(parse_neurons("7").unwrap(), 7..8);
        assert_eq!(parse_neurons("0..=3").unwrap(), 0..4);
    }

    #[test]
    fn motif_nb_rules() {
        let auto = MotifNb::Auto { max: 3 };
        assert_eq!(parse_motif_nb("auto", 3).unwrap(), (auto, BTreeMap::new()));
        assert_eq!(
            parse_motif_nb("2", 3).unwrap(),
            (MotifNb::Fixed(2), BTreeMap::new())
        );
        let (d, l) = parse_motif_nb("auto,5=2, 3=auto", 4).unwrap();
        assert_eq!(d, MotifNb::Auto { max: 4 });
        assert_eq!(
            l.into_iter().collect::<Vec<_>>(),
            vec![(3, MotifNb::Auto { max: 4 }), (5, MotifNb::Fixed(2))]
        );
        assert_eq!(
            parse_motif_nb("5=2", 3).unwrap(),
            (auto, BTreeMap::from([(5, MotifNb::Fixed(2))]))
        );
        for bad in [
            "x", "auto,0=2", "auto,a=2", "auto,5=y", "", "auto,2", "5=2,5=3",
        ] {
            let e = parse_motif_nb(bad, 3).unwrap_err().to_string();
            assert!(e.contains("--motif-nb"), "{bad}: {e}");
        }
    }
}
