//! `cargo xtask gen-planted`: models whose neurons recognise motifs we chose, and the ground
//! truth of what each neuron recognises and where.
//!
//! A *planted-grammar* model is a small CNN in the model-file format whose weights are set by
//! hand, so that what every neuron responds to is known exactly:
//!
//! * **Layer 1** filters are log2-odds matrices of JASPAR motifs (read from the committed
//!   subset `testdata/jaspar/JASPAR2024_demo_subset.meme`), on either strand, placed at an
//!   offset inside the kernel. Each PPM entry is smoothed to `(100·p + 0.25)/101` so no weight
//!   is infinite; with `S` the site's log-odds score, `S_max` the consensus score and
//!   `m = MARGIN_FRACTION · S_max`, the filter computes `(S − (S_max − m)) / m`: it is positive
//!   only for sites scoring above 75 % of the consensus, and exactly 1 on the consensus.
//! * **Higher layers** combine lower channels with weight 2 per required input and bias
//!   `−(2k − 1)` for `k` inputs, so a neuron fires only when *every* input exceeds 1/2 (an AND)
//!   and reaches 1 on the ideal input. One input is a single motif or a relay; two inputs are a
//!   pair. A pool between two layers lets a lower motif sit at any of the pool's positions
//!   (shift states); no pool makes a pair rigid.
//! * A **dead** neuron has only inhibitory connections and a negative bias.
//! * A **negative-γ** neuron has negated conv weights and a batchnorm with γ = −1 whose running
//!   mean carries the bias, so the net effect of its motif is excitatory.
//!
//! The truth JSON beside each model ([`neuronmotif::validation::Truth`], documented in
//! `docs/validation.md`) is derived from the design alone, by walking every excitatory path
//! from a neuron down to the layer-1 filters: a connection at tap `t` into conv layer `l − 1`
//! through a pool of size `p` reaches conv-(l − 1) units `t·p + r`, `r < p`, which start
//! `(t·p + r)·J` bp into the receptive field (`J` = product of the pools below layer `l − 1`);
//! the filter offset is added at layer 1. The tests below check that the models behave as the
//! truth says by evaluating them on constructed sequences, and compare the arithmetic with
//! `neuronmotif-field`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3};
use neuronmotif::validation::{Design, NeuronTruth, PlantedMotif, Strand, Truth, TRUTH_FORMAT};
use neuronmotif_cnn::{BatchNormLayer, ConvLayer, Layer, Model, Padding};
use neuronmotif_core::{Alphabet, Background, Ppm, Pwm};
use neuronmotif_io::{Format, Motif, MotifFile, ReadOptions};

const HELP: &str = "cargo xtask gen-planted [--out DIR] [--db FILE] [--check]

Writes the planted-grammar ground-truth models (<name>.safetensors) and their truth files
(<name>.truth.json) for the designs in xtask/src/planted.rs. Deterministic: a rerun writes
the same bytes. No Python needed.
  --out DIR   output folder (default testdata/planted)
  --db FILE   the JASPAR motifs the filters are made from
              (default testdata/jaspar/JASPAR2024_demo_subset.meme)
  --check     write nothing; fail if the files in DIR differ from what would be written";

/// Fraction of the consensus score below it that a layer-1 filter still fires: a site fires
/// when it scores above `(1 − MARGIN_FRACTION)·S_max`.
pub const MARGIN_FRACTION: f64 = 0.25;
/// The PWM is taken from the PPM as if it came from this many sites ...
const PWM_NSITES: f64 = 100.0;
/// ... plus this many pseudo-sites of uniform background: `(100·p + 0.25)/101`.
const PWM_PSEUDOCOUNT: f64 = 1.0;
/// Batchnorm ε of the planted models (PyTorch's default).
const BN_EPS: f64 = 1e-5;
/// The file the filters are made from, inside the repository.
pub const DB: &str = "testdata/jaspar/JASPAR2024_demo_subset.meme";
/// Where the models go, inside the repository.
pub const OUT: &str = "testdata/planted";

/// A layer-1 filter: a JASPAR motif on a strand, placed `offset` taps into the kernel.
#[derive(Debug, Clone)]
pub struct Filter {
    /// JASPAR matrix ID.
    pub id: &'static str,
    /// Strand the filter reads (`-`: the filter is the reverse-complement matrix).
    pub strand: Strand,
    /// First tap of the motif in the kernel.
    pub offset: usize,
    /// Negate the weights and use batchnorm γ = −1 (needs a batchnorm after conv 1).
    pub negative_gamma: bool,
}

