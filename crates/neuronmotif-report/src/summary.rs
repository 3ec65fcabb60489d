//! `run.json`: what was run, with which parameters, and how long it took.
//!
//! Every field is optional so that a report can be written for a run that is still going, or
//! for a `run.json` written by an older or newer version; keys this version does not know are
//! kept and shown as parameters. A value of the wrong type is an error naming line and column.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::{ReportError, Result};

/// The contents of `run.json` (see `docs/run-directory.md`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// Version of neuronmotif that wrote the run.
    pub neuronmotif_version: Option<String>,
    /// `complete`, or a state of an unfinished run.
    pub status: Option<String>,
    /// The model that was explained.
    pub model: Option<ModelSummary>,
    /// The seed of every random stream.
    pub seed: Option<u64>,
    /// Worker threads.
    pub threads: Option<u64>,
    /// The layers requested (`[1, 2, 3]`).
    pub layers: Option<Value>,
    /// The neurons requested (`"all"` or a range).
    pub neurons: Option<Value>,
    /// `"auto"` or a number.
    pub motif_nb: Option<Value>,
    /// The motif database matched against, when any.
    pub db: Option<String>,
    /// Sampler parameters, as written.
    pub sampler: Option<Value>,
    /// Decoupling parameters, as written.
    pub decouple: Option<Value>,
    /// Per-layer outcome and timings.
    #[serde(default)]
    pub results: Vec<LayerResult>,
    /// Wall time of the whole run, seconds.
    pub total_s: Option<f64>,
    /// Keys this version does not interpret, in key order.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `run.json` → `model`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ModelSummary {
    /// The model file as given on the command line.
    pub path: Option<String>,
    /// Input channel order of the model (`ACGT`, `AGCT`).
    pub alphabet: Option<String>,
    /// Number of convolutional layers.
    pub conv_layers: Option<u64>,
    /// One entry per conv layer.
    #[serde(default)]
    pub layers: Vec<ModelLayer>,
    /// Keys this version does not interpret.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `run.json` → `model.layers[]`: the geometry of one conv layer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ModelLayer {
    /// Conv layer, 1-based.
    pub layer: u32,
    /// The layer's name in the model file.
    pub name: Option<String>,
    /// Channels.
    pub neurons: Option<u64>,
    /// Receptive field, bp.
    pub rf: Option<u64>,
    /// Number of shift states.
    pub shifts: Option<u64>,
    /// Keys this version does not interpret.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `run.json` → `results[]`: what one layer produced and how long it took.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct LayerResult {
    /// Conv layer, 1-based.
    pub layer: u32,
    /// Receptive field, bp.
    pub rf: Option<u64>,
    /// Neurons explained.
    pub neurons: Option<u64>,
    /// CRMs written.
    pub crms: Option<u64>,
    /// The motif_nb used.
    pub motif_nb: Option<Value>,
    /// The motif_nb values tried, as written.
    pub motif_nb_tried: Option<Value>,
    /// Activating samples collected.
    pub samples: Option<u64>,
    /// Sampling time, seconds.
    pub sampling_s: Option<f64>,
    /// Decoupling time, seconds.
    pub decoupling_s: Option<f64>,
    /// Matching time, seconds.
    pub matching_s: Option<f64>,
    /// Wall time of the layer, seconds.
    pub wall_s: Option<f64>,
    /// Keys this version does not interpret.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl RunSummary {
    /// Parse `run.json` text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RunSummary> {
        serde_json::from_str(text).map_err(|e| ReportError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// The model geometry of conv layer `layer`.
    pub fn model_layer(&self, layer: u32) -> Option<&ModelLayer> {
        self.model
            .as_ref()?
            .layers
            .iter()
            .find(|l| l.layer == layer)
    }

    /// The outcome of conv layer `layer`.
    pub fn result(&self, layer: u32) -> Option<&LayerResult> {
        self.results.iter().find(|r| r.layer == layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "neuronmotif_version": "0.1.0",
      "status": "complete",
      "model": {"path": "model.safetensors", "alphabet": "ACGT", "conv_layers": 5,
                "layers": [{"layer": 1, "name": "conv1", "neurons": 5, "rf": 7, "shifts": 1}]},
      "seed": 1, "threads": 2,
      "layers": [1, 2, 3, 4, 5], "neurons": "all", "motif_nb": "auto", "db": "motifs.meme",
      "sampler": {"...": "SamplerParams"}, "decouple": {"...": "DecoupleParams"},
      "results": [
        {"layer": 1, "rf": 7, "neurons": 5, "crms": 5, "motif_nb": 1,
         "motif_nb_tried": [[1, 1.0, true]], "samples": 33948,
         "sampling_s": 0.01, "decoupling_s": 0.01, "matching_s": 0.2, "wall_s": 0.3}
      ],
      "total_s": 12.3
    }"#;

    #[test]
    fn documented_example_parses() {
        let s = RunSummary::parse(EXAMPLE, Path::new("run.json")).unwrap();
        assert_eq!(s.seed, Some(1));
        assert_eq!(s.model_layer(1).unwrap().rf, Some(7));
        assert_eq!(s.result(1).unwrap().samples, Some(33948));
        assert_eq!(s.total_s, Some(12.3));
        assert!(s.other.is_empty());
    }

    #[test]
    fn unknown_keys_are_kept_and_wrong_types_name_the_line() {
        let s = RunSummary::parse(r#"{"future": 3}"#, Path::new("run.json")).unwrap();
        assert_eq!(s.other["future"], Value::from(3));
        let e = RunSummary::parse("{\n\"seed\": \"x\"}", Path::new("d/run.json")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("d/run.json:2:"), "{msg}");
    }
}
