//! A loaded model: the layer list with its weights, validated once.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2, Array3};
use neuronmotif_core::Alphabet;
use neuronmotif_field::{ConvGeom, Geometry, Op, PoolGeom};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::arch::{Architecture, LayerSpec, ARCHITECTURE_KEY};
use crate::{dtype, CnnError, Substructure};

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding.
    Valid,
    /// Zero padding keeping the length. Neuron work evaluates inputs exactly one receptive field
    /// long, where a `same` convolution's interior outputs equal a `valid` one's, so neuronmotif
    /// computes `same` layers as `valid` (as the original NeuronMotif did).
    Same,
}

/// A 1-D convolution's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// Tensor-name prefix.
    pub name: String,
    /// `[out, in, k]`.
    pub weight: Array3<f32>,
    /// `[out]` (zeros when the layer has no bias).
    pub bias: Array1<f32>,
    /// Whether the file has a bias tensor.
    pub has_bias: bool,
    /// Step.
    pub stride: usize,
    /// Tap spacing.
    pub dilation: usize,
    /// Padding mode.
    pub padding: Padding,
}

impl ConvLayer {
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }
    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1]
    }
    /// Taps.
    pub fn kernel(&self) -> usize {
        self.weight.shape()[2]
    }
}

/// Batch normalisation statistics and affine parameters (inference mode).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormLayer {
    /// Tensor-name prefix.
    pub name: String,
    /// γ.
    pub gamma: Array1<f32>,
    /// β.
    pub beta: Array1<f32>,
    /// Running mean μ.
    pub mean: Array1<f32>,
    /// Running variance σ².
    pub var: Array1<f32>,
    /// ε.
    pub eps: f64,
}

impl BatchNormLayer {
    /// Per-channel `(scale, shift)` with `bn(x) = scale·x + shift`, computed in f64.
    pub fn scale_shift(&self) -> (Vec<f64>, Vec<f64>) {
        let mut scale = Vec::with_capacity(self.gamma.len());
        let mut shift = Vec::with_capacity(self.gamma.len());
        for c in 0..self.gamma.len() {
            let s = f64::from(self.gamma[c]) / (f64::from(self.var[c]) + self.eps).sqrt();
            scale.push(s);
            shift.push(f64::from(self.beta[c]) - f64::from(self.mean[c]) * s);
        }
        (scale, shift)
    }
}

/// A dense layer's weights (after the last conv; kept so a converted file is complete).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearLayer {
    /// Tensor-name prefix.
    pub name: String,
    /// `[out, in]`.
    pub weight: Array2<f32>,
    /// `[out]`.
    pub bias: Array1<f32>,
    /// Whether the file has a bias tensor.
    pub has_bias: bool,
}

/// One layer of a model.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// Convolution.
    Conv(ConvLayer),
    /// Batch normalisation.
    BatchNorm(BatchNormLayer),
    /// `x` where `x > threshold`, else 0.
    Relu {
        /// Threshold.
        threshold: f32,
    },
    /// Max-pool.
    MaxPool {
        /// Window.
        kernel: usize,
        /// Step.
        stride: usize,
    },
    /// Identity at inference.
    Dropout,
    /// Flatten (after the last conv).
    Flatten,
    /// Dense (after the last conv).
    Linear(LinearLayer),
    /// Logistic (after the last conv).
    Sigmoid,
}

/// One line per layer: `conv1d "c1" 4 -> 300, kernel 19`, `maxpool1d 3 (stride 3)`, ...
impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::Conv(c) => {
                write!(
                    f,
                    "conv1d {:?} {} -> {}, kernel {}",
                    c.name,
                    c.in_channels(),
                    c.out_channels(),
                    c.kernel()
                )?;
                if c.stride != 1 {
                    write!(f, ", stride {}", c.stride)?;
                }
                if c.dilation != 1 {
                    write!(f, ", dilation {}", c.dilation)?;
                }
                if c.padding == Padding::Same {
                    write!(f, ", same padding")?;
                }
                Ok(())
            }
            Layer::BatchNorm(b) => write!(f, "batchnorm {:?} (eps {})", b.name, b.eps),
            Layer::Relu { threshold } if *threshold == 0.0 => write!(f, "relu"),
            Layer::Relu { threshold } => write!(f, "relu (threshold {threshold})"),
            Layer::MaxPool { kernel, stride } => write!(f, "maxpool1d {kernel} (stride {stride})"),
            Layer::Dropout => write!(f, "dropout"),
            Layer::Flatten => write!(f, "flatten"),
            Layer::Linear(l) => write!(
                f,
                "linear {:?} {} -> {}",
                l.name,
                l.weight.ncols(),
                l.weight.nrows()
            ),
            Layer::Sigmoid => write!(f, "sigmoid"),
        }
    }
}

