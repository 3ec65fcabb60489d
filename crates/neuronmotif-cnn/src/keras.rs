//! Import of Keras 2 whole-model HDF5 files (`model.save("x.h5")`, `ModelCheckpoint`), in pure
//! Rust: the layer list comes from the `model_config` attribute, the weights from
//! `/model_weights/<layer>/...`.
//!
//! Supported: `Sequential` models and functional models that are a simple chain, with
//! `InputLayer`, `Conv1D` (valid/same padding, strides, dilation, any of the activations below),
//! `BatchNormalization`, `Activation` (relu, sigmoid, linear), `ReLU` (threshold),
//! `MaxPooling1D`, `Dropout`/`SpatialDropout1D`, `Flatten`, `Dense`. Anything else is an error
//! that names the layer. Keras kernels `[k, in, out]` become the contract's `[out, in, k]`;
//! dense kernels `[in, out]` become `[out, in]`.

use std::collections::HashMap;
use std::path::Path;

use hdf5_pure::{AttrValue, File};
use ndarray::{Array1, Array2, Array3};
use neuronmotif_core::Alphabet;
use serde_json::Value;

use crate::model::{BatchNormLayer, ConvLayer, Layer, LinearLayer, Padding};
use crate::{CnnError, Model};

/// Import a Keras 2 HDF5 model whose input channels are in `alphabet` order.
pub fn import(path: impl AsRef<Path>, alphabet: Alphabet) -> Result<Model, CnnError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| CnnError::Io {
        path: path.to_path_buf(),
        error: source,
    })?;
    import_bytes(bytes, path, alphabet)
}

/// Import from the bytes of a Keras HDF5 file; `path` is used in messages only.
pub fn import_bytes(bytes: Vec<u8>, path: &Path, alphabet: Alphabet) -> Result<Model, CnnError> {
    let err = |message: String| CnnError::Keras {
        path: path.to_path_buf(),
        message,
    };
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(err("not an HDF5 file".into()));
    }
    let len = bytes.len() as u64;
    let file = File::from_bytes(bytes).map_err(|e| err(format!("cannot read HDF5: {e}")))?;
    // The superblock's end-of-file address is absolute (any user block included).
    let end = file.superblock().eof_address;
    if end > len {
        return Err(err(format!(
            "the file is truncated: it has {len} bytes, but its HDF5 superblock says its data run to byte {end} (an interrupted download or copy?)"
        )));
    }
    let root_attrs = file
        .root()
        .attrs()
        .map_err(|e| err(format!("cannot read root attributes: {e}")))?;
    let config = root_attrs.get("model_config").and_then(attr_string).ok_or_else(|| {
        err("no model_config attribute: this is not a Keras 2 whole-model file (weights-only files and Keras 3 .keras/.weights.h5 files carry no usable architecture)".into())
    })?;
    let config: Value =
        serde_json::from_str(&config).map_err(|e| err(format!("model_config is not JSON: {e}")))?;
    let (keras_layers, input_length) = chain(&config).map_err(err)?;
    let weights_root = if file.group("model_weights").is_ok() {
        "model_weights/"
    } else {
        ""
    };
    let mut layers = Vec::new();
    for kl in &keras_layers {
        let w = |suffix: &str| read_weight(&file, weights_root, &kl.name, suffix).map_err(err);
        let lerr = |m: String| err(format!("layer {:?} ({}): {m}", kl.name, kl.class));
        let c = &kl.config;
        match kl.class.as_str() {
            "InputLayer" => {}
            "Conv1D" => {
                if c.get("data_format").and_then(Value::as_str).is_some_and(|f| f != "channels_last") {
                    return Err(lerr("only data_format channels_last is supported".into()));
                }
                let padding = match c.get("padding").and_then(Value::as_str).unwrap_or("valid") {
                    "valid" => Padding::Valid,
                    "same" => Padding::Same,
                    other => return Err(lerr(format!("padding {other:?} is not supported (valid or same)"))),
                };
                let (kshape, kernel) = w("kernel:0")?;
                if kshape.len() != 3 {
                    return Err(lerr(format!("kernel has shape {kshape:?}, expected [k, in, out]")));
                }
                let (k, cin, cout) = (kshape[0], kshape[1], kshape[2]);
                let weight = Array3::from_shape_fn((cout, cin, k), |(o, i, t)| kernel[(t * cin + i) * cout + o]);
                let use_bias = c.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
                let bias = if use_bias { Array1::from(w("bias:0")?.1) } else { Array1::zeros(cout) };
                layers.push(Layer::Conv(ConvLayer {
                    name: kl.name.clone(),
                    weight,
                    bias,
                    has_bias: use_bias,
                    stride: first_int(c.get("strides")).unwrap_or(1),
                    dilation: first_int(c.get("dilation_rate")).unwrap_or(1),
                    padding,
                }));
                push_activation(&mut layers, c).map_err(lerr)?;
            }
            "BatchNormalization" => {
                let axis = c.get("axis").map(|a| a.as_i64().or_else(|| a.get(0).and_then(Value::as_i64)));
                if let Some(Some(ax)) = axis {
                    if ax != -1 && ax != 2 {
                        return Err(lerr(format!("axis {ax} is not supported: only the channel axis (-1) is")));
                    }
                }
                let eps = c.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-3);
                let (_, mean) = w("moving_mean:0")?;
                let (_, var) = w("moving_variance:0")?;
                let n = mean.len();
                let gamma = if c.get("scale").and_then(Value::as_bool).unwrap_or(true) { w("gamma:0")?.1 } else { vec![1.0; n] };
                let beta = if c.get("center").and_then(Value::as_bool).unwrap_or(true) { w("beta:0")?.1 } else { vec![0.0; n] };
                layers.push(Layer::BatchNorm(BatchNormLayer {
                    name: kl.name.clone(),
                    gamma: Array1::from(gamma),
                    beta: Array1::from(beta),
                    mean: Array1::from(mean),
                    var: Array1::from(var),
                    eps,
                }));
            }
            "Activation" => push_activation(&mut layers, c).map_err(lerr)?,
            "ReLU" => {
                if c.get("max_value").is_some_and(|v| !v.is_null()) {
                    return Err(lerr("ReLU with max_value is not supported".into()));
                }
                if c.get("negative_slope").and_then(Value::as_f64).unwrap_or(0.0) != 0.0 {
                    return Err(lerr("leaky ReLU (negative_slope != 0) is not supported".into()));
                }
                let threshold = c.get("threshold").and_then(Value::as_f64).unwrap_or(0.0) as f32;
                layers.push(Layer::Relu { threshold });
            }
            "MaxPooling1D" => {
                if c.get("padding").and_then(Value::as_str).unwrap_or("valid") != "valid" {
                    return Err(lerr("only valid padding is supported for max-pooling".into()));
                }
                if c.get("data_format").and_then(Value::as_str).is_some_and(|f| f != "channels_last") {
                    return Err(lerr("only data_format channels_last is supported".into()));
                }
                let kernel = first_int(c.get("pool_size")).unwrap_or(2);
                let stride = first_int(c.get("strides")).unwrap_or(kernel);
                layers.push(Layer::MaxPool { kernel, stride });
            }
            "Dropout" | "SpatialDropout1D" | "GaussianNoise" | "GaussianDropout" => layers.push(Layer::Dropout),
            "Flatten" => layers.push(Layer::Flatten),
            "Dense" => {
                let (kshape, kernel) = w("kernel:0")?;
                if kshape.len() != 2 {
                    return Err(lerr(format!("kernel has shape {kshape:?}, expected [in, out]")));
                }
                let (fin, fout) = (kshape[0], kshape[1]);
                let use_bias = c.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
                layers.push(Layer::Linear(LinearLayer {
                    name: kl.name.clone(),
                    weight: Array2::from_shape_fn((fout, fin), |(o, i)| kernel[i * fout + o]),
                    bias: if use_bias { Array1::from(w("bias:0")?.1) } else { Array1::zeros(fout) },
                    has_bias: use_bias,
                }));
                push_activation(&mut layers, c).map_err(lerr)?;
            }
            other => {
                return Err(lerr(format!(
                    "Keras layer class {other} is not supported; supported: InputLayer, Conv1D, BatchNormalization, Activation, ReLU, MaxPooling1D, Dropout, Flatten, Dense"
                )))
            }
        }
    }
    Model::new(alphabet, input_length, layers).map_err(|e| e.in_file(path))
}

