//! The architecture description stored in a model file's `neuronmotif.architecture` metadata.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Metadata key holding the architecture JSON.
pub const ARCHITECTURE_KEY: &str = "neuronmotif.architecture";

/// The architecture JSON: input alphabet and length, and the layer list in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Format version; 1.
    pub version: u32,
    /// Input channel order, `"ACGT"` (default) or e.g. `"AGCT"` for DeepSEA-data models.
    #[serde(default = "default_alphabet")]
    pub alphabet: String,
    /// Input length the model was trained on (informational; neuron work uses receptive fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_length: Option<usize>,
    /// Layers in order.
    pub layers: Vec<LayerSpec>,
}

fn default_alphabet() -> String {
    "ACGT".into()
}

/// One layer of the contract. Tensor names are `<name>.weight`, `<name>.bias`, and for
/// batchnorm also `<name>.running_mean` and `<name>.running_var`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum LayerSpec {
    /// 1-D convolution, weight `[out, in, k]` (PyTorch layout).
    Conv1d {
        /// Tensor name prefix.
        name: String,
        /// Input channels.
        in_channels: usize,
        /// Output channels (neurons).
        out_channels: usize,
        /// Taps.
        kernel_size: usize,
        /// Step (default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Tap spacing (default 1).
        #[serde(default = "one")]
        dilation: usize,
        /// `"valid"` (default) or `"same"`; see [`crate::Substructure`] for how `same` is treated.
        #[serde(default = "valid")]
        padding: String,
        /// Whether a bias tensor exists (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Batch normalisation in inference mode: `γ·(x − μ)/√(σ² + ε) + β`.
    Batchnorm {
        /// Tensor name prefix.
        name: String,
        /// ε (default 1e-5, PyTorch's; Keras uses 1e-3).
        #[serde(default = "bn_eps")]
        eps: f64,
    },
    /// `x` where `x > threshold`, else 0.
    Relu {
        /// Threshold (default 0).
        #[serde(default)]
        threshold: f64,
    },
    /// 1-D max-pool.
    Maxpool1d {
        /// Window.
        kernel_size: usize,
        /// Step (default = kernel_size).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
    },
    /// Identity at inference.
    Dropout {},
    /// Flattening before dense layers (after the last conv; ignored for neuron work).
    Flatten {},
    /// Dense layer, weight `[out, in]` (after the last conv; ignored for neuron work).
    Linear {
        /// Tensor name prefix.
        name: String,
        /// Input features.
        in_features: usize,
        /// Output features.
        out_features: usize,
        /// Whether a bias tensor exists (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Logistic output (after the last conv; ignored for neuron work).
    Sigmoid {},
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn valid() -> String {
    "valid".into()
}
fn bn_eps() -> f64 {
    1e-5
}

const OPS: &str = "conv1d, batchnorm, relu, maxpool1d, dropout, flatten, linear, sigmoid";

impl LayerSpec {
    /// The op name as written in the JSON.
    pub fn op(&self) -> &'static str {
        match self {
            LayerSpec::Conv1d { .. } => "conv1d",
            LayerSpec::Batchnorm { .. } => "batchnorm",
            LayerSpec::Relu { .. } => "relu",
            LayerSpec::Maxpool1d { .. } => "maxpool1d",
            LayerSpec::Dropout {} => "dropout",
            LayerSpec::Flatten {} => "flatten",
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Sigmoid {} => "sigmoid",
        }
    }

    /// The tensor-name prefix, for layers with weights.
    pub fn name(&self) -> Option<&str> {
        match self {
            LayerSpec::Conv1d { name, .. }
            | LayerSpec::Batchnorm { name, .. }
            | LayerSpec::Linear { name, .. } => Some(name),
            _ => None,
        }
    }
}

impl Architecture {
    /// Parse the JSON, reporting problems per layer ("layer 4 (lstm): unsupported op ...").
    pub fn from_json(text: &str) -> Result<Architecture, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let obj = root
            .as_object()
            .ok_or("expected a JSON object with keys version, alphabet, input_length, layers")?;
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "version" | "alphabet" | "input_length" | "layers"
            ) {
                return Err(format!(
                    "unknown key {key:?}; expected version, alphabet, input_length, layers"
                ));
            }
        }
        let version = obj
            .get("version")
            .and_then(Value::as_u64)
            .ok_or("missing integer \"version\" (expected 1)")?;
        if version != 1 {
            return Err(format!("version {version} is not supported (expected 1)"));
        }
        let alphabet = match obj.get("alphabet") {
            None => default_alphabet(),
            Some(v) => v
                .as_str()
                .ok_or("\"alphabet\" must be a string such as \"ACGT\"")?
                .to_string(),
        };
        let input_length = match obj.get("input_length") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or("\"input_length\" must be a positive integer")? as usize,
            ),
        };
        let layers_json = obj
            .get("layers")
            .and_then(Value::as_array)
            .ok_or("missing array \"layers\"")?;
        let mut layers = Vec::with_capacity(layers_json.len());
        for (i, l) in layers_json.iter().enumerate() {
            let op = l.get("op").and_then(Value::as_str).unwrap_or("?");
            let spec: LayerSpec = serde_json::from_value(l.clone()).map_err(|e| {
                if !OPS.split(", ").any(|o| o == op) {
                    format!("layer {i}: unsupported op {op:?}; supported ops are {OPS}")
                } else {
                    format!("layer {i} ({op}): {e}")
                }
            })?;
            check_fields(i, l, &spec)?;
            layers.push(spec);
        }
        Ok(Architecture {
            version: 1,
            alphabet,
            input_length,
            layers,
        })
    }

    /// Serialise to the JSON stored in the file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reject keys the op does not know (a misspelt `dilatoin` must not silently become 1).
