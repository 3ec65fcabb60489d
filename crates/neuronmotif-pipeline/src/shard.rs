//! One run spread over several processes or machines that share the run directory
//! (`neuronmotif run --shard K/N`).
//!
//! A layer's neurons are independent until the layer's motif_nb decision, which needs every
//! neuron's consensus ratio; its matching and table need every neuron's CRMs. So each shard
//! samples and demixes its share of a layer's neurons and leaves each neuron's result of
//! the round in the layer's `samples/` folder (`N<k>.m<m>.result`). Every shard then reads
//! all results of the round and takes the same decision from them; when the layer asks for
//! another round (automatic motif_nb), each shard demixes its own neurons again. Shard 0,
//! the leader, finally writes the layer's files and table exactly as one process would, and
//! every shard goes on to the next layer, which is seeded from that table. Neurons draw
//! from their own random streams, so the bytes of the run directory do not depend on how
//! the neurons were shared out.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ndarray::{Array2, Axis};
use neuronmotif_core::Ppm;
use neuronmotif_field::ShiftId;
use neuronmotif_sample::{Crm, NeuronResult, RouteSummary, SamplingMode};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::run_dir::atomic_write;
use crate::Error;

/// Shard `index` of `count` (0-based, as a SLURM array task id): the neurons of each layer at
/// positions `index`, `index + count`, `index + 2 count`, … of the layer's neuron list are
/// this shard's. Shard 0 is the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

/// A `K/N` shard argument that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(String);

