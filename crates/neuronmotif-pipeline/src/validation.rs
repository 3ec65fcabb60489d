//! Scoring a run against planted ground truth: did the method find the motifs a model was
//! built to recognise, where they were built to sit?
//!
//! A *planted* model is one whose neurons were set by hand (`cargo xtask gen-planted`): its
//! layer-1 filters are log-odds matrices of chosen JASPAR motifs and its higher neurons fire
//! for designed combinations of them. Beside each model a [`Truth`] file lists, per neuron, the
//! planted motifs (JASPAR ID, strand), every receptive-field start each may take when the
//! neuron fires, and the joint placements (one per true shift state). [`score_run`] reads what
//! a run directory reports for those neurons (`crms.tsv`, `segments.meme`, `matches.tsv`) and
//! returns a [`Recovery`]:
//!
//! * a planted motif is **recovered** in a CRM when one of the CRM's segments matches the
//!   planted JASPAR matrix in `matches.tsv` with q-value at most [`ScoreParams::q_threshold`],
//!   on the planted strand (`+` when the site reads as the JASPAR matrix, `-` when it reads as
//!   its reverse complement);
//! * the match's **position** is the receptive-field start of the aligned JASPAR matrix,
//!   `segment start − Tomtom offset`, compared with the allowed starts;
//! * a **placement** (shift state) is recovered when one CRM holds every planted motif of the
//!   neuron at exactly that placement's starts;
//! * for two-motif neurons the **spacing** (start of the second minus start of the first) in
//!   each CRM holding both is compared with the allowed spacings;
//! * **precision** is the fraction of the neuron's CRMs that hold at least one planted motif.
//!
//! The run must have been made with `--db` pointing at a file that holds the planted IDs
//! (the project's `testdata/jaspar/JASPAR2024_demo_subset.meme` does).
//! The truth format is documented in `docs/validation.md`.
//!
//! ```no_run
//! use std::path::Path;
//! use neuronmotif_pipeline::validation::{score_run, Truth};
//! use neuronmotif_pipeline::{Pipeline, PipelineConfig};
//!
//! let mut config = PipelineConfig::new("testdata/planted/single.safetensors", "run");
//! config.db = Some("testdata/jaspar/JASPAR2024_demo_subset.meme".into());
//! Pipeline::new(config)?.run(&neuronmotif_sample::Silent)?;
//! let truth = Truth::read(Path::new("testdata/planted/single.truth.json"))?;
//! let recovery = score_run(Path::new("run"), &truth)?;
//! print!("{recovery}"); // a Markdown table, one row per planted motif
//! assert_eq!(recovery.totals().dead_as_designed, 1);
//! # Ok::<(), neuronmotif_pipeline::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use neuronmotif_io::{Format, MotifFile, ReadOptions};
use neuronmotif_tomtom::tsv::{read_tsv, TsvRow};
use neuronmotif_tomtom::Orientation;
use serde::{Deserialize, Serialize};

use crate::run_dir::{layer_dir, RunJson};
use crate::Error;

/// The `format` value of a truth file this version reads and writes.
pub const TRUTH_FORMAT: &str = "neuronmotif-planted-truth/1";

/// The strand a planted site reads on, relative to its JASPAR matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Strand {
    /// The site reads as the JASPAR matrix.
    #[serde(rename = "+")]
    Forward,
    /// The site reads as the reverse complement of the JASPAR matrix.
    #[serde(rename = "-")]
    Reverse,
}

impl Strand {
    /// `+` or `-`.
    pub fn symbol(self) -> char {
        match self {
            Strand::Forward => '+',
            Strand::Reverse => '-',
        }
    }

    fn orientation(self) -> Orientation {
        match self {
            Strand::Forward => Orientation::Forward,
            Strand::Reverse => Orientation::Reverse,
        }
    }
}

/// What a planted neuron was built to recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// One motif (at one or several starts, through the max-pools below).
    Single,
    /// Two motifs whose spacing is fixed: they shift together.
    PairFixed,
    /// Two motifs that shift independently, so their spacing varies (needs motif_nb 2).
    PairFlexible,
    /// No excitatory path from the input: the neuron can never fire.
    Dead,
}

impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Design::Single => "single",
            Design::PairFixed => "pair_fixed",
            Design::PairFlexible => "pair_flexible",
            Design::Dead => "dead",
        })
    }
}