impl Filter {
    const fn new(id: &'static str, strand: Strand, offset: usize) -> Filter {
        Filter {
            id,
            strand,
            offset,
            negative_gamma: false,
        }
    }
}

/// A higher neuron: weighted taps on the previous layer's channels.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The grammar it is built for (checked against the truth derived from its connections).
    pub design: Design,
    /// One sentence.
    pub description: &'static str,
    /// `(tap, input channel, weight)`.
    pub inputs: Vec<(usize, usize, f32)>,
    /// Bias (of the batchnorm's running mean when `negative_gamma`).
    pub bias: f32,
    /// Negated weights, γ = −1 (needs a batchnorm after this conv).
    pub negative_gamma: bool,
}

impl Unit {
    /// Fires only when every input `(tap, channel)` exceeds 1/2; 1 on the ideal input.
    fn all_of(design: Design, description: &'static str, inputs: &[(usize, usize)]) -> Unit {
        Unit {
            design,
            description,
            inputs: inputs.iter().map(|&(t, c)| (t, c, 2.0)).collect(),
            bias: -(2.0 * inputs.len() as f32 - 1.0),
            negative_gamma: false,
        }
    }

    /// Only inhibitory connections and a negative bias: never fires.
    fn dead(description: &'static str, inputs: &[(usize, usize)]) -> Unit {
        Unit {
            design: Design::Dead,
            description,
            inputs: inputs.iter().map(|&(t, c)| (t, c, -2.0)).collect(),
            bias: -1.0,
            negative_gamma: false,
        }
    }

    /// The same neuron built with negated conv weights and γ = −1.
    fn with_negative_gamma(mut self) -> Unit {
        self.negative_gamma = true;
        self
    }
}

/// Conv layer 2, 3, ...: kernel, neurons, optional batchnorm, pool after it (1 = none).
#[derive(Debug, Clone)]
pub struct Block {
    /// Taps.
    pub kernel: usize,
    /// Neurons.
    pub units: Vec<Unit>,
    /// Batchnorm after the conv.
    pub batchnorm: bool,
    /// Max-pool size (and stride) after the ReLU; 1 = no pool.
    pub pool: usize,
}

/// A planted model.
#[derive(Debug, Clone)]
pub struct PlantedDesign {
    /// File stem.
    pub name: &'static str,
    /// What it tests.
    pub description: &'static str,
    /// Kernel of conv 1.
    pub kernel1: usize,
    /// The layer-1 filters.
    pub filters: Vec<Filter>,
    /// Batchnorm after conv 1.
    pub batchnorm1: bool,
    /// Pool after conv 1 (1 = none).
    pub pool1: usize,
    /// Conv layers 2, 3, ...
    pub blocks: Vec<Block>,
}

use Strand::{Forward as Plus, Reverse as Minus};

