//! The layer table: every CRM of every neuron of a layer, the seed source of the next layer.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array3;
use neuronmotif_core::Ppm;
use neuronmotif_field::ShiftId;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::{Crm, RouteSummary, SampleError};

const KEY: &str = "neuronmotif.layer_table";

/// All CRMs of one conv layer.
///
/// Unlike the original's `allppm.h5`, neurons may have different numbers of CRMs (each is
/// stored with its neuron and shift id), so no padding slots are needed and the slot-count bug
/// for motif_nb ≥ 3 cannot arise.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTable {
    /// Conv layer (1-based).
    pub layer: usize,
    /// Receptive field (PPM width).
    pub rf: usize,
    /// Number of neurons in the layer (some may have no CRM).
    pub neurons: usize,
    /// The CRMs, ordered by neuron then shift.
    pub crms: Vec<Crm>,
}

impl LayerTable {
    /// The table of the layer `sub` ends at: its conv layer, receptive field and neuron count
    /// are the substructure's.
    pub fn new(sub: &neuronmotif_cnn::Substructure, crms: Vec<Crm>) -> LayerTable {
        LayerTable {
            layer: sub.layer(),
            rf: sub.input_len(),
            neurons: sub.channels(),
            crms,
        }
    }

    /// The CRMs of each neuron (index = neuron).
    pub fn by_neuron(&self) -> Vec<Vec<&Crm>> {
        let mut out = vec![Vec::new(); self.neurons];
        for c in &self.crms {
            if let Some(v) = out.get_mut(c.neuron) {
                v.push(c);
            }
        }
        out
    }