/// One motif planted in a neuron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedMotif {
    /// JASPAR matrix ID, e.g. `MA0139.2`.
    pub id: String,
    /// JASPAR name, e.g. `CTCF`.
    pub name: String,
    /// Strand the neuron reads it on.
    pub strand: Strand,
    /// Width of the JASPAR matrix (bp).
    pub width: usize,
    /// Every receptive-field start (0-based bp, leftmost base of the site) the motif may take
    /// when the neuron fires, ascending.
    pub positions: Vec<i64>,
}

/// The ground truth of one neuron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuronTruth {
    /// Conv layer, 1-based.
    pub layer: usize,
    /// Channel, 0-based.
    pub neuron: usize,
    /// Receptive field of the layer (bp).
    pub rf: usize,
    /// The grammar it was built for.
    pub design: Design,
    /// The number of independently shifting motifs (the motif_nb that resolves every
    /// placement into its own CRM); 0 for a dead neuron.
    pub motif_nb: u32,
    /// The conv weights are negated and the batchnorm γ is negative, so the net effect of the
    /// planted motifs is still excitatory.
    #[serde(default)]
    pub negative_gamma: bool,
    /// One sentence for people.
    pub description: String,
    /// The planted motifs, in receptive-field order of their first placement.
    pub motifs: Vec<PlantedMotif>,
    /// The joint placements: entry `j` of a placement is the start of `motifs[j]`. One per
    /// shift state the neuron really has; sorted.
    pub placements: Vec<Vec<i64>>,
}

/// The ground truth of a planted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// [`TRUTH_FORMAT`].
    pub format: String,
    /// The model file this describes (file name, beside the truth file).
    pub model: String,
    /// What the model is, for people.
    pub description: String,
    /// The motif file the IDs and matrices were taken from (file name).
    pub database: String,
    /// How the files were made.
    pub generator: String,
    /// Every planted neuron.
    pub neurons: Vec<NeuronTruth>,
}