fn check_fields(index: usize, json: &Value, spec: &LayerSpec) -> Result<(), String> {
    let allowed: &[&str] = match spec {
        LayerSpec::Conv1d { .. } => &[
            "name",
            "in_channels",
            "out_channels",
            "kernel_size",
            "stride",
            "dilation",
            "padding",
            "bias",
        ],
        LayerSpec::Batchnorm { .. } => &["name", "eps"],
        LayerSpec::Relu { .. } => &["name", "threshold"],
        LayerSpec::Maxpool1d { .. } => &["name", "kernel_size", "stride"],
        LayerSpec::Dropout {} => &["name", "p"],
        LayerSpec::Flatten {} | LayerSpec::Sigmoid {} => &["name"],
        LayerSpec::Linear { .. } => &["name", "in_features", "out_features", "bias"],
    };
    if let Some(obj) = json.as_object() {
        for k in obj.keys() {
            if k != "op" && !allowed.contains(&k.as_str()) {
                return Err(format!(
                    "layer {index} ({}): unknown key {k:?}; expected {}",
                    spec.op(),
                    allowed.join(", ")
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_design_example_with_defaults() {
        let a = Architecture::from_json(
            r#"{"version": 1, "alphabet": "ACGT", "input_length": 600, "layers": [
              {"op": "conv1d", "name": "0", "in_channels": 4, "out_channels": 300, "kernel_size": 19},
              {"op": "batchnorm", "name": "1", "eps": 1e-5},
              {"op": "relu"},
              {"op": "maxpool1d", "kernel_size": 3},
              {"op": "dropout"},
              {"op": "conv1d", "name": "5", "in_channels": 300, "out_channels": 200, "kernel_size": 11}]}"#,
        )
        .unwrap();
        assert_eq!(a.layers.len(), 6);
        match &a.layers[0] {
            LayerSpec::Conv1d {
                stride,
                dilation,
                padding,
                bias,
                ..
            } => {
                assert_eq!(
                    (*stride, *dilation, padding.as_str(), *bias),
                    (1, 1, "valid", true)
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            a.layers[3],
            LayerSpec::Maxpool1d {
                kernel_size: 3,
                stride: None
            }
        );
        let back = Architecture::from_json(&a.to_json()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn errors_name_the_layer() {
        let e = Architecture::from_json(r#"{"version":1,"layers":[{"op":"relu"},{"op":"lstm"}]}"#)
            .unwrap_err();
        assert!(e.starts_with("layer 1: unsupported op \"lstm\""), "{e}");
        let e = Architecture::from_json(
            r#"{"version":1,"layers":[{"op":"conv1d","name":"c","in_channels":4,"out_channels":2,"kernel_size":3,"dilatoin":2}]}"#,
        )
        .unwrap_err();
        assert!(
            e.contains("layer 0 (conv1d): unknown key \"dilatoin\""),
            "{e}"
        );
        let e = Architecture::from_json(r#"{"version":1,"layers":[{"op":"conv1d","name":"c"}]}"#)
            .unwrap_err();
        assert!(
            e.contains("layer 0 (conv1d)") && e.contains("in_channels"),
            "{e}"
        );
        assert!(Architecture::from_json(r#"{"version":2,"layers":[]}"#).is_err());
        assert!(Architecture::from_json("[1]").is_err());
    }
}
