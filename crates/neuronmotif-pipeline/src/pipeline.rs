//! The whole method as one call: model → samples → CRMs → segments → matches, layer by layer,
//! into a run directory.

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use neuronmotif_cnn::{ConvAlgorithm, Model};
use neuronmotif_core::Alphabet;
use neuronmotif_field::LayerPlan;
use neuronmotif_sample::{
    decide_layer_with, demix_round, explain_layer, motif_nb_bounds, sample_and_demix,
    DecoupleParams, LayerContext, LayerResult, LayerTable, MotifNb, NeuronResult, Progress,
    SampleError, SamplerParams, SamplingMode, SeedSource,
};
use neuronmotif_tomtom::{TomtomMatch, TomtomParams};
use rayon::prelude::*;

use crate::matching::{
    crm_segments, match_segments, matched_targets, residual_segments, CrmOrigin, Database,
};
use crate::run_dir::{
    atomic_write, crm_motifs, crms_tsv, layer_dir, meme_text, routes_tsv, LayerSummary, RunJson,
};
use crate::shard::{load_result, result_path, save_result, Shard};
use crate::store::DiskStore;
use crate::Error;

/// The longest receptive field a layer may have to be sampled: a population of sequences that
/// long takes gigabytes (5,000 x 1 Mbp is 5 GB of base codes).
pub const MAX_RECEPTIVE_FIELD: usize = 1 << 20;

/// How long a shard waits for shard 0's `run.json` to name its layers and shard count before
/// it refuses to run.
const MISMATCH_GRACE: Duration = Duration::from_secs(120);

/// What to run. Defaults: every conv layer, every neuron, automatic motif_nb (≤ 3), seed 1,
/// all cores, no database, the original's sampling and demixing constants.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Model file (safetensors contract) or Keras 2 HDF5 file.
    pub model: PathBuf,
    /// Input channel order of a Keras file (`None`: ACGT). Model files declare their own; one
    /// given here must equal it.
    pub keras_alphabet: Option<Alphabet>,
    /// Run directory.
    pub out: PathBuf,
    /// Conv layers (1-based, inclusive); `None` = all.
    pub layers: Option<RangeInclusive<usize>>,
    /// Neurons of each layer; `None` = all (a range beyond a layer's channels is clipped; one
    /// that selects no neuron of a requested layer is an error).
    pub neurons: Option<Range<usize>>,
    /// motif_nb rule.
    pub motif_nb: MotifNb,
    /// motif_nb rules for single layers, overriding [`PipelineConfig::motif_nb`] there (the
    /// original's demo2 ran layers 1-4 automatically and layer 5 with motif_nb 2).
    pub motif_nb_layers: BTreeMap<usize, MotifNb>,
    /// Motif database to match CRM segments against.
    pub db: Option<PathBuf>,
    /// Tomtom settings for the matching (MEME defaults).
    pub tomtom: TomtomParams,
    /// Run seed: fixes every output byte.
    pub seed: u64,
    /// Worker threads (`None` = all cores).
    pub threads: Option<usize>,
    /// Sampling parameters.
    pub sampler: SamplerParams,
    /// Demixing parameters (its `motif_nb` is replaced by [`PipelineConfig::motif_nb`]).
    pub decouple: DecoupleParams,
    /// Keep the per-neuron sample files after a layer completes.
    pub keep_samples: bool,
    /// This process's share of a run spread over several processes or machines that share
    /// the run directory (`None`: the whole run). Every shard is started with the same
    /// configuration; see [`Shard`].
    pub shard: Option<Shard>,
    /// How often a shard looks for the others' files while it waits (default 2 s).
    pub poll: Duration,
    /// How the forward passes evaluate convolutions (default direct; Winograd and bf16 are
    /// faster on wide layers and round differently, see `docs/benchmarks.md` for how they were
    /// validated). [`Pipeline::new`] refuses an algorithm this CPU cannot run.
    pub conv: ConvAlgorithm,
}