impl Truth {
    /// Read and check a truth file.
    pub fn read(path: &Path) -> Result<Truth, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
        let truth: Truth = serde_json::from_str(&text).map_err(|e| Error::RunDir {
            path: path.to_path_buf(),
            message: format!("not a planted-truth file ({e})"),
        })?;
        truth.check().map_err(|message| Error::RunDir {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(truth)
    }

    /// Pretty JSON with a final newline (what the generator writes); arrays of numbers stay
    /// on one line, so a placement reads `[4, 19]`.
    pub fn to_json(&self) -> Result<String, Error> {
        let pretty =
            serde_json::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        Ok(inline_number_arrays(&pretty) + "\n")
    }

    /// Internal consistency: format, placements of the right arity whose entries are allowed
    /// positions, and every position used by some placement.
    pub fn check(&self) -> Result<(), String> {
        if self.format != TRUTH_FORMAT {
            return Err(format!(
                "format {:?}, expected {TRUTH_FORMAT:?}",
                self.format
            ));
        }
        for n in &self.neurons {
            let at = format!("layer {} neuron {}", n.layer, n.neuron);
            if (n.design == Design::Dead) != n.motifs.is_empty() {
                return Err(format!(
                    "{at}: a dead neuron, and only a dead one, has no motifs"
                ));
            }
            for p in &n.placements {
                if p.len() != n.motifs.len() {
                    return Err(format!(
                        "{at}: placement {p:?} has {} starts for {} motifs",
                        p.len(),
                        n.motifs.len()
                    ));
                }
            }
            for (j, m) in n.motifs.iter().enumerate() {
                let used: BTreeSet<i64> = n.placements.iter().map(|p| p[j]).collect();
                let allowed: BTreeSet<i64> = m.positions.iter().copied().collect();
                if used != allowed {
                    return Err(format!(
                        "{at}: {} positions {:?} differ from those its placements use {:?}",
                        m.id, allowed, used
                    ));
                }
                if m.positions
                    .iter()
                    .any(|&s| s < 0 || s as usize + m.width > n.rf)
                {
                    return Err(format!(
                        "{at}: {} has a start outside the receptive field",
                        m.id
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Put every array whose elements are all numbers on one line.
fn inline_number_arrays(pretty: &str) -> String {
    let lines: Vec<&str> = pretty.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.ends_with('[') {
            let mut items = Vec::new();
            let mut j = i + 1;
            while j < lines.len() {
                let t = lines[j].trim();
                let item = t.trim_end_matches(',');
                if !item.is_empty() && item.parse::<f64>().is_ok() {
                    items.push(item);
                    j += 1;
                } else {
                    break;
                }
            }
            if let Some(close) = lines.get(j).map(|l| l.trim()) {
                if !items.is_empty() && (close == "]" || close == "],") {
                    out.push(format!("{}{}{}", line, items.join(", "), close));
                    i = j + 1;
                    continue;
                }
            }
        }
        out.push(line.to_string());
        i += 1;
    }
    out.join("\n")
}

/// Scoring settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreParams {
    /// A segment matches a planted matrix when its Tomtom q-value is at most this
    /// (default 0.05).
    pub q_threshold: f64,
}

impl Default for ScoreParams {
    fn default() -> Self {
        ScoreParams { q_threshold: 0.05 }
    }
}

/// How one planted motif of a neuron was recovered.
#[derive(Debug, Clone, PartialEq)]
pub struct MotifRecovery {
    /// JASPAR ID.
    pub id: String,
    /// JASPAR name.
    pub name: String,
    /// Planted strand.
    pub strand: Strand,
    /// CRMs of the neuron holding it on the planted strand (q at most the threshold).
    pub crms: usize,
    /// CRMs that match it only on the other strand.
    pub wrong_strand_crms: usize,
    /// Lowest q-value of a match on the planted strand, over all the neuron's segments.
    pub best_q: Option<f64>,
    /// Allowed starts (from the truth).
    pub allowed: Vec<i64>,
    /// Starts where it was found (distinct, ascending).
    pub found: Vec<i64>,
    /// Largest distance of a found start from the nearest allowed start (bp).
    pub max_position_error_bp: Option<u64>,
}

impl MotifRecovery {
    /// Found in at least one CRM.
    pub fn recovered(&self) -> bool {
        self.crms > 0
    }

    /// Allowed starts that were found.
    pub fn covered(&self) -> usize {
        self.found
            .iter()
            .filter(|s| self.allowed.binary_search(s).is_ok())
            .count()
    }
}

/// Spacings of a two-motif neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct SpacingRecovery {
    /// Allowed spacings (start of the second motif minus start of the first), ascending.
    pub allowed: Vec<i64>,
    /// The spacing in each CRM holding both motifs (the combination closest to an allowed
    /// spacing when a CRM holds several matches of one motif).
    pub found: Vec<i64>,
}

impl SpacingRecovery {
    fn error(&self, s: i64) -> u64 {
        self.allowed
            .iter()
            .map(|a| a.abs_diff(s))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// CRMs whose spacing is an allowed one.
    pub fn exact(&self) -> usize {
        self.found.iter().filter(|&&s| self.error(s) == 0).count()
    }

    /// Largest distance of a found spacing from the nearest allowed spacing (bp).
    pub fn max_error_bp(&self) -> Option<u64> {
        self.found.iter().map(|&s| self.error(s)).max()
    }

    /// Mean distance of the found spacings from the nearest allowed spacing (bp).
    pub fn mean_error_bp(&self) -> Option<f64> {
        (!self.found.is_empty()).then(|| {
            self.found
                .iter()
                .map(|&s| self.error(s) as f64)
                .sum::<f64>()
                / self.found.len() as f64
        })
    }
}

/// How one planted neuron was recovered.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronRecovery {
    /// Conv layer.
    pub layer: usize,
    /// Channel.
    pub neuron: usize,
    /// Its design.
    pub design: Design,
    /// Whether the run covered this neuron (its layer completed and the neuron was in range).
    pub scored: bool,
    /// CRMs the run reported for it.
    pub crms: usize,
    /// CRMs holding at least one planted motif.
    pub explained_crms: usize,
    /// Segments of its CRMs that matched none of its planted motifs.
    pub unexplained_segments: usize,
    /// One entry per planted motif.
    pub motifs: Vec<MotifRecovery>,
    /// Placements (true shift states) in the truth.
    pub placements: usize,
    /// Placements some CRM holds exactly.
    pub placements_recovered: usize,
    /// Spacings, for two-motif neurons.
    pub spacing: Option<SpacingRecovery>,
}

impl NeuronRecovery {
    /// Fraction of the reported CRMs holding a planted motif (`None` without CRMs).
    pub fn precision(&self) -> Option<f64> {
        (self.crms > 0).then(|| self.explained_crms as f64 / self.crms as f64)
    }

    /// A dead neuron reported no CRM.
    pub fn dead_as_designed(&self) -> Option<bool> {
        (self.design == Design::Dead).then_some(self.crms == 0)
    }
}

/// Totals over the scored neurons of a [`Recovery`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Neurons scored (dead ones included).
    pub neurons: usize,
    /// Planted motifs over the scored live neurons.
    pub motifs: usize,
    /// Of which recovered in at least one CRM.
    pub motifs_recovered: usize,
    /// Planted motifs recovered at an allowed start in some CRM.
    pub motifs_placed: usize,
    /// Placements over the scored neurons.
    pub placements: usize,
    /// Of which recovered exactly.
    pub placements_recovered: usize,
    /// CRMs of the scored live neurons.
    pub crms: usize,
    /// Of which holding a planted motif.
    pub explained_crms: usize,
    /// Dead neurons scored.
    pub dead: usize,
    /// Of which reported no CRM.
    pub dead_as_designed: usize,
}

/// The outcome of [`score_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The truth's model file name.
    pub model: String,
    /// The q-value threshold used.
    pub q_threshold: f64,
    /// One entry per neuron of the truth, in its order.
    pub neurons: Vec<NeuronRecovery>,
}

impl Recovery {
    /// Totals over the scored neurons.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for n in self.neurons.iter().filter(|n| n.scored) {
            t.neurons += 1;
            t.placements += n.placements;
            t.placements_recovered += n.placements_recovered;
            if let Some(ok) = n.dead_as_designed() {
                t.dead += 1;
                t.dead_as_designed += usize::from(ok);
                continue;
            }
            t.crms += n.crms;
            t.explained_crms += n.explained_crms;
            for m in &n.motifs {
                t.motifs += 1;
                t.motifs_recovered += usize::from(m.recovered());
                t.motifs_placed += usize::from(m.covered() > 0);
            }
        }
        t
    }

    /// The recovery of one neuron.
    pub fn neuron(&self, layer: usize, neuron: usize) -> Option<&NeuronRecovery> {
        self.neurons
            .iter()
            .find(|n| n.layer == layer && n.neuron == neuron)
    }
}

fn list(v: &[i64]) -> String {
    let s: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("{{{}}}", s.join(","))
}

impl fmt::Display for Recovery {
    /// A Markdown table, one row per planted motif (one per dead neuron), then the totals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} (q <= {})\n",
            self.model,
            self.run_dir.display(),
            self.q_threshold
        )?;
        writeln!(f, "| layer | neuron | design | motif | strand | CRMs with it / CRMs | best q | starts found / allowed | outside allowed | placements found / true | spacing exact / pairs (max err bp) | precision |")?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
        for n in &self.neurons {
            let design = if n.design == Design::Dead {
                "dead".to_string()
            } else {
                n.design.to_string()
            };
            if !n.scored {
                writeln!(
                    f,
                    "| {} | {} | {design} | (not in this run) | | | | | | | | |",
                    n.layer, n.neuron
                )?;
                continue;
            }
            if let Some(ok) = n.dead_as_designed() {
                writeln!(
                    f,
                    "| {} | {} | dead | none | | {} CRMs | | | | | | {} |",
                    n.layer,
                    n.neuron,
                    n.crms,
                    if ok { "dead as designed" } else { "NOT dead" }
                )?;
                continue;
            }
            for (j, m) in n.motifs.iter().enumerate() {
                let outside: Vec<i64> = m
                    .found
                    .iter()
                    .copied()
                    .filter(|s| m.allowed.binary_search(s).is_err())
                    .collect();
                let shared = |s: String| if j == 0 { s } else { "\"".to_string() };
                writeln!(
                    f,
                    "| {} | {} | {} | {} {} | {}{} | {} / {} | {} | {} of {} {} | {} | {} | {} | {} |",
                    n.layer,
                    n.neuron,
                    design,
                    m.name,
                    m.id,
                    m.strand.symbol(),
                    if m.wrong_strand_crms > 0 {
                        format!(" ({} CRMs other strand)", m.wrong_strand_crms)
                    } else {
                        String::new()
                    },
                    m.crms,
                    n.crms,
                    m.best_q.map_or("-".into(), |q| format!("{q:.2e}")),
                    m.covered(),
                    m.allowed.len(),
                    list(&m.allowed),
                    if outside.is_empty() {
                        "-".into()
                    } else {
                        format!("{} (max {} bp off)", list(&outside), m.max_position_error_bp.unwrap_or(0))
                    },
                    shared(format!("{} / {}", n.placements_recovered, n.placements)),
                    shared(match &n.spacing {
                        Some(s) if !s.found.is_empty() => format!(
                            "{} / {} ({})",
                            s.exact(),
                            s.found.len(),
                            s.max_error_bp().unwrap_or(0)
                        ),
                        Some(_) => "0 / 0".into(),
                        None => "-".into(),
                    }),
                    shared(n.precision().map_or("-".into(), |p| format!("{p:.2}"))),
                )?;
            }
        }
        let t = self.totals();
        writeln!(
            f,
            "\ntotals: {} neurons; motifs recovered {}/{}, at an allowed start {}/{}; placements {}/{}; CRMs explained {}/{}; dead neurons silent {}/{}",
            t.neurons,
            t.motifs_recovered,
            t.motifs,
            t.motifs_placed,
            t.motifs,
            t.placements_recovered,
            t.placements,
            t.explained_crms,
            t.crms,
            t.dead_as_designed,
            t.dead
        )
    }
}