/// The planted models.
pub fn designs() -> Vec<PlantedDesign> {
    vec![
        PlantedDesign {
            name: "single",
            description: "One motif per neuron: four JASPAR filters (one reverse-complement, one built with negated weights and batchnorm gamma -1), a max-pool of 2, and layer-2 neurons that each read one filter at one tap, so each has 2 shift states; plus a dead neuron and a negative-gamma neuron.",
            kernel1: 15,
            filters: vec![
                Filter::new("MA0139.2", Plus, 0),
                Filter::new("MA0037.5", Plus, 3),
                Filter::new("MA0143.5", Minus, 4),
                Filter {
                    negative_gamma: true,
                    ..Filter::new("MA0090.4", Plus, 3)
                },
            ],
            batchnorm1: true,
            pool1: 2,
            blocks: vec![Block {
                kernel: 6,
                batchnorm: true,
                pool: 1,
                units: vec![
                    Unit::all_of(Design::Single, "CTCF at tap 2 through a pool of 2", &[(2, 0)]),
                    Unit::all_of(Design::Single, "Gata3 at tap 0 through a pool of 2", &[(0, 1)]),
                    Unit::all_of(Design::Single, "SOX2 on the minus strand at tap 5 through a pool of 2", &[(5, 2)]),
                    Unit::dead("only inhibitory connections (CTCF at tap 0, Gata3 at tap 3) and a negative bias", &[(0, 0), (3, 1)]),
                    Unit::all_of(Design::Single, "TEAD1 at tap 3, conv weight negated and batchnorm gamma -1", &[(3, 3)]).with_negative_gamma(),
                ],
            }],
        },
        PlantedDesign {
            name: "fixed_gap",
            description: "Two motifs at a fixed gap: layer 2 combines two layer-1 filters with no pool between them (Gata3 then TAL1::TCF3 7 bp later, like the GATA1::TAL1 composite; FOXA2 then its reverse complement 6 bp later, an inverted repeat); a max-pool of 3 then lets each rigid pair shift as a whole at layer 3 (3 shift states, one spacing).",
            kernel1: 10,
            filters: vec![
                Filter::new("MA0037.5", Plus, 1),
                Filter::new("MA0091.2", Plus, 0),
                Filter::new("MA0047.4", Plus, 1),
                Filter::new("MA0047.4", Minus, 1),
            ],
            batchnorm1: false,
            pool1: 1,
            blocks: vec![
                Block {
                    kernel: 17,
                    batchnorm: false,
                    pool: 3,
                    units: vec![
                        Unit::all_of(Design::PairFixed, "Gata3, then TAL1::TCF3 starting 7 bp after Gata3 ends", &[(0, 0), (16, 1)]),
                        Unit::all_of(Design::PairFixed, "FOXA2, then reverse-complement FOXA2 starting 6 bp after it ends (inverted repeat)", &[(0, 2), (14, 3)]),
                    ],
                },
                Block {
                    kernel: 2,
                    batchnorm: false,
                    pool: 1,
                    units: vec![
                        Unit::all_of(Design::PairFixed, "the Gata3-TAL1::TCF3 pair at tap 1 through a pool of 3", &[(1, 0)]),
                        Unit::all_of(Design::PairFixed, "the FOXA2 inverted repeat at tap 0 through a pool of 3", &[(0, 1)]),
                    ],
                },
            ],
        },
        PlantedDesign {
            name: "flexible_gap",
            description: "Two motifs at a flexible gap (demo2 in miniature): CTCF and TEAD1 filters, a max-pool of 2, layer-2 relays of each, another max-pool of 2, and a layer-3 neuron needing CTCF at tap 0 and TEAD1 at tap 6. Each motif shifts independently through both pools: 4 x 4 = 16 placements, spacings 24-30 bp; motif_nb 2 is needed to give each its own CRM.",
            kernel1: 15,
            filters: vec![
                Filter::new("MA0139.2", Plus, 0),
                Filter::new("MA0090.4", Plus, 3),
            ],
            batchnorm1: false,
            pool1: 2,
            blocks: vec![
                Block {
                    kernel: 1,
                    batchnorm: false,
                    pool: 2,
                    units: vec![
                        Unit::all_of(Design::Single, "relay of CTCF through a pool of 2", &[(0, 0)]),
                        Unit::all_of(Design::Single, "relay of TEAD1 through a pool of 2", &[(0, 1)]),
                    ],
                },
                Block {
                    kernel: 7,
                    batchnorm: false,
                    pool: 1,
                    units: vec![Unit::all_of(Design::PairFlexible, "CTCF relay at tap 0 and TEAD1 relay at tap 6, each through two pools of 2", &[(0, 0), (6, 1)])],
                },
            ],
        },
    ]
}

/// JASPAR motifs by ID.
pub struct MotifDb(BTreeMap<String, Motif>);

impl MotifDb {
    /// Read a MEME file.
    pub fn read(path: &Path) -> Result<MotifDb, String> {
        let file = MotifFile::read_path(path, &ReadOptions::with_format(Format::Meme))
            .map_err(|e| e.to_string())?;
        Ok(MotifDb(
            file.motifs.into_iter().map(|m| (m.id.clone(), m)).collect(),
        ))
    }

    /// A motif by ID.
    pub fn get(&self, id: &str) -> Result<&Motif, String> {
        self.0
            .get(id)
            .ok_or_else(|| format!("motif {id} is not in the database"))
    }
}

/// The matrix a filter reads (reverse-complemented for the minus strand).
pub fn filter_ppm(db: &MotifDb, f: &Filter) -> Result<Ppm, String> {
    let ppm = db.get(f.id)?.ppm();
    Ok(match f.strand {
        Plus => ppm,
        Minus => ppm.reverse_complement(),
    })
}

/// Log2-odds weights `[w, 4]` (ACGT) and the consensus score of a filter's matrix.
fn log_odds(ppm: &Ppm) -> Result<(Vec<[f64; 4]>, f64), String> {
    let pwm = Pwm::from_ppm(ppm, PWM_NSITES, PWM_PSEUDOCOUNT, &Background::UNIFORM)
        .map_err(|e| e.to_string())?;
    let rows: Vec<[f64; 4]> = pwm
        .view()
        .outer_iter()
        .map(|r| [r[0], r[1], r[2], r[3]])
        .collect();
    Ok((rows, pwm.max_score()))
}