impl Shard {
    /// Shard `index` of `count`; `index` must be below `count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError(format!(
                "shard {index}/{count}: expected K/N with N >= 1 and K in 0..N (0-based, shard 0 is the leader)"
            )));
        }
        Ok(Shard { index, count })
    }

    /// This shard (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Number of shards.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether this shard decides the layers and writes the run's files.
    pub fn is_leader(&self) -> bool {
        self.index == 0
    }

    /// The neurons of `neurons` that are this shard's.
    pub fn own<'a>(&self, neurons: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
        let (index, count) = (self.index, self.count);
        neurons
            .iter()
            .enumerate()
            .filter(move |(pos, _)| pos % count == index)
            .map(|(_, &k)| k)
    }

    /// The shard that owns position `pos` of a layer's neuron list.
    pub fn owner_of(&self, pos: usize) -> usize {
        pos % self.count
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = || {
            ShardError(format!(
                "shard '{s}': expected K/N, e.g. 0/4 (0-based; shard 0 is the leader)"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

/// A neuron's result of the demixing round at motif_nb `m`: `samples/N<k>.m<m>.result`
/// beside its samples.
pub(crate) fn result_path(samples_dir: &Path, neuron: usize, m: u32) -> PathBuf {
    samples_dir.join(format!("N{neuron}.m{m}.result"))
}

/// The parts of a [`NeuronResult`] that are not per-CRM arrays; floats that reach the run's
/// outputs are kept as bit patterns so that they come back exactly.
#[derive(Serialize, Deserialize)]
struct ResultMeta {
    layer: usize,
    neuron: usize,
    /// `exhaustive`, `genetic:<generations>` or `resumed`.
    mode: String,
    samples: usize,
    motif_nb: u32,
    /// `(motif_nb, f32 bits of the consensus ratio)`.
    tried: Vec<(u32, u32)>,
    crm_motif_nb: Vec<u32>,
    sampling_s: f64,
    decoupling_s: f64,
}

fn mode_text(mode: SamplingMode) -> String {
    match mode {
        SamplingMode::Exhaustive => "exhaustive".into(),
        SamplingMode::Genetic { generations } => format!("genetic:{generations}"),
        SamplingMode::Resumed => "resumed".into(),
    }
}

fn mode_of(text: &str) -> Option<SamplingMode> {
    match text {
        "exhaustive" => Some(SamplingMode::Exhaustive),
        "resumed" => Some(SamplingMode::Resumed),
        t => t
            .strip_prefix("genetic:")
            .and_then(|g| g.parse().ok())
            .map(|generations| SamplingMode::Genetic { generations }),
    }
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::RunDir {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A result file that cannot be used: what to do about it.
fn unreadable(path: &Path, message: impl Into<String>) -> Error {
    bad(
        path,
        format!(
            "{}; delete this file and start the shard that owns the neuron again (the others wait for it)",
            message.into()
        ),
    )
}

/// Save a neuron's result of one demixing round (atomically) for the other shards.
pub(crate) fn save_result(path: &Path, r: &NeuronResult, rf: usize) -> Result<(), Error> {
    let c = r.crms.len();
    if let Some(crm) = r.crms.iter().find(|x| x.ppm.width() != rf) {
        return Err(bad(
            path,
            format!("CRM {} is {} bp wide, not {rf}", crm.id(), crm.ppm.width()),
        ));
    }
    let le = |v: Vec<[u8; 8]>| v.into_iter().flatten().collect::<Vec<u8>>();
    let le4 = |v: Vec<[u8; 4]>| v.into_iter().flatten().collect::<Vec<u8>>();
    let ppm = le(r
        .crms
        .iter()
        .flat_map(|x| {
            x.ppm
                .view()
                .iter()
                .map(|p| p.to_le_bytes())
                .collect::<Vec<_>>()
        })
        .collect());
    let shift = le(r.crms.iter().map(|x| x.shift.0.to_le_bytes()).collect());
    let n = le(r.crms.iter().map(|x| (x.n as u64).to_le_bytes()).collect());
    let act = le4(r.crms.iter().map(|x| x.act_max.to_le_bytes()).collect());
    let conact = le4(r.crms.iter().map(|x| x.conact.to_le_bytes()).collect());
    let roff = le(r
        .crms
        .iter()
        .map(|x| {
            x.route
                .as_ref()
                .map_or(-1i64, |t| t.offset_bp as i64)
                .to_le_bytes()
        })
        .collect());
    let rpur = le4(r
        .crms
        .iter()
        .map(|x| x.route.as_ref().map_or(0.0f32, |t| t.purity).to_le_bytes())
        .collect());
    let meta = ResultMeta {
        layer: r.layer,
        neuron: r.neuron,
        mode: mode_text(r.mode),
        samples: r.samples,
        motif_nb: r.motif_nb,
        tried: r.tried.iter().map(|&(m, q)| (m, q.to_bits())).collect(),
        crm_motif_nb: r.crms.iter().map(|x| x.motif_nb).collect(),
        sampling_s: r.sampling_s,
        decoupling_s: r.decoupling_s,
    };
    let meta = serde_json::to_string(&meta).map_err(|e| bad(path, e.to_string()))?;
    let view = |dtype, shape: Vec<usize>, data| {
        TensorView::new(dtype, shape, data).map_err(|e| bad(path, e.to_string()))
    };
    let tensors: Vec<(String, TensorView<'_>)> = vec![
        ("ppm".into(), view(Dtype::F64, vec![c, rf, 4], &ppm)?),
        ("shift".into(), view(Dtype::U64, vec![c], &shift)?),
        ("n".into(), view(Dtype::U64, vec![c], &n)?),
        ("act_max".into(), view(Dtype::F32, vec![c], &act)?),
        ("conact".into(), view(Dtype::F32, vec![c], &conact)?),
        ("route_offset".into(), view(Dtype::I64, vec![c], &roff)?),
        ("route_purity".into(), view(Dtype::F32, vec![c], &rpur)?),
    ];
    let info = HashMap::from([("neuronmotif.result".to_string(), meta)]);
    let bytes =
        safetensors::serialize(tensors, Some(info)).map_err(|e| bad(path, e.to_string()))?;
    atomic_write(path, &bytes)
}

/// Read a result saved by [`save_result`] for neuron `neuron` of `layer`.
pub(crate) fn load_result(
    path: &Path,
    layer: usize,
    neuron: usize,
    m: u32,
    rf: usize,
) -> Result<NeuronResult, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| unreadable(path, format!("corrupt ({e})")))?;
    let meta: ResultMeta = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("neuronmotif.result"))
        .ok_or_else(|| unreadable(path, "no neuronmotif.result metadata"))
        .and_then(|m| serde_json::from_str(m).map_err(|e| unreadable(path, e.to_string())))?;
    if meta.layer != layer
        || meta.neuron != neuron
        || meta.motif_nb != m
        || meta.tried.last().map(|t| t.0) != Some(m)
    {
        return Err(bad(
            path,
            format!(
                "holds layer {} neuron {} at motif_nb {}, expected layer {layer} neuron {neuron} at motif_nb {m}",
                meta.layer, meta.neuron, meta.motif_nb
            ),
        ));
    }
    let st =
        SafeTensors::deserialize(&bytes).map_err(|e| unreadable(path, format!("corrupt ({e})")))?;
    let c = meta.crm_motif_nb.len();
    let tensor = |name: &str, dtype: Dtype, shape: &[usize]| -> Result<Vec<u8>, Error> {
        let t = st
            .tensor(name)
            .map_err(|_| unreadable(path, format!("no {name} tensor")))?;
        if t.dtype() != dtype || t.shape() != shape {
            return Err(bad(
                path,
                format!(
                    "{name} is {:?} {:?}, expected {dtype:?} {shape:?}",
                    t.dtype(),
                    t.shape()
                ),
            ));
        }
        Ok(t.data().to_vec())
    };
    let f64s = |b: Vec<u8>| -> Vec<f64> {
        b.chunks_exact(8)
            .map(|x| f64::from_le_bytes(x.try_into().unwrap_or([0; 8])))
            .collect()
    };
    let u64s = |b: Vec<u8>| -> Vec<u64> {
        b.chunks_exact(8)
            .map(|x| u64::from_le_bytes(x.try_into().unwrap_or([0; 8])))
            .collect()
    };
    let f32s = |b: Vec<u8>| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|x| f32::from_le_bytes(x.try_into().unwrap_or([0; 4])))
            .collect()
    };
    let ppm = f64s(tensor("ppm", Dtype::F64, &[c, rf, 4])?);
    let shift = u64s(tensor("shift", Dtype::U64, &[c])?);
    let n = u64s(tensor("n", Dtype::U64, &[c])?);
    let act = f32s(tensor("act_max", Dtype::F32, &[c])?);
    let conact = f32s(tensor("conact", Dtype::F32, &[c])?);
    let roff = u64s(tensor("route_offset", Dtype::I64, &[c])?);
    let rpur = f32s(tensor("route_purity", Dtype::F32, &[c])?);
    let ppms =
        Array2::from_shape_vec((c * rf, 4), ppm).map_err(|e| unreadable(path, e.to_string()))?;
    let mut crms = Vec::with_capacity(c);
    for (i, block) in ppms
        .axis_chunks_iter(Axis(0), rf.max(1))
        .take(c)
        .enumerate()
    {
        let ppm = Ppm::from_stored(block.to_owned())
            .map_err(|e| unreadable(path, format!("CRM {i}: {e}")))?;
        let offset = roff[i] as i64;
        crms.push(Crm {
            layer,
            neuron,
            shift: ShiftId(shift[i]),
            motif_nb: meta.crm_motif_nb[i],
            ppm,
            n: n[i] as usize,
            act_max: act[i],
            conact: conact[i],
            route: (offset >= 0).then(|| RouteSummary {
                offset_bp: offset as usize,
                purity: rpur[i],
            }),
        });
    }
    let mode = mode_of(&meta.mode)
        .ok_or_else(|| unreadable(path, format!("unknown sampling mode '{}'", meta.mode)))?;
    Ok(NeuronResult {
        layer,
        neuron,
        mode,
        samples: meta.samples,
        motif_nb: meta.motif_nb,
        tried: meta
            .tried
            .iter()
            .map(|&(m, bits)| (m, f32::from_bits(bits)))
            .collect(),
        crms,
        sampling_s: meta.sampling_s,
        decoupling_s: meta.decoupling_s,
    })
}