/// A CRM row of `crms.tsv`.
#[derive(Debug, Clone)]
struct CrmRow {
    neuron: usize,
    id: String,
}

/// The parts of a layer directory the scoring reads.
#[derive(Debug, Default)]
struct LayerFiles {
    crms: Vec<CrmRow>,
    /// Segment id -> (CRM id, start in the receptive field).
    segments: BTreeMap<String, (String, i64)>,
    /// Matches, grouped by query (segment) id.
    matches: BTreeMap<String, Vec<TsvRow>>,
}

fn read_layer(run_dir: &Path, layer: usize) -> Result<LayerFiles, Error> {
    let dir = layer_dir(run_dir, layer);
    let bad = |path: &Path, message: String| Error::RunDir {
        path: path.to_path_buf(),
        message,
    };
    let crms_path = dir.join("crms.tsv");
    let text = std::fs::read_to_string(&crms_path).map_err(|e| Error::file(&crms_path, e))?;
    let mut crms = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let parsed = match f.as_slice() {
            [l, n, s, ..] => match (l.parse::<usize>(), n.parse::<usize>()) {
                (Ok(l), Ok(n)) if l == layer => Some(CrmRow {
                    neuron: n,
                    id: format!("L{l}_N{n}_S{s}"),
                }),
                _ => None,
            },
            _ => None,
        };
        crms.push(parsed.ok_or_else(|| {
            bad(
                &crms_path,
                format!("line {}: expected `{layer} <neuron> <shift> ...`", i + 1),
            )
        })?);
    }
    let seg_path = dir.join("segments.meme");
    let mut segments = BTreeMap::new();
    let seg_text = std::fs::read_to_string(&seg_path).map_err(|e| Error::file(&seg_path, e))?;
    // a layer without any informative segment writes a MEME header and no motif
    if seg_text.contains("\nMOTIF ") {
        let file = MotifFile::read_path(&seg_path, &ReadOptions::with_format(Format::Meme))?;
        for m in file.motifs {
            let (crm, range) = m.id.rsplit_once('_').ok_or_else(|| {
                bad(
                    &seg_path,
                    format!("segment id {:?} is not <crm>_<start>-<end>", m.id),
                )
            })?;
            let start: i64 = range
                .split_once('-')
                .and_then(|(a, _)| a.parse().ok())
                .ok_or_else(|| bad(&seg_path, format!("segment id {:?} has no start", m.id)))?;
            segments.insert(m.id.clone(), (crm.to_string(), start));
        }
    }
    let match_path = dir.join("matches.tsv");
    if !match_path.exists() {
        return Err(bad(
            &match_path,
            "the run has no database matches; run it with --db (a file holding the planted JASPAR IDs)".into(),
        ));
    }
    let f = std::fs::File::open(&match_path).map_err(|e| Error::file(&match_path, e))?;
    let mut matches: BTreeMap<String, Vec<TsvRow>> = BTreeMap::new();
    let rows = read_tsv(std::io::BufReader::new(f)).map_err(|e| bad(&match_path, e.to_string()))?;
    for row in rows {
        matches.entry(row.query_id.clone()).or_default().push(row);
    }
    Ok(LayerFiles {
        crms,
        segments,
        matches,
    })
}