/// One Keras layer of the chain.
struct KerasLayer {
    class: String,
    name: String,
    config: Value,
}

/// The layers in input-to-output order, and the input length when the model declares one.
fn chain(config: &Value) -> Result<(Vec<KerasLayer>, Option<usize>), String> {
    let class = config
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let cfg = config
        .get("config")
        .ok_or("model_config has no \"config\"")?;
    let list = cfg
        .get("layers")
        .or(Some(cfg))
        .and_then(Value::as_array)
        .ok_or("model_config has no layer list")?;
    let parse = |v: &Value| -> Result<KerasLayer, String> {
        let class = v
            .get("class_name")
            .and_then(Value::as_str)
            .ok_or("a layer has no class_name")?
            .to_string();
        let config = v.get("config").cloned().unwrap_or(Value::Null);
        let name = v
            .get("name")
            .or_else(|| config.get("name"))
            .and_then(Value::as_str)
            .ok_or("a layer has no name")?
            .to_string();
        Ok(KerasLayer {
            class,
            name,
            config,
        })
    };
    let mut layers: Vec<KerasLayer> = list.iter().map(parse).collect::<Result<_, _>>()?;
    if class != "Sequential" {
        // Functional: follow inbound nodes from the input; each layer must have exactly one
        // input and feed exactly one layer.
        let inbound = |v: &Value| -> Result<Vec<String>, String> {
            let nodes = v
                .get("inbound_nodes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out = Vec::new();
            for node in &nodes {
                for t in node.as_array().into_iter().flatten() {
                    if let Some(n) = t.get(0).and_then(Value::as_str) {
                        out.push(n.to_string());
                    }
                }
            }
            Ok(out)
        };
        let mut next: HashMap<String, String> = HashMap::new();
        let mut start = None;
        for v in list {
            let name = parse(v)?.name;
            let ins = inbound(v)?;
            match ins.len() {
                0 => {
                    if start.replace(name.clone()).is_some() {
                        return Err("the model has several inputs; only a simple chain of layers can be imported".into());
                    }
                }
                1 => {
                    if next.insert(ins[0].clone(), name.clone()).is_some() {
                        return Err(format!(
                            "layer {:?} feeds several layers; only a simple chain can be imported",
                            ins[0]
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "layer {name:?} has {} inputs; only a simple chain can be imported",
                        ins.len()
                    ))
                }
            }
        }
        let mut order = Vec::new();
        let mut cur = start.ok_or("the model has no input layer")?;
        loop {
            order.push(cur.clone());
            match next.get(&cur) {
                Some(n) => cur = n.clone(),
                None => break,
            }
        }
        if order.len() != layers.len() {
            return Err("the layers do not form one chain from input to output".into());
        }
        let mut by_name: HashMap<String, KerasLayer> =
            layers.drain(..).map(|l| (l.name.clone(), l)).collect();
        layers = order.iter().filter_map(|n| by_name.remove(n)).collect();
    }
    let input_length = layers
        .first()
        .and_then(|l| l.config.get("batch_input_shape"))
        .and_then(|s| s.get(1))
        .and_then(Value::as_u64)
        .map(|v| v as usize);
    if let Some(shape) = layers
        .first()
        .and_then(|l| l.config.get("batch_input_shape"))
    {
        if shape.get(2).and_then(Value::as_u64).is_some_and(|c| c != 4) {
            return Err(format!(
                "input shape {shape} has {} channels; one-hot DNA has 4",
                shape[2]
            ));
        }
    }
    Ok((layers, input_length))
}

/// Append the layer for a Keras `activation` setting.
fn push_activation(layers: &mut Vec<Layer>, config: &Value) -> Result<(), String> {
    match config
        .get("activation")
        .and_then(Value::as_str)
        .unwrap_or("linear")
    {
        "linear" => {}
        "relu" => layers.push(Layer::Relu { threshold: 0.0 }),
        "sigmoid" => layers.push(Layer::Sigmoid),
        other => {
            return Err(format!(
                "activation {other:?} is not supported (relu, sigmoid, linear)"
            ))
        }
    }
    Ok(())
}

fn first_int(v: Option<&Value>) -> Option<usize> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.get(0).and_then(Value::as_u64))
        .map(|x| x as usize)
}