impl PipelineConfig {
    /// The motif_nb rule of conv layer `layer`.
    pub fn motif_nb_of(&self, layer: usize) -> MotifNb {
        self.motif_nb_layers
            .get(&layer)
            .copied()
            .unwrap_or(self.motif_nb)
    }

    /// A configuration with the defaults.
    pub fn new(model: impl Into<PathBuf>, out: impl Into<PathBuf>) -> PipelineConfig {
        PipelineConfig {
            model: model.into(),
            keras_alphabet: None,
            out: out.into(),
            layers: None,
            neurons: None,
            motif_nb: MotifNb::Auto { max: 3 },
            motif_nb_layers: BTreeMap::new(),
            db: None,
            tomtom: TomtomParams::new(),
            seed: 1,
            threads: None,
            sampler: SamplerParams::default(),
            decouple: DecoupleParams::default(),
            keep_samples: false,
            shard: None,
            poll: Duration::from_secs(2),
            conv: ConvAlgorithm::Direct,
        }
    }
}

/// Layer-level events for a caller's progress display (on top of [`Progress`]).
pub trait PipelineProgress: Progress {
    /// Layer `layer` starts with `neurons` neurons, `resumed` of them already sampled.
    fn layer_started(&self, _layer: usize, _neurons: usize, _resumed: usize) {}
    /// Layer `layer` was complete from an earlier run and is skipped.
    fn layer_skipped(&self, _layer: usize) {}
    /// Database matching of a layer starts.
    fn matching(&self, _layer: usize, _segments: usize) {}
    /// Layer finished.
    fn layer_finished(&self, _summary: &LayerSummary) {}
    /// A shard waits for the others (`what` says for what); called when that changes and at
    /// least once a minute.
    fn waiting(&self, _layer: usize, _what: &str) {}
    /// A shard other than the leader found the layer written by the leader.
    fn layer_from_leader(&self, _layer: usize) {}
}

impl PipelineProgress for neuronmotif_sample::Silent {}

/// A segment's best database match, as [`RunSummary::best_matches`] lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct BestMatch {
    /// Conv layer (1-based).
    pub layer: usize,
    /// The segment, `<crm id>_<start>-<end>` (its CRM is the part before the last `_`).
    pub segment: String,
    /// Database motif id.
    pub target_id: String,
    /// Database motif name (empty when the database gives none).
    pub target_name: String,
    /// q-value of the match.
    pub q_value: f64,
}

/// The outcome of [`Pipeline::run`].
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run directory.
    pub out: PathBuf,
    /// One entry per layer of the run directory, in layer order.
    pub layers: Vec<LayerSummary>,
    /// The best database match of each layer's CRM segments (lowest q first), at most 10 per
    /// layer, in layer order.
    pub best_matches: Vec<BestMatch>,
    /// The report's front page, `out/index.html`.
    pub report: PathBuf,
    /// Wall seconds.
    pub total_s: f64,
}

/// A configured run: the model loaded, the database prepared, parameters validated.
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    model: Model,
    layers: RangeInclusive<usize>,
    db: Option<Database>,
    fingerprint: String,
}