/// `"all"` or `"a..b"` from run.json.
fn neuron_in_range(spec: &str, neuron: usize) -> bool {
    match spec.split_once("..") {
        Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
            (Ok(a), Ok(b)) => (a..b).contains(&neuron),
            _ => false,
        },
        None => spec == "all",
    }
}

/// Score the run directory `run_dir` against `truth` with the default [`ScoreParams`].
pub fn score_run(run_dir: &Path, truth: &Truth) -> Result<Recovery, Error> {
    score_run_with(run_dir, truth, &ScoreParams::default())
}

/// Score the run directory `run_dir` against `truth`.
pub fn score_run_with(
    run_dir: &Path,
    truth: &Truth,
    params: &ScoreParams,
) -> Result<Recovery, Error> {
    truth.check().map_err(Error::Config)?;
    let run = RunJson::read(run_dir)?.ok_or_else(|| Error::RunDir {
        path: run_dir.to_path_buf(),
        message: "no run.json: not a run directory".into(),
    })?;
    check_database(&run, truth)?;
    let mut layers: BTreeMap<usize, LayerFiles> = BTreeMap::new();
    let mut out = Vec::with_capacity(truth.neurons.len());
    for n in &truth.neurons {
        let done = run.results.iter().find(|r| r.layer == n.layer);
        if let Some(r) = done {
            if r.rf != n.rf {
                return Err(Error::Config(format!(
                    "{}: layer {} has RF {} in the run but {} in the truth: the truth file is for another model",
                    run_dir.display(),
                    n.layer,
                    r.rf,
                    n.rf
                )));
            }
        }
        let scored = done.is_some() && neuron_in_range(&run.neurons, n.neuron);
        if !scored {
            out.push(NeuronRecovery {
                layer: n.layer,
                neuron: n.neuron,
                design: n.design,
                scored: false,
                crms: 0,
                explained_crms: 0,
                unexplained_segments: 0,
                motifs: Vec::new(),
                placements: n.placements.len(),
                placements_recovered: 0,
                spacing: None,
            });
            continue;
        }
        let files = match layers.entry(n.layer) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(read_layer(run_dir, n.layer)?)
            }
        };
        out.push(score_neuron(n, files, params));
    }
    Ok(Recovery {
        run_dir: run_dir.to_path_buf(),
        model: truth.model.clone(),
        q_threshold: params.q_threshold,
        neurons: out,
    })
}