fn batchnorm(name: String, gamma: Vec<f32>, mean: Vec<f32>) -> Layer {
    let n = gamma.len();
    Layer::BatchNorm(BatchNormLayer {
        name,
        gamma: Array1::from(gamma),
        beta: Array1::zeros(n),
        mean: Array1::from(mean),
        var: Array1::ones(n),
        eps: BN_EPS,
    })
}

fn conv(name: String, weight: Array3<f32>, bias: Vec<f32>) -> Layer {
    Layer::Conv(ConvLayer {
        name,
        weight,
        bias: Array1::from(bias),
        has_bias: true,
        stride: 1,
        dilation: 1,
        padding: Padding::Valid,
    })
}

impl PlantedDesign {
    /// Number of conv layers.
    pub fn conv_layers(&self) -> usize {
        1 + self.blocks.len()
    }

    /// Pool after conv layer `l` (1-based).
    fn pool_after(&self, l: usize) -> usize {
        if l == 1 {
            self.pool1
        } else {
            self.blocks.get(l - 2).map_or(1, |b| b.pool)
        }
    }

    /// Kernel of conv layer `l`.
    fn kernel(&self, l: usize) -> usize {
        if l == 1 {
            self.kernel1
        } else {
            self.blocks.get(l - 2).map_or(1, |b| b.kernel)
        }
    }

    /// Jump (bp between neighbouring outputs) of conv layer `l`: the pools below it.
    fn jump(&self, l: usize) -> usize {
        (1..l).map(|j| self.pool_after(j)).product()
    }

    /// Receptive field of conv layer `l` (stride-1 convs, pools with stride = size).
    pub fn rf(&self, l: usize) -> usize {
        let mut rf = self.kernel1;
        for j in 2..=l {
            rf += (self.pool_after(j - 1) - 1) * self.jump(j - 1);
            rf += (self.kernel(j) - 1) * self.jump(j);
        }
        rf
    }

    /// Build the model; every weight comes from the design and the motif matrices.
    pub fn model(&self, db: &MotifDb) -> Result<Model, String> {
        let mut layers = Vec::new();
        // conv 1: scaled log-odds filters
        let c1 = self.filters.len();
        let mut w = Array3::<f32>::zeros((c1, 4, self.kernel1));
        let mut bias = vec![0.0f32; c1];
        let mut gamma = vec![1.0f32; c1];
        let mut mean = vec![0.0f32; c1];
        for (c, f) in self.filters.iter().enumerate() {
            let (rows, max) = log_odds(&filter_ppm(db, f)?)?;
            if f.offset + rows.len() > self.kernel1 {
                return Err(format!(
                    "{}: filter {} ({} bp at offset {}) does not fit kernel {}",
                    self.name,
                    f.id,
                    rows.len(),
                    f.offset,
                    self.kernel1
                ));
            }
            let margin = MARGIN_FRACTION * max;
            let sign = if f.negative_gamma { -1.0 } else { 1.0 };
            for (i, r) in rows.iter().enumerate() {
                for b in 0..4 {
                    w[[c, b, f.offset + i]] = (sign * r[b] / margin) as f32;
                }
            }
            let b = -(max - margin) / margin;
            if f.negative_gamma {
                // γ = −1: bn(x) = −(x − μ)/√(1 + ε); μ = b carries the bias, conv bias 0
                gamma[c] = -1.0;
                mean[c] = b as f32;
            } else {
                bias[c] = b as f32;
            }
        }
        if self.filters.iter().any(|f| f.negative_gamma) && !self.batchnorm1 {
            return Err(format!(
                "{}: a negative-gamma filter needs batchnorm1",
                self.name
            ));
        }
        layers.push(conv("conv1".into(), w, bias));
        if self.batchnorm1 {
            layers.push(batchnorm("bn1".into(), gamma, mean));
        }
        layers.push(Layer::Relu { threshold: 0.0 });
        if self.pool1 > 1 {
            layers.push(Layer::MaxPool {
                kernel: self.pool1,
                stride: self.pool1,
            });
        }
        let mut cin = c1;
        for (i, block) in self.blocks.iter().enumerate() {
            let l = i + 2;
            let cout = block.units.len();
            let mut w = Array3::<f32>::zeros((cout, cin, block.kernel));
            let mut bias = vec![0.0f32; cout];
            let mut gamma = vec![1.0f32; cout];
            let mut mean = vec![0.0f32; cout];
            for (k, u) in block.units.iter().enumerate() {
                let sign = if u.negative_gamma { -1.0 } else { 1.0 };
                for &(t, c, v) in &u.inputs {
                    if t >= block.kernel || c >= cin {
                        return Err(format!(
                            "{}: layer {l} neuron {k} reads tap {t} of channel {c} (kernel {}, {cin} channels)",
                            self.name, block.kernel
                        ));
                    }
                    w[[k, c, t]] = sign * v;
                }
                if u.negative_gamma {
                    if !block.batchnorm {
                        return Err(format!(
                            "{}: layer {l} neuron {k} needs a batchnorm",
                            self.name
                        ));
                    }
                    gamma[k] = -1.0;
                    mean[k] = u.bias;
                } else {
                    bias[k] = u.bias;
                }
            }
            layers.push(conv(format!("conv{l}"), w, bias));
            if block.batchnorm {
                layers.push(batchnorm(format!("bn{l}"), gamma, mean));
            }
            if i + 1 < self.blocks.len() {
                layers.push(Layer::Relu { threshold: 0.0 });
                if block.pool > 1 {
                    layers.push(Layer::MaxPool {
                        kernel: block.pool,
                        stride: block.pool,
                    });
                }
            }
            cin = cout;
        }
        Model::new(Alphabet::ACGT, Some(self.rf(self.conv_layers())), layers)
            .map_err(|e| format!("{}: {e}", self.name))
    }

