//! Samples on disk while a layer runs: they let an interrupted run resume without sampling
//! again, and keep memory flat however many neurons a layer has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use neuronmotif_sample::{SampleError, SampleSet, SampleStore};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::run_dir::atomic_write;

/// `DIR/layer<L>/samples/N<k>.samples` (safetensors: `codes` u8 `[n, rf]`, `act` f32 `[n]`).
#[derive(Debug, Clone)]
pub struct DiskStore {
    dir: PathBuf,
    rf: usize,
}

impl DiskStore {
    /// A store in `dir` for samples `rf` bp long.
    pub fn new(dir: &Path, rf: usize) -> DiskStore {
        DiskStore {
            dir: dir.to_path_buf(),
            rf,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, neuron: usize) -> PathBuf {
        self.dir.join(format!("N{neuron}.samples"))
    }

    /// Neurons with saved samples.
    pub fn count(&self, neurons: &[usize]) -> usize {
        neurons.iter().filter(|&&k| self.path(k).exists()).count()
    }

    /// Remove the directory.
    pub fn remove(&self) -> std::io::Result<()> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        Ok(())
    }
}

fn err(path: &Path, message: String) -> SampleError {
    SampleError::Table {
        path: path.display().to_string(),
        message,
    }
}

impl SampleStore for DiskStore {
    fn get(&self, neuron: usize) -> Result<Option<SampleSet>, SampleError> {
        let p = self.path(neuron);
        if !p.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&p).map_err(|source| SampleError::Io {
            path: p.display().to_string(),
            error: source,
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| {
            err(
                &p,
                format!("corrupt sample file ({e}); delete it to sample again"),
            )
        })?;
        let codes = st
            .tensor("codes")
            .map_err(|_| err(&p, "no codes tensor".into()))?;
        let act = st
            .tensor("act")
            .map_err(|_| err(&p, "no act tensor".into()))?;
        let n = act.shape().first().copied().unwrap_or(0);
        if codes.dtype() != Dtype::U8
            || act.dtype() != Dtype::F32
            || codes.shape() != [n, self.rf]
            || act.shape() != [n]
        {
            return Err(err(
                &p,
                format!(
                    "unexpected shapes {:?} / {:?}, expected [n, {}] u8 and [n] f32",
                    codes.shape(),
                    act.shape(),
                    self.rf
                ),
            ));
        }
        if codes.data().iter().any(|&c| c > 3) {
            return Err(err(&p, "base codes outside 0..=3".into()));
        }
        let a: Vec<f32> = act
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let codes = Array2::from_shape_vec((n, self.rf), codes.data().to_vec())
            .map_err(|e| err(&p, e.to_string()))?;
        Ok(Some(SampleSet { codes, act: a }))
    }

    fn put(&self, neuron: usize, samples: &SampleSet) -> Result<(), SampleError> {
        let p = self.path(neuron);
        let codes: Vec<u8> = samples.codes.iter().copied().collect();
        let act: Vec<u8> = samples.act.iter().flat_map(|v| v.to_le_bytes()).collect();
        let n = samples.len();
        let views = vec![
            (
                "codes".to_string(),
                TensorView::new(Dtype::U8, vec![n, self.rf], &codes)
                    .map_err(|e| err(&p, e.to_string()))?,
            ),
            (
                "act".to_string(),
                TensorView::new(Dtype::F32, vec![n], &act).map_err(|e| err(&p, e.to_string()))?,
            ),
        ];
        let bytes = safetensors::serialize(views, None::<HashMap<String, String>>)
            .map_err(|e| err(&p, e.to_string()))?;
        atomic_write(&p, &bytes).map_err(|e| err(&p, e.to_string()))
    }
}