impl Pipeline {
    /// Load and validate everything; nothing is written yet.
    pub fn new(config: PipelineConfig) -> Result<Pipeline, Error> {
        config.sampler.clone().check()?;
        if !config.conv.is_supported() {
            return Err(Error::Config(format!(
                "conv {:?}: this CPU lacks the instructions it needs (AVX-512 BF16); \
                 use direct or winograd",
                config.conv
            )));
        }
        for &m in std::iter::once(&config.motif_nb).chain(config.motif_nb_layers.values()) {
            DecoupleParams {
                motif_nb: m,
                ..config.decouple.clone()
            }
            .check()?;
        }
        let model = Model::open_with_alphabet(&config.model, config.keras_alphabet)?;
        let n = model.conv_count();
        if let Some(&l) = config.motif_nb_layers.keys().find(|&&l| l < 1 || l > n) {
            return Err(Error::Config(format!(
                "a motif_nb rule is given for conv layer {l}, but the model has conv layers 1..={n}"
            )));
        }
        let layers = config.layers.clone().unwrap_or(1..=n);
        if *layers.start() < 1 || *layers.end() > n || layers.start() > layers.end() {
            return Err(Error::Config(format!(
                "layers {}..={} are out of range: {} has conv layers 1..={n}",
                layers.start(),
                layers.end(),
                config.model.display()
            )));
        }
        if config.shard.is_some() && config.poll.is_zero() {
            return Err(Error::Config(
                "a sharded run needs a poll interval above zero".into(),
            ));
        }
        if let Some(r) = &config.neurons {
            if r.is_empty() {
                return Err(Error::Config(format!("the neuron range {r:?} is empty")));
            }
        }
        for l in layers.clone() {
            let channels = model.conv(l)?.out_channels();
            if let Some(r) = config.neurons.as_ref().filter(|r| r.start >= channels) {
                return Err(Error::Config(format!(
                    "neurons {}..{} select no neuron of conv layer {l}, which has {channels} (0..{channels})",
                    r.start, r.end
                )));
            }
            let rf = model
                .geometry()
                .receptive_field(l)
                .map_err(neuronmotif_cnn::CnnError::from)?
                .len;
            if rf > MAX_RECEPTIVE_FIELD {
                return Err(Error::Config(format!(
                    "conv layer {l} has a receptive field of {rf} bp; sampling sequences longer than {MAX_RECEPTIVE_FIELD} bp is not supported (choose lower --layers)"
                )));
            }
        }
        let db = match &config.db {
            Some(p) => Some(Database::open(p, config.tomtom.clone())?),
            None => None,
        };
        let fingerprint = fingerprint(&config, &model)?;
        Ok(Pipeline {
            config,
            model,
            layers,
            db,
            fingerprint,
        })
    }

    /// The loaded model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The configuration it runs.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The conv layers it runs (1-based, inclusive).
    pub fn layers(&self) -> RangeInclusive<usize> {
        self.layers.clone()
    }