    /// Every placement of the planted sites of neuron (`layer`, `unit`): one list of
    /// `(filter, start)` per placement, sites in depth-first order of the connections. Empty
    /// when the neuron has no excitatory path.
    fn placements(&self, layer: usize, unit: usize) -> Vec<Vec<(usize, i64)>> {
        if layer == 1 {
            return self
                .filters
                .get(unit)
                .map(|f| vec![vec![(unit, f.offset as i64)]])
                .unwrap_or_default();
        }
        let Some(u) = self.blocks.get(layer - 2).and_then(|b| b.units.get(unit)) else {
            return Vec::new();
        };
        let p = self.pool_after(layer - 1);
        let jump = self.jump(layer - 1) as i64;
        let mut combos: Vec<Vec<(usize, i64)>> = vec![Vec::new()];
        let mut any = false;
        for &(tap, c, weight) in &u.inputs {
            // design weights are net effects (a negative-γ unit negates them only when built)
            if weight <= 0.0 {
                continue;
            }
            any = true;
            let child = self.placements(layer - 1, c);
            let mut options = Vec::new();
            for r in 0..p {
                let shift = ((tap * p + r) as i64) * jump;
                for pl in &child {
                    options.push(pl.iter().map(|&(f, s)| (f, s + shift)).collect::<Vec<_>>());
                }
            }
            combos = combos
                .iter()
                .flat_map(|a| {
                    options.iter().map(move |b| {
                        let mut v = a.clone();
                        v.extend(b.iter().copied());
                        v
                    })
                })
                .collect();
        }
        if any {
            combos
        } else {
            Vec::new()
        }
    }