/// When run.json names a readable database, it must hold every planted ID.
fn check_database(run: &RunJson, truth: &Truth) -> Result<(), Error> {
    let Some(db) = &run.db else {
        return Err(Error::Config(
            "the run was made without --db, so nothing was matched: rerun it with --db testdata/jaspar/JASPAR2024_demo_subset.meme".into(),
        ));
    };
    let path = Path::new(db);
    let Ok(file) = MotifFile::read_path(path, &ReadOptions::default()) else {
        return Ok(()); // not reachable from here (relative to another directory): trust the run
    };
    let ids: BTreeSet<&str> = file.motifs.iter().map(|m| m.id.as_str()).collect();
    for n in &truth.neurons {
        for m in &n.motifs {
            if !ids.contains(m.id.as_str()) {
                return Err(Error::Config(format!(
                    "the run's database {db} does not hold the planted motif {} ({}): it could never be recovered",
                    m.id, m.name
                )));
            }
        }
    }
    Ok(())
}

fn score_neuron(n: &NeuronTruth, files: &LayerFiles, params: &ScoreParams) -> NeuronRecovery {
    let crms: Vec<&CrmRow> = files.crms.iter().filter(|c| c.neuron == n.neuron).collect();
    // per CRM, per motif: starts on the planted strand, and whether the other strand matched
    let mut starts: Vec<Vec<BTreeSet<i64>>> =
        vec![vec![BTreeSet::new(); n.motifs.len()]; crms.len()];
    let mut wrong: Vec<Vec<bool>> = vec![vec![false; n.motifs.len()]; crms.len()];
    let mut best_q: Vec<Option<f64>> = vec![None; n.motifs.len()];
    let mut unexplained = 0;
    let index: BTreeMap<&str, usize> = crms
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    for (seg_id, (crm_id, seg_start)) in &files.segments {
        let Some(&ci) = index.get(crm_id.as_str()) else {
            continue;
        };
        let mut explained = false;
        for row in files.matches.get(seg_id).map(Vec::as_slice).unwrap_or(&[]) {
            if row.q_value.is_none_or(|q| q > params.q_threshold) {
                continue;
            }
            for (j, m) in n.motifs.iter().enumerate() {
                if row.target_id != m.id {
                    continue;
                }
                if row.orientation == m.strand.orientation() {
                    starts[ci][j].insert(seg_start - row.offset);
                    let q = row.q_value.unwrap_or(f64::INFINITY);
                    best_q[j] = Some(best_q[j].map_or(q, |b: f64| b.min(q)));
                    explained = true;
                } else if !n
                    .motifs
                    .iter()
                    .any(|o| o.id == m.id && o.strand.orientation() == row.orientation)
                {
                    // (a match on the other strand that another planted site of the same
                    // matrix explains, as in an inverted repeat, is not a strand error)
                    wrong[ci][j] = true;
                }
            }
        }
        unexplained += usize::from(!explained);
    }
    let motifs: Vec<MotifRecovery> = n
        .motifs
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let found: BTreeSet<i64> = starts.iter().flat_map(|s| s[j].iter().copied()).collect();
            let allowed = m.positions.clone();
            let err = |s: i64| {
                allowed
                    .iter()
                    .map(|a| a.abs_diff(s))
                    .min()
                    .unwrap_or(u64::MAX)
            };
            MotifRecovery {
                id: m.id.clone(),
                name: m.name.clone(),
                strand: m.strand,
                crms: starts.iter().filter(|s| !s[j].is_empty()).count(),
                wrong_strand_crms: (0..crms.len())
                    .filter(|&c| wrong[c][j] && starts[c][j].is_empty())
                    .count(),
                best_q: best_q[j],
                max_position_error_bp: found.iter().map(|&s| err(s)).max(),
                found: found.into_iter().collect(),
                allowed,
            }
        })
        .collect();
    let placements_recovered = n
        .placements
        .iter()
        .filter(|p| {
            starts
                .iter()
                .any(|s| p.iter().zip(s).all(|(x, set)| set.contains(x)))
        })
        .count();
    let spacing = (n.motifs.len() == 2).then(|| {
        let allowed: BTreeSet<i64> = n.placements.iter().map(|p| p[1] - p[0]).collect();
        let mut s = SpacingRecovery {
            allowed: allowed.into_iter().collect(),
            found: Vec::new(),
        };
        for c in &starts {
            let best = c[0]
                .iter()
                .flat_map(|a| c[1].iter().map(move |b| b - a))
                .min_by_key(|&d| (s.error(d), d));
            if let Some(d) = best {
                s.found.push(d);
            }
        }
        s
    });
    NeuronRecovery {
        layer: n.layer,
        neuron: n.neuron,
        design: n.design,
        scored: true,
        crms: crms.len(),
        explained_crms: starts
            .iter()
            .filter(|s| s.iter().any(|m| !m.is_empty()))
            .count(),
        unexplained_segments: unexplained,
        motifs,
        placements: n.placements.len(),
        placements_recovered,
        spacing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> Truth {
        Truth {
            format: TRUTH_FORMAT.into(),
            model: "m.safetensors".into(),
            description: "test".into(),
            database: "db.meme".into(),
            generator: "hand".into(),
            neurons: vec![
                NeuronTruth {
                    layer: 2,
                    neuron: 0,
                    rf: 40,
                    design: Design::PairFlexible,
                    motif_nb: 2,
                    negative_gamma: false,
                    description: "A then B".into(),
                    motifs: vec![
                        PlantedMotif {
                            id: "MA1".into(),
                            name: "A".into(),
                            strand: Strand::Forward,
                            width: 6,
                            positions: vec![0, 1],
                        },
                        PlantedMotif {
                            id: "MA2".into(),
                            name: "B".into(),
                            strand: Strand::Reverse,
                            width: 6,
                            positions: vec![20, 21],
                        },
                    ],
                    placements: vec![vec![0, 20], vec![0, 21], vec![1, 20], vec![1, 21]],
                },
                NeuronTruth {
                    layer: 2,
                    neuron: 1,
                    rf: 40,
                    design: Design::Dead,
                    motif_nb: 0,
                    negative_gamma: false,
                    description: "dead".into(),
                    motifs: vec![],
                    placements: vec![],
                },
            ],
        }
    }

    #[test]
    fn truth_round_trips_and_is_checked() {
        let t = truth();
        let json = t.to_json().unwrap();
        assert!(json.contains("\"strand\": \"-\""));
        assert!(json.contains("\"positions\": [0, 1]\n"), "{json}");
        assert!(json.contains("\n        [0, 20],\n"), "{json}");
        assert!(json.contains("\"design\": \"pair_flexible\""));
        let back: Truth = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        let mut bad = t.clone();
        bad.neurons[0].placements.pop();
        bad.neurons[0].placements.pop(); // position 1 of A no longer used
        bad.neurons[0].placements.pop();
        assert!(bad.check().unwrap_err().contains("positions"));
        let mut bad = t;
        bad.neurons[0].motifs[1].positions = vec![36, 37];
        bad.neurons[0].placements = vec![vec![0, 36], vec![1, 37]];
        assert!(bad.check().unwrap_err().contains("outside"));
    }

    /// A hand-written run directory: CRM S0 holds A at 0 and B (reverse) at 20; CRM S1 holds
    /// A at 1 and B on the wrong strand; CRM S2 holds only an unrelated match.
    #[test]
    fn scores_a_hand_written_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        let l2 = run.join("layer2");
        std::fs::create_dir_all(&l2).unwrap();
        let run_json = serde_json::json!({
            "neuronmotif_version": "0", "status": "complete", "model": {}, "seed": 1, "threads": 1,
            "layers": [2], "neurons": "0..2", "motif_nb": 2, "db": "nowhere.meme",
            "sampler": {}, "decouple": {}, "fingerprint": "",
            "results": [{"layer": 2, "rf": 40, "neurons": 2, "crms": 3, "motif_nb": 2,
                "motif_nb_tried": [], "samples": 1, "resumed": 0, "sampling_s": 0.0,
                "decoupling_s": 0.0, "matching_s": 0.0, "segments": [4, 3], "wall_s": 0.0}],
            "total_s": 0.0
        });
        std::fs::write(run.join("run.json"), run_json.to_string()).unwrap();
        std::fs::write(
            l2.join("crms.tsv"),
            "layer\tneuron\tshift\tn_samples\tact_max\tconsensus_act\tconsensus\n2\t0\t0\t90\t1\t1\tA\n2\t0\t1\t80\t1\t1\tA\n2\t0\t2\t70\t1\t1\tA\n",
        )
        .unwrap();
        let seg = |id: &str| {
            format!("MOTIF {id} n1\nletter-probability matrix: alength= 4 w= 1 nsites= 20 E= 0\n 1.0 0.0 0.0 0.0\n\n")
        };
        let segs = [
            "L2_N0_S0_0-9",
            "L2_N0_S0_18-29",
            "L2_N0_S1_0-9",
            "L2_N0_S2_5-14",
        ]
        .iter()
        .map(|s| seg(s))
        .collect::<String>();
        std::fs::write(l2.join("segments.meme"), format!("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n{segs}")).unwrap();
        let row = |q: &str, t: &str, off: i64, qv: f64, o: char| {
            format!("{q}\t{t}\t{off}\t1e-6\t1e-4\t{qv}\t6\tA\tA\t{o}\n")
        };
        let mut m = String::from(neuronmotif_tomtom::tsv::TSV_HEADER);
        m.push('\n');
        m += &row("L2_N0_S0_0-9", "MA1", 0, 0.001, '+');
        m += &row("L2_N0_S0_18-29", "MA2", -2, 0.01, '-');
        m += &row("L2_N0_S0_18-29", "MA9", -2, 0.001, '+');
        m += &row("L2_N0_S1_0-9", "MA1", -1, 0.2, '+'); // above the threshold
        m += &row("L2_N0_S1_0-9", "MA1", -1, 0.02, '+');
        m += &row("L2_N0_S1_0-9", "MA2", 0, 0.02, '+'); // wrong strand
        m += &row("L2_N0_S2_5-14", "MA9", 0, 0.001, '+');
        std::fs::write(l2.join("matches.tsv"), m).unwrap();

        let r = score_run(run, &truth()).unwrap();
        let n0 = r.neuron(2, 0).unwrap();
        assert!(n0.scored);
        assert_eq!(n0.crms, 3);
        assert_eq!(n0.explained_crms, 2);
        assert_eq!(n0.precision(), Some(2.0 / 3.0));
        assert_eq!(n0.unexplained_segments, 1);
        let a = &n0.motifs[0];
        assert_eq!((a.crms, a.found.clone(), a.covered()), (2, vec![0, 1], 2));
        assert_eq!(a.best_q, Some(0.001));
        let b = &n0.motifs[1];
        assert_eq!(
            (b.crms, b.found.clone(), b.wrong_strand_crms),
            (1, vec![20], 1)
        );
        assert_eq!(n0.placements_recovered, 1);
        let s = n0.spacing.as_ref().unwrap();
        assert_eq!(s.allowed, vec![19, 20, 21]);
        assert_eq!(s.found, vec![20]);
        assert_eq!((s.exact(), s.max_error_bp()), (1, Some(0)));
        let dead = r.neuron(2, 1).unwrap();
        assert_eq!(dead.dead_as_designed(), Some(true));
        let t = r.totals();
        assert_eq!(
            (
                t.motifs,
                t.motifs_recovered,
                t.placements_recovered,
                t.placements
            ),
            (2, 2, 1, 4)
        );
        assert_eq!((t.dead, t.dead_as_designed), (1, 1));
        let table = r.to_string();
        assert!(
            table.contains("| 2 | 0 | pair_flexible | A MA1 | + | 2 / 3 |"),
            "{table}"
        );
        assert!(table.contains("dead as designed"), "{table}");

        // a truth for another model is refused
        let mut other = truth();
        other.neurons[0].rf = 41;
        other.neurons[0].motifs[1].positions = vec![20, 21];
        assert!(score_run(run, &other)
            .unwrap_err()
            .to_string()
            .contains("another model"));
    }

    #[test]
    fn neuron_ranges() {
        assert!(neuron_in_range("all", 7));
        assert!(neuron_in_range("0..2", 1));
        assert!(!neuron_in_range("0..2", 2));
    }
}