    /// Run (or resume) every requested layer in order.
    pub fn run(&self, progress: &dyn PipelineProgress) -> Result<RunSummary, Error> {
        match self.config.threads {
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t.max(1))
                .build()
                .map_err(|e| Error::Config(format!("cannot start {t} threads: {e}")))?
                .install(|| self.run_inner(progress)),
            None => self.run_inner(progress),
        }
    }

    fn run_inner(&self, progress: &dyn PipelineProgress) -> Result<RunSummary, Error> {
        let t0 = Instant::now();
        let out = &self.config.out;
        std::fs::create_dir_all(out).map_err(|e| Error::file(out, e))?;
        let leader = self.config.shard.is_none_or(|s| s.is_leader());
        if let Some(shard) = self.config.shard.filter(|s| !s.is_leader()) {
            // The leader writes run.json; nothing is written here before it vouches for the
            // directory with this run's fingerprint, layers and shard count. A mismatch may be
            // a leader that has not yet rewritten an earlier run's file (a run extended to
            // more layers), so it is waited out for a while, then refused.
            let layers: Vec<usize> = self.layers.clone().collect();
            let mut mismatch_since: Option<Instant> = None;
            self.wait_until(0, progress, || {
                Ok(match RunJson::read(out)? {
                    None => Some("run.json from shard 0 (the leader)".to_string()),
                    Some(p) if p.fingerprint != self.fingerprint => None,
                    Some(p) if p.shards != Some(shard.count()) || p.layers != layers => {
                        let what = format!(
                            "shard 0 runs layers {:?} {}, this shard layers {layers:?} over {} shards: start every shard with the same --layers and the same N",
                            p.layers,
                            p.shards.map_or("unsharded".into(), |n| format!("over {n} shards")),
                            shard.count()
                        );
                        let since = *mismatch_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= MISMATCH_GRACE {
                            return Err(Error::RunDir {
                                path: out.join("run.json"),
                                message: what,
                            });
                        }
                        Some(format!("shard 0's run.json to match this shard ({what})"))
                    }
                    Some(_) => None,
                })
            })?;
        }
        let prior = RunJson::read(out)?;
        if let Some(p) = &prior {
            if p.fingerprint != self.fingerprint {
                return Err(Error::RunDir {
                    path: out.join("run.json"),
                    message: if self.config.shard.is_some_and(|s| !s.is_leader()) {
                        "shard 0 started this directory's run with another model, seed or parameters: start every shard with the same arguments (nothing was changed)".into()
                    } else {
                        "this directory holds a run with another model, seed or parameters (or one made by an earlier version of the method); choose a new --out (nothing was changed)".into()
                    },
                });
            }
        }
        let mut run = self.run_json(prior.map(|p| p.results).unwrap_or_default());
        if leader {
            run.write(out)?;
        }
        let sampler = self.config.sampler.clone().check()?;
        let decouple_of = |layer: usize| {
            DecoupleParams {
                motif_nb: self.config.motif_nb_of(layer),
                ..self.config.decouple.clone()
            }
            .check()
        };
        let first = *self.layers.start();
        let mut prev: Option<LayerTable> = if first > 1 {
            let p = layer_dir(out, first - 1).join("table.safetensors");
            if !p.exists() {
                return Err(Error::Config(format!(
                    "layer {first} is seeded from layer {}'s table, which {} does not have: run --layers 1..={} (or a range starting at 1) first",
                    first - 1,
                    out.display(),
                    self.layers.end()
                )));
            }
            Some(self.load_table(&p, first - 1)?)
        } else {
            None
        };
        let mut best = Vec::new();
        for layer in self.layers.clone() {
            let dir = layer_dir(out, layer);
            let table_path = dir.join("table.safetensors");
            if table_path.exists() {
                // samples a leader killed between its table and their removal left behind
                if leader && !self.config.keep_samples {
                    let _ = DiskStore::new(&dir.join("samples"), 0).remove();
                }
                progress.layer_skipped(layer);
                prev = Some(self.load_table(&table_path, layer)?);
                continue;
            }
            let Some((summary, table, layer_best)) = self.run_layer(
                layer,
                prev.as_ref(),
                &sampler,
                &decouple_of(layer)?,
                progress,
            )?
            else {
                // a shard's part is done: the leader decides the layer and writes its table
                self.wait_until(layer, progress, || {
                    Ok((!table_path.exists())
                        .then(|| format!("layer {layer}'s table from shard 0 (the leader)")))
                })?;
                progress.layer_from_leader(layer);
                prev = Some(self.load_table(&table_path, layer)?);
                // a second leader: the first wrote the layer; what this one saved meanwhile goes
                if leader && !self.config.keep_samples {
                    let _ = DiskStore::new(&dir.join("samples"), 0).remove();
                }
                continue;
            };
            table.save(&table_path).map_err(|e| Error::RunDir {
                path: table_path.clone(),
                message: e.to_string(),
            })?;
            run.results.retain(|r| r.layer != layer);
            run.results.push(summary.clone());
            run.results.sort_by_key(|r| r.layer);
            run.write(out)?;
            // Samples go only once the table is there (a shard that finds them gone while it
            // reads a round's results then also finds the layer written), and a failure to
            // remove them (a shared file system's busy files) does not fail the run.
            if !self.config.keep_samples {
                let _ = DiskStore::new(&dir.join("samples"), 0).remove();
            }
            progress.layer_finished(&summary);
            best.extend(layer_best);
            // The next layer is seeded from the table as saved (f32), not from the f64 one in
            // memory, so that a resumed run and the other shards, which can only read it back,
            // draw exactly the same seeds.
            drop(table);
            prev = Some(self.load_table(&table_path, layer)?);
        }
        if !leader {
            // the leader writes the run's summary and report
            return Ok(RunSummary {
                out: out.clone(),
                layers: RunJson::read(out)?.map(|r| r.results).unwrap_or_default(),
                best_matches: best,
                report: out.join("index.html"),
                total_s: t0.elapsed().as_secs_f64(),
            });
        }
        run.status = "complete".into();
        run.total_s = t0.elapsed().as_secs_f64();
        run.write(out)?;
        // The report reads only the files just written, so `neuronmotif report DIR` redraws
        // exactly this page later.
        let report = neuronmotif_report::RunReport::load(out)?.write_html(out)?;
        Ok(RunSummary {
            out: out.clone(),
            layers: run.results,
            best_matches: best,
            report,
            total_s: run.total_s,
        })
    }

    fn load_table(&self, path: &Path, layer: usize) -> Result<LayerTable, Error> {
        let t = LayerTable::load(path)?;
        let sub_rf = self
            .model
            .geometry()
            .receptive_field(layer)
            .map_err(neuronmotif_cnn::CnnError::from)?
            .len;
        let channels = self.model.conv(layer)?.out_channels();
        if t.layer != layer || t.rf != sub_rf || t.neurons != channels {
            return Err(Error::RunDir {
                path: path.to_path_buf(),
                message: format!(
                    "this table is for layer {} (RF {}, {} neurons), not layer {layer} of this model (RF {sub_rf}, {channels} neurons); choose a new --out",
                    t.layer, t.rf, t.neurons
                ),
            });
        }
        Ok(t)
    }

    #[allow(clippy::type_complexity)]
    fn run_layer(
        &self,
        layer: usize,
        prev: Option<&LayerTable>,
        sampler: &neuronmotif_sample::ValidSamplerParams,
        decouple: &neuronmotif_sample::ValidDecoupleParams,
        progress: &dyn PipelineProgress,
    ) -> Result<Option<(LayerSummary, LayerTable, Vec<BestMatch>)>, Error> {
        let t0 = Instant::now();
        let out = &self.config.out;
        let dir = layer_dir(out, layer);
        let sub = self
            .model
            .substructure(layer)?
            .with_conv_algorithm(self.config.conv);
        let channels = sub.channels();
        let neurons: Vec<usize> = match &self.config.neurons {
            None => (0..channels).collect(),
            Some(r) => (r.start..r.end.min(channels)).collect(),
        };
        let samples_dir = dir.join("samples");
        let store = DiskStore::new(&samples_dir, sub.input_len());
        let seeds = prev.map(|t| SeedSource::new(t, sampler));
        let ctx = LayerContext {
            sub: &sub,
            geometry: self.model.geometry(),
            seeds: seeds.as_ref(),
            sampler,
            decouple,
            seed: self.config.seed,
        };
        let result = match self.config.shard {
            None => {
                progress.layer_started(layer, neurons.len(), store.count(&neurons));
                explain_layer(&ctx, &neurons, &store, progress)?
            }
            Some(shard) => match self.shard_layer(&ctx, &neurons, shard, &store, progress)? {
                Some(result) if shard.is_leader() => result,
                _ => return Ok(None),
            },
        };
        let crms: Vec<_> = result
            .neurons
            .iter()
            .flat_map(|n| n.crms.iter().cloned())
            .collect();
        atomic_write(
            &dir.join("crms.meme"),
            meme_text(&crm_motifs(&crms))?.as_bytes(),
        )?;
        atomic_write(&dir.join("crms.tsv"), crms_tsv(&crms).as_bytes())?;
        atomic_write(&dir.join("routes.tsv"), routes_tsv(&crms).as_bytes())?;
        let origin = if sampler.is_exhaustive(sub.input_len()) {
            CrmOrigin::Census
        } else {
            CrmOrigin::Sampled
        };
        let mut segments = crm_segments(&crms, origin)?;
        let t_match = Instant::now();
        let mut matched_segments = 0;
        let mut best = Vec::new();
        if let Some(db) = &self.db {
            progress.matching(layer, segments.len());
            let mut matches = match_segments(db, &segments)?;
            // a second site of a segment's best motif, beside the first
            let residual = residual_segments(&crms, origin, &segments, &matches)?;
            if !residual.is_empty() {
                matches.extend(match_segments(db, &residual)?);
                segments.extend(residual);
            }
            let mut tsv = Vec::new();
            // The trailer names what decides the table, never the invocation (threads, quiet,
            // paths of the run directory), so a seed fixes the bytes however the run was started.
            let trailer = format!(
                "neuronmotif run: layer {layer} CRM segments vs {} (seed {})",
                self.config
                    .db
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                self.config.seed
            );
            neuronmotif_tomtom::tsv::write_tsv(&mut tsv, matches.iter(), &trailer)
                .map_err(|e| Error::file(&dir.join("matches.tsv"), e))?;
            atomic_write(&dir.join("matches.tsv"), &tsv)?;
            atomic_write(
                &dir.join("matched.meme"),
                meme_text(&matched_targets(db, &matches))?.as_bytes(),
            )?;
            matched_segments = matches
                .iter()
                .map(|m| &*m.query_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            best = best_per_layer(layer, &matches, db);
        }
        atomic_write(&dir.join("segments.meme"), meme_text(&segments)?.as_bytes())?;
        let matching_s = t_match.elapsed().as_secs_f64();
        let summary = LayerSummary {
            layer,
            rf: sub.input_len(),
            neurons: neurons.len(),
            crms: crms.len(),
            motif_nb: result.motif_nb,
            motif_nb_tried: result.tried.clone(),
            samples: result.neurons.iter().map(|n| n.samples).sum(),
            resumed: result
                .neurons
                .iter()
                .filter(|n| n.mode == SamplingMode::Resumed)
                .count(),
            sampling_s: result.neurons.iter().map(|n| n.sampling_s).sum(),
            decoupling_s: result.neurons.iter().map(|n| n.decoupling_s).sum(),
            matching_s,
            segments: (segments.len(), matched_segments),
            wall_s: t0.elapsed().as_secs_f64(),
        };
        let table = LayerTable::new(&sub, crms);
        Ok(Some((summary, table, best)))
    }

    /// A shard's part of a layer: its neurons sampled and demixed, each demixing round's
    /// results gathered from every shard, and the layer decided from them exactly as
    /// [`explain_layer`] decides it. `None` when a shard other than the leader finds the
    /// layer already written (it may finish a round after the leader has moved on).
    fn shard_layer(
        &self,
        ctx: &LayerContext<'_>,
        neurons: &[usize],
        shard: Shard,
        store: &DiskStore,
        progress: &dyn PipelineProgress,
    ) -> Result<Option<LayerResult>, Error> {
        let layer = ctx.sub.layer();
        let rf = ctx.sub.input_len();
        let samples_dir = store.dir().to_path_buf();
        let table_path = layer_dir(&self.config.out, layer).join("table.safetensors");
        let (first, _) = motif_nb_bounds(ctx)?;
        let path = |k: usize, m: u32| result_path(&samples_dir, k, m);
        // A shard restarted late may find the layer written (and its samples gone) while it
        // works, and must not start the layer's samples again then; a second process started
        // as the leader finds it written by the first.
        let written = || table_path.exists();
        let own: Vec<usize> = shard.own(neurons).collect();
        let done = own.iter().filter(|&&k| path(k, first).exists()).count();
        progress.layer_started(layer, own.len(), done);
        own.par_iter()
            .filter(|&&k| !path(k, first).exists() && !written())
            .try_for_each(|&k| -> Result<(), Error> {
                let r = sample_and_demix(ctx, k, store, progress)?;
                save_result(&path(k, first), &r, rf)
            })?;
        // Every shard follows the rounds (each decides the same from the same results);
        // a shard other than the leader may find the layer written while it gathers.
        let gather = |m: u32| -> Result<Vec<NeuronResult>, Round> {
            self.wait_until(layer, progress, || {
                Ok(if written() {
                    None
                } else {
                    missing_results(&samples_dir, neurons, shard, m)
                })
            })?;
            if written() {
                return Err(Round::Written);
            }
            neurons
                .iter()
                .map(|&k| load_result(&path(k, m), layer, k, m, rf))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    // a shared file system may show the samples gone before the table
                    let grace = Instant::now();
                    while !written() && grace.elapsed() < Duration::from_secs(60) {
                        std::thread::sleep(self.config.poll);
                    }
                    if written() {
                        Round::Written
                    } else {
                        e.into()
                    }
                })
        };
        let decided = gather(first).and_then(|results| {
            decide_layer_with(ctx, results, |m, prev| -> Result<_, Round> {
                prev.par_iter()
                    .enumerate()
                    .filter(|&(pos, r)| {
                        shard.owner_of(pos) == shard.index()
                            && !path(r.neuron, m).exists()
                            && !written()
                    })
                    .try_for_each(|(_, r)| -> Result<(), Error> {
                        let next = demix_round(ctx, r, m, store)?;
                        save_result(&path(r.neuron, m), &next, rf)
                    })?;
                gather(m)
            })
        });
        match decided {
            Ok(result) => Ok(Some(result)),
            Err(Round::Written) => Ok(None),
            Err(Round::Failed(e)) => Err(*e),
        }
    }

    /// Poll until `pending` says nothing is missing; `pending` describes what is awaited.
    fn wait_until(
        &self,
        layer: usize,
        progress: &dyn PipelineProgress,
        mut pending: impl FnMut() -> Result<Option<String>, Error>,
    ) -> Result<(), Error> {
        let mut last: Option<(String, Instant)> = None;
        while let Some(what) = pending()? {
            if progress.cancelled() {
                return Err(SampleError::Cancelled.into());
            }
            let say = last
                .as_ref()
                .is_none_or(|(w, t)| *w != what || t.elapsed() >= Duration::from_secs(60));
            if say {
                progress.waiting(layer, &what);
                last = Some((what, Instant::now()));
            }
            std::thread::sleep(self.config.poll);
        }
        Ok(())
    }

    fn run_json(&self, results: Vec<LayerSummary>) -> RunJson {
        let plan = LayerPlan::new(self.model.geometry()).map(|p| {
            p.rows()
                .iter()
                .map(|r| serde_json::json!({"layer": r.layer, "name": r.name, "neurons": r.channels, "rf": r.rf, "shifts": r.shifts_once}))
                .collect::<Vec<_>>()
        });
        RunJson {
            shards: self.config.shard.map(|s| s.count()),
            neuronmotif_version: env!("CARGO_PKG_VERSION").into(),
            status: "running".into(),
            model: serde_json::json!({
                "path": self.config.model.display().to_string(),
                "alphabet": self.model.alphabet().to_string(),
                "conv_layers": self.model.conv_count(),
                "parameters": self.model.parameter_count(),
                "layers": plan.unwrap_or_default(),
            }),
            seed: self.config.seed,
            threads: self
                .config
                .threads
                .unwrap_or_else(rayon::current_num_threads),
            layers: self.layers.clone().collect(),
            neurons: self
                .config
                .neurons
                .as_ref()
                .map_or_else(|| "all".into(), |r| format!("{}..{}", r.start, r.end)),
            motif_nb: {
                let rule = |m: MotifNb| match m {
                    MotifNb::Auto { max } => serde_json::json!({"auto": {"max": max}}),
                    MotifNb::Fixed(m) => serde_json::json!(m),
                };
                if self.config.motif_nb_layers.is_empty() {
                    rule(self.config.motif_nb)
                } else {
                    let layers: serde_json::Map<String, serde_json::Value> = self
                        .config
                        .motif_nb_layers
                        .iter()
                        .map(|(l, &m)| (l.to_string(), rule(m)))
                        .collect();
                    serde_json::json!({"default": rule(self.config.motif_nb), "layers": layers})
                }
            },
            db: self.config.db.as_ref().map(|p| p.display().to_string()),
            sampler: serde_json::to_value(&self.config.sampler).unwrap_or_default(),
            decouple: serde_json::to_value(&self.config.decouple).unwrap_or_default(),
            conv: format!("{:?}", self.config.conv).to_lowercase(),
            fingerprint: self.fingerprint.clone(),
            results,
            total_s: 0.0,
        }
    }
}