    /// Serialise (safetensors: `ppm` [N, rf, 4] f32 and per-CRM vectors, with the layer in the
    /// metadata).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SampleError> {
        let n = self.crms.len();
        let f32s = |v: Vec<f32>| -> Vec<u8> { v.into_iter().flat_map(f32::to_le_bytes).collect() };
        let i64s = |v: Vec<i64>| -> Vec<u8> { v.into_iter().flat_map(i64::to_le_bytes).collect() };
        let ppm = f32s(
            self.crms
                .iter()
                .flat_map(|c| c.ppm.view().iter().map(|&p| p as f32).collect::<Vec<_>>())
                .collect(),
        );
        let cols: Vec<(&str, Dtype, Vec<u8>)> = vec![
            (
                "act",
                Dtype::F32,
                f32s(self.crms.iter().map(|c| c.act_max).collect()),
            ),
            (
                "conact",
                Dtype::F32,
                f32s(self.crms.iter().map(|c| c.conact).collect()),
            ),
            (
                "n",
                Dtype::I64,
                i64s(self.crms.iter().map(|c| c.n as i64).collect()),
            ),
            (
                "neuron",
                Dtype::I64,
                i64s(self.crms.iter().map(|c| c.neuron as i64).collect()),
            ),
            (
                "shift",
                Dtype::I64,
                i64s(self.crms.iter().map(|c| c.shift.0 as i64).collect()),
            ),
            (
                "motif_nb",
                Dtype::I64,
                i64s(self.crms.iter().map(|c| i64::from(c.motif_nb)).collect()),
            ),
            (
                "route_offset",
                Dtype::I64,
                i64s(
                    self.crms
                        .iter()
                        .map(|c| c.route.as_ref().map_or(-1, |r| r.offset_bp as i64))
                        .collect(),
                ),
            ),
            (
                "route_purity",
                Dtype::F32,
                f32s(
                    self.crms
                        .iter()
                        .map(|c| c.route.as_ref().map_or(-1.0, |r| r.purity))
                        .collect(),
                ),
            ),
        ];
        let mut views = vec![(
            "ppm".to_string(),
            view(Dtype::F32, vec![n, self.rf, 4], &ppm)?,
        )];
        for (name, dt, bytes) in &cols {
            views.push((name.to_string(), view(*dt, vec![n], bytes)?));
        }
        let meta = HashMap::from([(
            KEY.to_string(),
            serde_json::json!({"version": 1, "layer": self.layer, "rf": self.rf, "neurons": self.neurons}).to_string(),
        )]);
        safetensors::serialize(views, Some(meta)).map_err(|e| table_err("<memory>", e.to_string()))
    }

    /// Parse and validate; `path` names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<LayerTable, SampleError> {
        let err = |m: String| table_err(path, m);
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| err(format!("not a safetensors file ({e})")))?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| err(format!("not a safetensors file ({e})")))?;
        let m = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(KEY))
            .ok_or_else(|| {
                err(format!(
                    "no {KEY:?} metadata: not a neuronmotif layer table"
                ))
            })?;
        let m: serde_json::Value =
            serde_json::from_str(m).map_err(|e| err(format!("bad metadata: {e}")))?;
        let get = |k: &str| {
            m.get(k)
                .and_then(serde_json::Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| err(format!("metadata lacks {k:?}")))
        };
        let (layer, rf, neurons) = (get("layer")?, get("rf")?, get("neurons")?);
        let t = |name: &str, dt: Dtype| -> Result<(Vec<usize>, Vec<u8>), SampleError> {
            let v = st
                .tensor(name)
                .map_err(|_| err(format!("tensor {name:?} is missing")))?;
            if v.dtype() != dt {
                return Err(err(format!(
                    "tensor {name:?} has dtype {:?}, expected {dt:?}",
                    v.dtype()
                )));
            }
            Ok((v.shape().to_vec(), v.data().to_vec()))
        };
        let (shape, ppm_bytes) = t("ppm", Dtype::F32)?;
        if shape.len() != 3 || shape[1] != rf || shape[2] != 4 {
            return Err(err(format!(
                "ppm has shape {shape:?}, expected [n, {rf}, 4]"
            )));
        }
        let n = shape[0];
        let f32v = |name: &str| -> Result<Vec<f32>, SampleError> {
            let (s, b) = t(name, Dtype::F32)?;
            if s != [n] {
                return Err(err(format!(
                    "tensor {name:?} has shape {s:?}, expected [{n}]"
                )));
            }
            Ok(b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let i64v = |name: &str| -> Result<Vec<i64>, SampleError> {
            let (s, b) = t(name, Dtype::I64)?;
            if s != [n] {
                return Err(err(format!(
                    "tensor {name:?} has shape {s:?}, expected [{n}]"
                )));
            }
            Ok(b.chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect())
        };
        let probs: Vec<f64> = ppm_bytes
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        let block = Array3::from_shape_vec((n, rf, 4), probs).map_err(|e| err(e.to_string()))?;
        let ppms =
            Ppm::unstack(block.view(), 1e-3).map_err(|e| err(format!("a PPM is invalid: {e}")))?;
        let (act, conact) = (f32v("act")?, f32v("conact")?);
        let (ns, neuron, shift, mnb) = (
            i64v("n")?,
            i64v("neuron")?,
            i64v("shift")?,
            i64v("motif_nb")?,
        );
        let (roff, rpur) = (i64v("route_offset")?, f32v("route_purity")?);
        let mut crms = Vec::with_capacity(n);
        for (i, ppm) in ppms.into_iter().enumerate() {
            if neuron[i] < 0
                || neuron[i] as usize >= neurons
                || ns[i] < 0
                || shift[i] < 0
                || !(1..=4).contains(&mnb[i])
            {
                return Err(err(format!(
                    "entry {i} is out of range (neuron {}, n {}, shift {}, motif_nb {})",
                    neuron[i], ns[i], shift[i], mnb[i]
                )));
            }
            if !act[i].is_finite() || !conact[i].is_finite() {
                return Err(err(format!("entry {i} has a non-finite activation")));
            }
            crms.push(Crm {
                layer,
                neuron: neuron[i] as usize,
                shift: ShiftId(shift[i] as u64),
                motif_nb: mnb[i] as u32,
                ppm,
                n: ns[i] as usize,
                act_max: act[i],
                conact: conact[i],
                route: (roff[i] >= 0).then(|| RouteSummary {
                    offset_bp: roff[i] as usize,
                    purity: rpur[i],
                }),
            });
        }
        Ok(LayerTable {
            layer,
            rf,
            neurons,
            crms,
        })
    }

    /// Write to a file, atomically (a temporary file beside it, then a rename): a table's
    /// existence marks its layer as done, for a rerun and for the other shards of a run.
    pub fn save(&self, path: &Path) -> Result<(), SampleError> {
        let io = |p: &Path, error| SampleError::Io {
            path: p.display().to_string(),
            error,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", neuronmotif_core::temp_suffix()));
        std::fs::write(&tmp, self.to_bytes()?).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))
    }

    /// Read from a file.
    pub fn load(path: &Path) -> Result<LayerTable, SampleError> {
        let bytes = std::fs::read(path).map_err(|source| SampleError::Io {
            path: path.display().to_string(),
            error: source,
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }
}

fn view(dt: Dtype, shape: Vec<usize>, bytes: &[u8]) -> Result<TensorView<'_>, SampleError> {
    TensorView::new(dt, shape, bytes).map_err(|e| table_err("<memory>", e.to_string()))
}

fn table_err(path: &str, message: String) -> SampleError {
    SampleError::Table {
        path: path.to_string(),
        message,
    }
}