impl Layer {
    fn spec(&self) -> LayerSpec {
        match self {
            Layer::Conv(c) => LayerSpec::Conv1d {
                name: c.name.clone(),
                in_channels: c.in_channels(),
                out_channels: c.out_channels(),
                kernel_size: c.kernel(),
                stride: c.stride,
                dilation: c.dilation,
                padding: match c.padding {
                    Padding::Valid => "valid".into(),
                    Padding::Same => "same".into(),
                },
                bias: c.has_bias,
            },
            Layer::BatchNorm(b) => LayerSpec::Batchnorm {
                name: b.name.clone(),
                eps: b.eps,
            },
            Layer::Relu { threshold } => LayerSpec::Relu {
                threshold: f64::from(*threshold),
            },
            Layer::MaxPool { kernel, stride } => LayerSpec::Maxpool1d {
                kernel_size: *kernel,
                stride: Some(*stride),
            },
            Layer::Dropout => LayerSpec::Dropout {},
            Layer::Flatten => LayerSpec::Flatten {},
            Layer::Linear(l) => LayerSpec::Linear {
                name: l.name.clone(),
                in_features: l.weight.ncols(),
                out_features: l.weight.nrows(),
                bias: l.has_bias,
            },
            Layer::Sigmoid => LayerSpec::Sigmoid {},
        }
    }
}

/// A validated genomic CNN: input alphabet, layers and weights.
///
/// Construction ([`Model::new`], [`Model::load`], [`crate::keras::import`]) checks everything a
/// later step relies on: channel chaining, tensor shapes, finite values, positive variances, and
/// that nothing but position-wise layers and pools sits between convolutions.
#[derive(Clone, PartialEq)]
pub struct Model {
    alphabet: Alphabet,
    input_length: Option<usize>,
    layers: Vec<Layer>,
    geometry: Geometry,
    /// Layer index of each conv, in order.
    convs: Vec<usize>,
}

/// The declared input length must reach the last convolution: a window longer than its input
/// (a valid-padded conv or a max-pool) means the model cannot run on its own input, and its
/// deeper neurons do not exist.
fn check_lengths(layers: &[Layer], last_conv: usize, input_length: usize) -> Result<(), CnnError> {
    let mut len = input_length;
    if len == 0 {
        return Err(CnnError::layer(
            0,
            "model",
            None,
            "input_length must be at least 1",
        ));
    }
    for (i, layer) in layers.iter().enumerate().take(last_conv + 1) {
        let (window, stride, same) = match layer {
            Layer::Conv(c) => {
                let span = c
                    .dilation
                    .checked_mul(c.kernel() - 1)
                    .and_then(|s| s.checked_add(1))
                    .unwrap_or(usize::MAX);
                (span, c.stride, c.padding == Padding::Same)
            }
            Layer::MaxPool { kernel, stride } => (*kernel, *stride, false),
            _ => continue,
        };
        len = if same {
            len.div_ceil(stride)
        } else if len >= window {
            (len - window) / stride + 1
        } else {
            let spec = layer.spec();
            return Err(CnnError::layer(
                i,
                spec.op(),
                spec.name(),
                format!(
                    "its input is {len} positions long at the declared input_length of {input_length} bp, \
                     shorter than its window of {window}: the model cannot run on its own input"
                ),
            ));
        };
    }
    Ok(())
}