/// How a shard's demixing round ended early.
enum Round {
    /// The leader wrote the layer (only a shard other than the leader sees this).
    Written,
    /// A real error.
    Failed(Box<Error>),
}

impl From<Error> for Round {
    fn from(e: Error) -> Round {
        Round::Failed(Box::new(e))
    }
}

impl From<SampleError> for Round {
    fn from(e: SampleError) -> Round {
        Round::Failed(Box::new(e.into()))
    }
}

/// What a shard still waits for: the neurons without a result of round `m`, by shard.
fn missing_results(samples_dir: &Path, neurons: &[usize], shard: Shard, m: u32) -> Option<String> {
    // one directory listing per poll, not one lookup per neuron (shared file systems)
    let present: std::collections::HashSet<std::ffi::OsString> = std::fs::read_dir(samples_dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    let mut by_shard: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (pos, &k) in neurons.iter().enumerate() {
        let name = result_path(samples_dir, k, m);
        if !name.file_name().is_some_and(|n| present.contains(n)) {
            by_shard.entry(shard.owner_of(pos)).or_default().push(k);
        }
    }
    if by_shard.is_empty() {
        return None;
    }
    let missing: usize = by_shard.values().map(Vec::len).sum();
    let parts: Vec<String> = by_shard
        .iter()
        .map(|(s, ks)| {
            let shown: Vec<String> = ks.iter().take(5).map(|k| format!("N{k}")).collect();
            let more = if ks.len() > 5 { ", ..." } else { "" };
            format!("shard {s}/{}: {}{more}", shard.count(), shown.join(", "))
        })
        .collect();
    Some(format!(
        "{missing} of {} neurons' motif_nb {m} results ({})",
        neurons.len(),
        parts.join("; ")
    ))
}

fn best_per_layer(layer: usize, matches: &[TomtomMatch], db: &Database) -> Vec<BestMatch> {
    let mut v: Vec<&TomtomMatch> = matches.iter().collect();
    v.sort_by(|a, b| {
        a.q_value
            .total_cmp(&b.q_value)
            .then(a.p_value.total_cmp(&b.p_value))
    });
    let mut seen = std::collections::BTreeSet::new();
    v.into_iter()
        .filter(|m| seen.insert(m.query_id.to_string()))
        .take(10)
        .map(|m| {
            let name = db
                .motifs
                .iter()
                .find(|d| d.id == *m.target_id)
                .and_then(|d| d.name.clone())
                .unwrap_or_default();
            BestMatch {
                layer,
                segment: m.query_id.to_string(),
                target_id: m.target_id.to_string(),
                target_name: name,
                q_value: m.q_value,
            }
        })
        .collect()
}

/// FNV-1a, enough to notice a changed model or database file.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Everything that determines the outputs. Threads and the layer range do not.
fn fingerprint(config: &PipelineConfig, model: &Model) -> Result<String, Error> {
    let model_bytes = model.to_safetensors()?;
    let db_hash = match &config.db {
        Some(p) => Some(fnv(&std::fs::read(p).map_err(|e| Error::file(p, e))?)),
        None => None,
    };
    let mut fp = serde_json::json!({
        "model": format!("{:016x}", fnv(&model_bytes)),
        "db": db_hash.map(|h| format!("{h:016x}")),
        "tomtom": format!("{:?}", config.tomtom),
        "seed": config.seed,
        "neurons": format!("{:?}", config.neurons),
        "motif_nb": if config.motif_nb_layers.is_empty() {
            format!("{:?}", config.motif_nb)
        } else {
            format!("{:?} {:?}", config.motif_nb, config.motif_nb_layers)
        },
        "sampler": serde_json::to_value(&config.sampler).unwrap_or_default(),
        "decouple": serde_json::to_value(&config.decouple).unwrap_or_default(),
        "version": env!("CARGO_PKG_VERSION"),
        // Raised when the same parameters start giving other results, so that a run begun
        // before does not resume into a mixture: 2 = neurons without seeds are searched,
        // 3 = uninformative seed positions are drawn, 4 = every layer is seeded from its
        // table as saved.
        "method": 4,
    });
    // Recorded only when not the default, so runs begun before the choice existed resume.
    if config.conv != ConvAlgorithm::Direct {
        fp["conv"] = format!("{:?}", config.conv).into();
    }
    Ok(fp.to_string())
}