    /// The truth of neuron (`layer`, `unit`).
    fn neuron_truth(&self, db: &MotifDb, layer: usize, unit: usize) -> Result<NeuronTruth, String> {
        let (design, description, negative_gamma) = if layer == 1 {
            let f = &self.filters[unit];
            (
                Design::Single,
                format!(
                    "layer-1 filter: {} ({}) on the {} strand at offset {}{}",
                    db.get(f.id)?.name.clone().unwrap_or_default(),
                    f.id,
                    f.strand.symbol(),
                    f.offset,
                    if f.negative_gamma {
                        ", weights negated and batchnorm gamma -1"
                    } else {
                        ""
                    }
                ),
                f.negative_gamma,
            )
        } else {
            let u = &self.blocks[layer - 2].units[unit];
            (u.design, u.description.to_string(), u.negative_gamma)
        };
        let raw = self.placements(layer, unit);
        let slots = raw.first().map_or(0, Vec::len);
        // order the slots by their leftmost start
        let mut order: Vec<usize> = (0..slots).collect();
        order.sort_by_key(|&j| {
            (
                raw.iter().map(|p| p[j].1).min().unwrap_or(0),
                raw.first().map_or(0, |p| p[j].0),
            )
        });
        let mut placements: Vec<Vec<i64>> = raw
            .iter()
            .map(|p| order.iter().map(|&j| p[j].1).collect())
            .collect();
        placements.sort();
        placements.dedup();
        let motifs = order
            .iter()
            .enumerate()
            .map(|(jj, &j)| {
                let f = &self.filters[raw[0][j].0];
                let m = db.get(f.id)?;
                let mut positions: Vec<i64> = placements.iter().map(|p| p[jj]).collect();
                positions.sort_unstable();
                positions.dedup();
                Ok(PlantedMotif {
                    id: f.id.to_string(),
                    name: m.name.clone().unwrap_or_default(),
                    strand: f.strand,
                    width: m.width(),
                    positions,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let spacings: std::collections::BTreeSet<i64> = placements
            .iter()
            .filter(|p| p.len() == 2)
            .map(|p| p[1] - p[0])
            .collect();
        let (expected_slots, motif_nb, ok) = match design {
            Design::Single => (1, 1, true),
            Design::PairFixed => (2, 1, spacings.len() == 1),
            Design::PairFlexible => (2, 2, spacings.len() > 1),
            Design::Dead => (0, 0, placements.is_empty()),
        };
        if motifs.len() != expected_slots || !ok {
            return Err(format!(
                "{}: layer {layer} neuron {unit} is declared {design} but its connections give {} motifs and spacings {spacings:?}",
                self.name,
                motifs.len()
            ));
        }
        Ok(NeuronTruth {
            layer,
            neuron: unit,
            rf: self.rf(layer),
            design,
            motif_nb,
            negative_gamma,
            description,
            motifs,
            placements,
        })
    }

    /// The truth file.
    pub fn truth(&self, db: &MotifDb) -> Result<Truth, String> {
        let mut neurons = Vec::new();
        for c in 0..self.filters.len() {
            neurons.push(self.neuron_truth(db, 1, c)?);
        }
        for (i, b) in self.blocks.iter().enumerate() {
            for k in 0..b.units.len() {
                neurons.push(self.neuron_truth(db, i + 2, k)?);
            }
        }
        let truth = Truth {
            format: TRUTH_FORMAT.into(),
            model: format!("{}.safetensors", self.name),
            description: self.description.into(),
            database: Path::new(DB)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            generator: "cargo xtask gen-planted (xtask/src/planted.rs)".into(),
            neurons,
        };
        truth.check()?;
        Ok(truth)
    }

    /// Model-file bytes and truth JSON.
    pub fn files(&self, db: &MotifDb) -> Result<(Vec<u8>, String), String> {
        let model = self
            .model(db)?
            .to_safetensors()
            .map_err(|e| e.to_string())?;
        let truth = self.truth(db)?.to_json().map_err(|e| e.to_string())?;
        Ok((model, truth))
    }
}

/// The repository root (this crate's parent folder).
fn repo_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    p.canonicalize().unwrap_or(p)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let mut out = root.join(OUT);
    let mut db_path = root.join(DB);
    let mut check = false;
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    while let Some(flag) = a.flag() {
        match flag {
            "--out" => out = a.path(flag, "a folder")?,
            "--db" => db_path = a.path(flag, "a file")?,
            "--check" => check = true,
            other => return Err(a.unknown(other)),
        }
    }
    let db = MotifDb::read(&db_path)?;
    if !check {
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let mut stale = Vec::new();
    for d in designs() {
        let (model, truth) = d.files(&db)?;
        for (file, bytes) in [
            (format!("{}.safetensors", d.name), model),
            (format!("{}.truth.json", d.name), truth.into_bytes()),
        ] {
            let path = out.join(&file);
            if check {
                if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                    stale.push(path.display().to_string());
                }
            } else {
                std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("wrote {} ({} bytes)", path.display(), bytes.len());
            }
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "out of date (run `cargo xtask gen-planted`): {}",
            stale.join(", ")
        ));
    }
    if check {
        println!("{} is up to date", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn db() -> MotifDb {
        MotifDb::read(&repo_root().join(DB)).unwrap()
    }

    /// splitmix64: a fixed background for the constructed sequences.
    fn background(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                ((z ^ (z >> 31)) & 3) as u8
            })
            .collect()
    }

    /// The consensus site of a planted motif as it reads on its strand.
    fn site(db: &MotifDb, m: &PlantedMotif) -> Vec<u8> {
        let ppm = db.get(&m.id).unwrap().ppm();
        let ppm = match m.strand {
            Plus => ppm,
            Minus => ppm.reverse_complement(),
        };
        ppm.consensus().codes().to_vec()
    }

    /// A background of `len` bp on which no layer-1 filter of the model fires anywhere.
    fn quiet_background(model: &Model, len: usize) -> Vec<u8> {
        let sub1 = model.substructure(1).unwrap();
        for seed in 1..1000 {
            let bg = background(len, seed);
            let codes = Array2::from_shape_vec((1, len), bg.clone()).unwrap();
            let out = sub1.forward(codes.view()).unwrap();
            if out.iter().all(|&v| v <= 0.0) {
                return bg;
            }
        }
        panic!("no quiet background");
    }

    fn activation(model: &Model, layer: usize, neuron: usize, seqs: Vec<Vec<u8>>) -> Vec<f32> {
        let sub = model.substructure(layer).unwrap();
        let n = seqs.len();
        let len = seqs[0].len();
        let codes = Array2::from_shape_vec((n, len), seqs.concat()).unwrap();
        sub.activations(codes.view(), neuron)
            .unwrap()
            .column(0)
            .to_vec()
    }

    fn with_sites(bg: &[u8], sites: &[(&[u8], i64)]) -> Vec<u8> {
        let mut s = bg.to_vec();
        for (site, start) in sites {
            s[*start as usize..*start as usize + site.len()].copy_from_slice(site);
        }
        s
    }

    fn overlap(a: (i64, usize), b: (i64, usize)) -> bool {
        a.0 < b.0 + b.1 as i64 && b.0 < a.0 + a.1 as i64
    }

    /// The generator is deterministic and the committed files are what it writes.
    #[test]
    fn generation_is_byte_identical_and_committed() {
        let db = db();
        for d in designs() {
            let (m1, t1) = d.files(&db).unwrap();
            let (m2, t2) = d.files(&db).unwrap();
            assert_eq!(m1, m2, "{}", d.name);
            assert_eq!(t1, t2, "{}", d.name);
            let dir = repo_root().join(OUT);
            let committed = std::fs::read(dir.join(format!("{}.safetensors", d.name))).unwrap();
            assert!(
                committed == m1,
                "{}.safetensors is stale: run cargo xtask gen-planted",
                d.name
            );
            let committed =
                std::fs::read_to_string(dir.join(format!("{}.truth.json", d.name))).unwrap();
            assert_eq!(committed, t1, "{}.truth.json is stale", d.name);
            assert!(m1.len() < 100_000, "{} is {} bytes", d.name, m1.len());
            // the model file loads back to the same model
            let back = Model::from_safetensors(&m1, Path::new(d.name)).unwrap();
            assert_eq!(back, d.model(&db).unwrap());
        }
    }

    /// The RF and start arithmetic of the generator agree with neuronmotif-field.
    #[test]
    fn truth_arithmetic_agrees_with_the_geometry_crate() {
        let db = db();
        for d in designs() {
            let model = d.model(&db).unwrap();
            let g = model.geometry();
            for l in 1..=d.conv_layers() {
                assert_eq!(
                    g.receptive_field(l).unwrap().len,
                    d.rf(l),
                    "{} layer {l}",
                    d.name
                );
            }
            // each excitatory connection of layer l >= 2: the conv-(l-1) unit starts it reaches
            for (i, b) in d.blocks.iter().enumerate() {
                let l = i + 2;
                let p = d.pool_after(l - 1);
                let jump = d.jump(l - 1);
                for u in &b.units {
                    for &(t, _, _) in &u.inputs {
                        let mut ours: Vec<usize> = (0..p).map(|r| (t * p + r) * jump).collect();
                        let pools = g.pools_feeding(l).unwrap().len();
                        let mut theirs: Vec<usize> = if pools == 0 {
                            vec![g.unit_start(l, 0, t, &[]).unwrap()]
                        } else {
                            (0..p)
                                .map(|r| g.unit_start(l, 0, t, &[r]).unwrap())
                                .collect()
                        };
                        ours.sort_unstable();
                        theirs.sort_unstable();
                        assert_eq!(ours, theirs, "{} layer {l} tap {t}", d.name);
                    }
                }
            }
        }
    }

    /// Every planted neuron fires exactly where the truth says: a single motif at each start
    /// of the receptive field (fires iff the start is allowed, reaching ~1 there); a pair at
    /// every non-overlapping combination of starts (fires iff it is a true placement), and
    /// never for one motif of the pair alone; a dead neuron never, on any of these.
    #[test]
    fn planted_neurons_fire_exactly_where_the_truth_says() {
        let db = db();
        for d in designs() {
            let model = d.model(&db).unwrap();
            let truth = d.truth(&db).unwrap();
            for n in &truth.neurons {
                let at = format!("{} layer {} neuron {}", d.name, n.layer, n.neuron);
                let bg = quiet_background(&model, n.rf);
                assert!(
                    activation(&model, n.layer, n.neuron, vec![bg.clone()])[0] <= 0.0,
                    "{at}: fires on background"
                );
                match n.motifs.as_slice() {
                    [] => {
                        // dead: no single site of any filter, anywhere, wakes it
                        let mut seqs = Vec::new();
                        for f in &d.filters {
                            let m = PlantedMotif {
                                id: f.id.into(),
                                name: String::new(),
                                strand: f.strand,
                                width: 0,
                                positions: vec![],
                            };
                            let s = site(&db, &m);
                            for start in 0..=(n.rf - s.len()) as i64 {
                                seqs.push(with_sites(&bg, &[(&s, start)]));
                            }
                        }
                        let a = activation(&model, n.layer, n.neuron, seqs);
                        assert!(a.iter().all(|&v| v < 0.0), "{at}: a dead neuron fired");
                    }
                    [m] => {
                        let s = site(&db, m);
                        let starts: Vec<i64> = (0..=(n.rf - s.len()) as i64).collect();
                        let seqs = starts
                            .iter()
                            .map(|&p| with_sites(&bg, &[(&s, p)]))
                            .collect();
                        let a = activation(&model, n.layer, n.neuron, seqs);
                        for (&p, &v) in starts.iter().zip(&a) {
                            let allowed = m.positions.contains(&p);
                            assert_eq!(v > 0.0, allowed, "{at}: {} at {p} gives {v}", m.id);
                            if allowed {
                                assert!((v - 1.0).abs() < 1e-3, "{at}: ideal activation {v}");
                            }
                        }
                    }
                    [m1, m2] => {
                        let (s1, s2) = (site(&db, m1), site(&db, m2));
                        let mut pairs = Vec::new();
                        for p1 in 0..=(n.rf - s1.len()) as i64 {
                            for p2 in 0..=(n.rf - s2.len()) as i64 {
                                if !overlap((p1, s1.len()), (p2, s2.len())) {
                                    pairs.push((p1, p2));
                                }
                            }
                        }
                        let seqs = pairs
                            .iter()
                            .map(|&(a, b)| with_sites(&bg, &[(&s1, a), (&s2, b)]))
                            .collect();
                        let a = activation(&model, n.layer, n.neuron, seqs);
                        let mut fired = 0;
                        for (&(p1, p2), &v) in pairs.iter().zip(&a) {
                            let allowed = n.placements.contains(&vec![p1, p2]);
                            assert_eq!(v > 0.0, allowed, "{at}: pair at ({p1}, {p2}) gives {v}");
                            fired += usize::from(allowed);
                        }
                        assert_eq!(fired, n.placements.len(), "{at}");
                        // one motif alone at its allowed starts: silent (an AND)
                        for (m, s) in [(m1, &s1), (m2, &s2)] {
                            let seqs = m
                                .positions
                                .iter()
                                .map(|&p| with_sites(&bg, &[(s, p)]))
                                .collect();
                            let a = activation(&model, n.layer, n.neuron, seqs);
                            assert!(a.iter().all(|&v| v <= 0.0), "{at}: {} alone fires", m.id);
                        }
                    }
                    _ => panic!("{at}: more than two motifs"),
                }
            }
        }
    }

    /// The dead neuron has no excitatory weight, and the negative-gamma neurons have negative
    /// raw weights that batchnorm turns excitatory.
    #[test]
    fn dead_and_negative_gamma_neurons_are_built_as_described() {
        let db = db();
        let d = designs().into_iter().find(|d| d.name == "single").unwrap();
        let model = d.model(&db).unwrap();
        let truth = d.truth(&db).unwrap();
        let sub2 = model.substructure(2).unwrap();
        for n in truth.neurons.iter().filter(|n| n.layer == 2) {
            let folded = sub2.neuron_weights(n.neuron).unwrap();
            let raw = &model.conv(2).unwrap().weight;
            match (n.design, n.negative_gamma) {
                (Design::Dead, _) => assert!(folded.iter().all(|&v| v <= 0.0)),
                (_, true) => {
                    assert!(raw
                        .index_axis(ndarray::Axis(0), n.neuron)
                        .iter()
                        .all(|&v| v <= 0.0));
                    assert!(folded.iter().any(|&v| v > 0.0));
                    let Layer::BatchNorm(bn) =
                        &model.layers()[model.conv_layer_index(2).unwrap() + 1]
                    else {
                        panic!("no batchnorm after conv 2")
                    };
                    assert!(bn.gamma[n.neuron] < 0.0);
                }
                _ => assert!(folded.iter().any(|&v| v > 0.0)),
            }
        }
        assert!(truth
            .neurons
            .iter()
            .any(|n| n.negative_gamma && n.layer == 1));
        assert!(truth
            .neurons
            .iter()
            .any(|n| n.negative_gamma && n.layer == 2));
        assert!(truth.neurons.iter().any(|n| n.design == Design::Dead));
    }
}