fn attr_string(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::String(s)
        | AttrValue::AsciiString(s)
        | AttrValue::VarLenString(s)
        | AttrValue::VarLenAsciiString(s) => Some(s.clone()),
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
            Some(value.clone())
        }
        AttrValue::U8Array(b) => String::from_utf8(b.clone()).ok(),
        _ => None,
    }
}

fn attr_strings(v: &AttrValue) -> Option<Vec<String>> {
    match v {
        AttrValue::StringArray(s)
        | AttrValue::AsciiStringArray(s)
        | AttrValue::VarLenAsciiCharArray(s)
        | AttrValue::VarLenStringArray(s)
        | AttrValue::VarLenAsciiStringArray(s) => Some(s.clone()),
        AttrValue::StringArraySized { values, .. }
        | AttrValue::AsciiStringArraySized { values, .. } => Some(values.clone()),
        other => attr_string(other).map(|s| vec![s]),
    }
}

/// Read the weight of `layer` whose name ends with `suffix` (e.g. `kernel:0`): shape and data.
fn read_weight(
    file: &File,
    root: &str,
    layer: &str,
    suffix: &str,
) -> Result<(Vec<usize>, Vec<f32>), String> {
    let group_path = format!("{root}{layer}");
    let group = file
        .group(&group_path)
        .map_err(|_| format!("no weights group {group_path:?} for layer {layer:?}"))?;
    let names = group
        .attrs()
        .ok()
        .and_then(|a| a.get("weight_names").and_then(attr_strings))
        .ok_or_else(|| format!("weights group {group_path:?} has no weight_names"))?;
    let name = names
        .iter()
        .find(|n| {
            n.ends_with(suffix)
                && (n.len() == suffix.len() || n[..n.len() - suffix.len()].ends_with('/'))
        })
        .ok_or_else(|| {
            format!("layer {layer:?} has no weight named */{suffix} (it has {names:?})")
        })?;
    let ds_path = format!("{group_path}/{name}");
    let ds = file
        .dataset(&ds_path)
        .map_err(|e| format!("cannot open {ds_path:?}: {e}"))?;
    let shape: Vec<usize> = ds
        .shape()
        .map_err(|e| format!("{ds_path:?}: {e}"))?
        .iter()
        .map(|&d| d as usize)
        .collect();
    let data = ds.read_f32().map_err(|e| format!("{ds_path:?}: {e}"))?;
    if data.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "{ds_path:?}: {} values for shape {shape:?}",
            data.len()
        ));
    }
    Ok((shape, data))
}