/// The layer list in [`Layer`]'s one-line form, not the weights.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> = self.layers.iter().map(ToString::to_string).collect();
        f.debug_struct("Model")
            .field("alphabet", &format_args!("{}", self.alphabet))
            .field("input_length", &self.input_length)
            .field("layers", &layers)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Validate a layer list.
    pub fn new(
        alphabet: Alphabet,
        input_length: Option<usize>,
        layers: Vec<Layer>,
    ) -> Result<Model, CnnError> {
        let mut channels = 4usize;
        let mut convs = Vec::new();
        let mut head_started: Option<usize> = None;
        for (i, layer) in layers.iter().enumerate() {
            let spec = layer.spec();
            let err = |m: String| CnnError::layer(i, spec.op(), spec.name(), m);
            match layer {
                Layer::Conv(c) => {
                    if let Some(h) = head_started {
                        return Err(err(format!(
                            "a convolution after layer {h} ({}) is not supported: neuron work needs Conv1D/BatchNorm/ReLU/MaxPool layers before the last convolution",
                            layers[h].spec().op()
                        )));
                    }
                    if c.in_channels() != channels {
                        return Err(err(format!(
                            "has {} input channels but its input has {channels}",
                            c.in_channels()
                        )));
                    }
                    if c.kernel() == 0 || c.out_channels() == 0 || c.stride == 0 || c.dilation == 0
                    {
                        return Err(err(
                            "kernel, out_channels, stride and dilation must be at least 1".into(),
                        ));
                    }
                    if c.bias.len() != c.out_channels() {
                        return Err(err(format!(
                            "bias has {} values, expected {}",
                            c.bias.len(),
                            c.out_channels()
                        )));
                    }
                    check_finite(&c.name, "weight", c.weight.iter())?;
                    check_finite(&c.name, "bias", c.bias.iter())?;
                    channels = c.out_channels();
                    convs.push(i);
                }
                Layer::BatchNorm(b) => {
                    if convs.is_empty() {
                        return Err(err(
                            "batchnorm before the first convolution is not supported".into(),
                        ));
                    }
                    for (what, v) in [
                        ("weight", &b.gamma),
                        ("bias", &b.beta),
                        ("running_mean", &b.mean),
                        ("running_var", &b.var),
                    ] {
                        if v.len() != channels {
                            return Err(CnnError::tensor(
                                &format!("{}.{what}", b.name),
                                format!("has {} values, expected {channels} (the channels of the preceding layer)", v.len()),
                            ));
                        }
                        check_finite(&b.name, what, v.iter())?;
                    }
                    if !(b.eps.is_finite() && b.eps >= 0.0) {
                        return Err(err(format!("eps {} must be finite and >= 0", b.eps)));
                    }
                    if let Some(c) = b.var.iter().position(|&v| f64::from(v) + b.eps <= 0.0) {
                        return Err(CnnError::tensor(
                            &format!("{}.running_var", b.name),
                            format!(
                                "channel {c}: variance + eps = {} must be > 0",
                                f64::from(b.var[c]) + b.eps
                            ),
                        ));
                    }
                }
                Layer::Relu { threshold } => {
                    if !threshold.is_finite() {
                        return Err(err("threshold must be finite".into()));
                    }
                }
                Layer::MaxPool { kernel, stride } => {
                    if *kernel == 0 || *stride == 0 {
                        return Err(err("kernel_size and stride must be at least 1".into()));
                    }
                }
                Layer::Dropout => {}
                Layer::Flatten | Layer::Sigmoid => {
                    head_started.get_or_insert(i);
                }
                Layer::Linear(l) => {
                    head_started.get_or_insert(i);
                    check_finite(&l.name, "weight", l.weight.iter())?;
                    check_finite(&l.name, "bias", l.bias.iter())?;
                    if l.bias.len() != l.weight.nrows() {
                        return Err(err(format!(
                            "bias has {} values, expected {}",
                            l.bias.len(),
                            l.weight.nrows()
                        )));
                    }
                }
            }
        }
        if convs.is_empty() {
            return Err(CnnError::layer(
                0,
                "model",
                None,
                "the model has no conv1d layer: there are no convolutional neurons to explain",
            ));
        }
        if let Some(n) = input_length {
            check_lengths(&layers, *convs.last().unwrap_or(&0), n)?;
        }
        let geometry = geometry_of(&layers, *convs.last().unwrap_or(&0))?;
        Ok(Model {
            alphabet,
            input_length,
            layers,
            geometry,
            convs,
        })
    }

    /// Load a model file (safetensors with `neuronmotif.architecture` metadata).
    pub fn load(path: impl AsRef<Path>) -> Result<Model, CnnError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| CnnError::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
        Self::from_safetensors(&bytes, path)
    }

    /// Open either a model file or, with the `keras` feature, a Keras 2 HDF5 file (recognised
    /// by its signature), whose input channels are then in `keras_alphabet` order.
    pub fn open(path: impl AsRef<Path>, keras_alphabet: Alphabet) -> Result<Model, CnnError> {
        Self::open_bytes(path.as_ref(), keras_alphabet).map(|(m, _)| m)
    }

    /// [`Model::open`] with the channel order given only when the user gave one: a Keras file
    /// is read in `alphabet` order (ACGT when `None`); a model file declares its own order, and
    /// an `alphabet` that differs from it is an error rather than silently ignored.
    pub fn open_with_alphabet(
        path: impl AsRef<Path>,
        alphabet: Option<Alphabet>,
    ) -> Result<Model, CnnError> {
        let path = path.as_ref();
        let (model, keras) = Self::open_bytes(path, alphabet.unwrap_or(Alphabet::ACGT))?;
        match alphabet {
            Some(a) if !keras && a != model.alphabet() => Err(CnnError::Architecture {
                path: path.to_path_buf(),
                message: format!(
                    "the alphabet {a} was asked for, but this model file declares its input channel order as {} (an alphabet applies to Keras HDF5 files)",
                    model.alphabet()
                ),
            }),
            _ => Ok(model),
        }
    }

    /// The model, and whether it came from a Keras file.
    fn open_bytes(path: &Path, keras_alphabet: Alphabet) -> Result<(Model, bool), CnnError> {
        let bytes = std::fs::read(path).map_err(|source| CnnError::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
        if bytes.starts_with(b"PK\x03\x04") {
            return Err(CnnError::Keras {
                path: path.to_path_buf(),
                message: "a zip archive, as Keras 3 writes `.keras` files; neuronmotif reads \
                          Keras 2 whole-model HDF5 files: save the model with \
                          `model.save(\"model.h5\")` (TensorFlow <= 2.15, or tf-keras)"
                    .into(),
            });
        }
        #[cfg(feature = "keras")]
        let hdf5 = hdf5_pure::is_hdf5_bytes(&bytes); // also behind a user block
        #[cfg(not(feature = "keras"))]
        let hdf5 = bytes.starts_with(b"\x89HDF\r\n\x1a\n");
        if hdf5 {
            #[cfg(feature = "keras")]
            return crate::keras::import_bytes(bytes, path, keras_alphabet).map(|m| (m, true));
            #[cfg(not(feature = "keras"))]
            return Err(CnnError::Keras {
                path: path.to_path_buf(),
                message: format!(
                    "HDF5 input needs the `keras` feature (alphabet {keras_alphabet})"
                ),
            });
        }
        Self::from_safetensors(&bytes, path).map(|m| (m, false))
    }

    /// Parse model-file bytes; `path` is used in error messages only.
    pub fn from_safetensors(bytes: &[u8], path: &Path) -> Result<Model, CnnError> {
        Self::parse_safetensors(bytes, path).map_err(|e| e.in_file(path))
    }

    fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<Model, CnnError> {
        let st_err = |message: String| CnnError::Safetensors {
            path: path.to_path_buf(),
            message,
        };
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| st_err(e.to_string()))?;
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| st_err(e.to_string()))?;
        let arch_err = |message: String| CnnError::Architecture {
            path: path.to_path_buf(),
            message,
        };
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(ARCHITECTURE_KEY))
            .ok_or_else(|| {
                arch_err(format!(
                    "no {ARCHITECTURE_KEY:?} key in the safetensors metadata; a neuronmotif model file describes its layers there (Keras .h5 files: run `neuronmotif convert`)"
                ))
            })?;
        let arch = Architecture::from_json(json).map_err(arch_err)?;
        let alphabet = Alphabet::parse(&arch.alphabet).map_err(|e| arch_err(e.to_string()))?;
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, CnnError> {
            let t = tensors.tensor(name).map_err(|_| {
                CnnError::tensor(
                    name,
                    format!("missing from the file (expected shape {shape:?})"),
                )
            })?;
            if t.shape() != shape {
                return Err(CnnError::tensor(
                    name,
                    format!("has shape {:?}, expected {shape:?}", t.shape()),
                ));
            }
            dtype::decode(name, t.dtype(), t.data())
        };
        let mut layers = Vec::with_capacity(arch.layers.len());
        for (i, spec) in arch.layers.iter().enumerate() {
            let layer = match spec {
                LayerSpec::Conv1d {
                    name,
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    dilation,
                    padding,
                    bias,
                } => {
                    let padding = match padding.as_str() {
                        "valid" => Padding::Valid,
                        "same" => Padding::Same,
                        other => {
                            return Err(CnnError::layer(i, "conv1d", Some(name), format!("padding {other:?} is not supported; expected \"valid\" or \"same\"")))
                        }
                    };
                    let shape = [*out_channels, *in_channels, *kernel_size];
                    let w = get(&format!("{name}.weight"), &shape)?;
                    let b = if *bias {
                        get(&format!("{name}.bias"), &[*out_channels])?
                    } else {
                        vec![0.0; *out_channels]
                    };
                    Layer::Conv(ConvLayer {
                        name: name.clone(),
                        weight: Array3::from_shape_vec(shape, w)
                            .map_err(|e| CnnError::tensor(name, e.to_string()))?,
                        bias: Array1::from(b),
                        has_bias: *bias,
                        stride: *stride,
                        dilation: *dilation,
                        padding,
                    })
                }
                LayerSpec::Batchnorm { name, eps } => {
                    let n = tensors
                        .tensor(&format!("{name}.weight"))
                        .map(|t| t.shape().iter().product::<usize>())
                        .unwrap_or(0);
                    let v = |what: &str| get(&format!("{name}.{what}"), &[n]).map(Array1::from);
                    Layer::BatchNorm(BatchNormLayer {
                        name: name.clone(),
                        gamma: v("weight")?,
                        beta: v("bias")?,
                        mean: v("running_mean")?,
                        var: v("running_var")?,
                        eps: *eps,
                    })
                }
                LayerSpec::Relu { threshold } => Layer::Relu {
                    threshold: *threshold as f32,
                },
                LayerSpec::Maxpool1d {
                    kernel_size,
                    stride,
                } => Layer::MaxPool {
                    kernel: *kernel_size,
                    stride: stride.unwrap_or(*kernel_size),
                },
                LayerSpec::Dropout {} => Layer::Dropout,
                LayerSpec::Flatten {} => Layer::Flatten,
                LayerSpec::Sigmoid {} => Layer::Sigmoid,
                LayerSpec::Linear {
                    name,
                    in_features,
                    out_features,
                    bias,
                } => {
                    let shape = [*out_features, *in_features];
                    let w = get(&format!("{name}.weight"), &shape)?;
                    let b = if *bias {
                        get(&format!("{name}.bias"), &[*out_features])?
                    } else {
                        vec![0.0; *out_features]
                    };
                    Layer::Linear(LinearLayer {
                        name: name.clone(),
                        weight: Array2::from_shape_vec(shape, w)
                            .map_err(|e| CnnError::tensor(name, e.to_string()))?,
                        bias: Array1::from(b),
                        has_bias: *bias,
                    })
                }
            };
            layers.push(layer);
        }
        Model::new(alphabet, arch.input_length, layers)
    }

    /// Serialise to model-file bytes (F32 tensors, architecture in the metadata).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, CnnError> {
        let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut push = |name: String, shape: Vec<usize>, data: &mut dyn Iterator<Item = &f32>| {
            let bytes: Vec<u8> = data.flat_map(|v| v.to_le_bytes()).collect();
            owned.push((name, shape, bytes));
        };
        for layer in &self.layers {
            match layer {
                Layer::Conv(c) => {
                    push(
                        format!("{}.weight", c.name),
                        c.weight.shape().to_vec(),
                        &mut c.weight.iter(),
                    );
                    if c.has_bias {
                        push(
                            format!("{}.bias", c.name),
                            vec![c.bias.len()],
                            &mut c.bias.iter(),
                        );
                    }
                }
                Layer::BatchNorm(b) => {
                    for (what, v) in [
                        ("weight", &b.gamma),
                        ("bias", &b.beta),
                        ("running_mean", &b.mean),
                        ("running_var", &b.var),
                    ] {
                        push(format!("{}.{what}", b.name), vec![v.len()], &mut v.iter());
                    }
                }
                Layer::Linear(l) => {
                    push(
                        format!("{}.weight", l.name),
                        l.weight.shape().to_vec(),
                        &mut l.weight.iter(),
                    );
                    if l.has_bias {
                        push(
                            format!("{}.bias", l.name),
                            vec![l.bias.len()],
                            &mut l.bias.iter(),
                        );
                    }
                }
                _ => {}
            }
        }
        let views = owned
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| CnnError::tensor(name, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let meta = HashMap::from([(ARCHITECTURE_KEY.to_string(), self.architecture().to_json())]);
        safetensors::serialize(views, Some(meta)).map_err(|e| CnnError::Safetensors {
            path: "<memory>".into(),
            message: e.to_string(),
        })
    }

    /// Write the model file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CnnError> {
        let path = path.as_ref();
        let bytes = self.to_safetensors()?;
        std::fs::write(path, bytes).map_err(|source| CnnError::Io {
            path: path.to_path_buf(),
            error: source,
        })
    }

    /// The architecture description (what the file's metadata holds).
    pub fn architecture(&self) -> Architecture {
        Architecture {
            version: 1,
            alphabet: self.alphabet.to_string(),
            input_length: self.input_length,
            layers: self.layers.iter().map(Layer::spec).collect(),
        }
    }

    /// Input channel order.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// Declared training input length, if any.
    pub fn input_length(&self) -> Option<usize> {
        self.input_length
    }

    /// All layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Number of conv layers.
    pub fn conv_count(&self) -> usize {
        self.convs.len()
    }

    /// Conv layer `layer` (1-based among conv layers).
    pub fn conv(&self, layer: usize) -> Result<&ConvLayer, CnnError> {
        match layer
            .checked_sub(1)
            .and_then(|i| self.convs.get(i))
            .map(|&i| &self.layers[i])
        {
            Some(Layer::Conv(c)) => Ok(c),
            _ => Err(CnnError::OutOfRange {
                what: "conv layer",
                value: layer,
                limit: format!("conv layers 1..={}", self.convs.len()),
            }),
        }
    }

    /// Index in [`Model::layers`] of conv layer `layer` (1-based).
    pub fn conv_layer_index(&self, layer: usize) -> Result<usize, CnnError> {
        self.conv(layer)?;
        Ok(self.convs[layer - 1])
    }

    /// Receptive-field geometry of the conv chain (layers after the last conv excluded).
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Number of trainable parameters of all layers.
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l {
                Layer::Conv(c) => c.weight.len() + if c.has_bias { c.bias.len() } else { 0 },
                Layer::BatchNorm(b) => 2 * b.gamma.len(),
                Layer::Linear(l) => l.weight.len() + if l.has_bias { l.bias.len() } else { 0 },
                _ => 0,
            })
            .sum()
    }

    /// The model truncated at conv layer `layer`, compiled for fast inference.
    pub fn substructure(&self, layer: usize) -> Result<Substructure, CnnError> {
        Substructure::new(self, layer)
    }
}

fn check_finite<'a>(
    name: &str,
    what: &str,
    mut values: impl Iterator<Item = &'a f32>,
) -> Result<(), CnnError> {
    match values.position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(CnnError::tensor(
            &format!("{name}.{what}"),
            format!("element {i} is not finite (NaN or infinite): the weights are corrupt"),
        )),
    }
}

fn geometry_of(layers: &[Layer], last_conv: usize) -> Result<Geometry, CnnError> {
    let ops = layers[..=last_conv]
        .iter()
        .map(|l| match l {
            Layer::Conv(c) => Op::Conv {
                name: c.name.clone(),
                out_channels: c.out_channels(),
                geom: ConvGeom {
                    kernel: c.kernel(),
                    stride: c.stride,
                    dilation: c.dilation,
                },
            },
            Layer::MaxPool { kernel, stride } => Op::Pool(PoolGeom {
                kernel: *kernel,
                stride: *stride,
            }),
            _ => Op::Transparent,
        })
        .collect();
    Ok(Geometry::new(ops)?)
}
