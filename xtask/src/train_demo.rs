//! `cargo xtask train-demo`: simulate sequences with planted JASPAR motifs, train the small demo
//! CNN with TensorFlow (Keras 2), and convert it to `testdata/demo/model.safetensors` with the
//! project's own Keras importer.
//!
//! Needs Python 3.9-3.11. The first run creates `target/xtask-venv-tf` and pip-installs
//! `tensorflow-cpu==2.15.1` (with its numpy and h5py) there; `--python` uses an interpreter that
//! already has them instead. The training script is `xtask/python/train_demo.py` (its docstring
//! describes the simulation and the network); it writes `model.h5` and `metrics.json`. This task
//! then converts the `.h5` exactly as `neuronmotif convert model.h5 model.safetensors` does
//! (`Model::open` + `Model::save`), checks that the converted model's conv-3 feature maps equal
//! Keras's on held-out sequences, and removes `model.h5` if it is larger than 512 kB.

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::Array2;
use neuronmotif_cnn::Model;
use neuronmotif_core::Alphabet;

use crate::pyenv::{run_checked, Toolset};

const HELP: &str = "cargo xtask train-demo [--python PY] [--out DIR] [--seed N] [--epochs N]

Simulates 200-bp sequences with planted JASPAR motifs (GATA1 + TAL1::TCF3 composite at a fixed
spacing, CTCF, AP-1, decoys and negatives), trains the small demo CNN, and writes
testdata/demo/{model.h5, model.safetensors, metrics.json}. Needs python3 (3.9-3.11): the first
run creates target/xtask-venv-tf and pip-installs tensorflow-cpu==2.15.1 into it (network
access to PyPI needed once). Training takes a few minutes on 2 cores.
  --python PY  use this interpreter (it must import tensorflow 2.15) instead of the venv
  --out DIR    output folder (default testdata/demo)
  --seed N     simulation and training seed (default 1)
  --epochs N   maximum epochs (default 20; early stopping on the validation loss)";

const TF_REQUIREMENT: &str = "tensorflow-cpu==2.15.1";
const KEEP_H5_BELOW: u64 = 512 * 1024;

pub fn repo_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    p.canonicalize().unwrap_or(p)
}

/// TensorFlow 2.15 with Keras 2, numpy and h5py.
pub const TENSORFLOW: Toolset = Toolset {
    venv: "xtask-venv-tf",
    requirements: &[TF_REQUIREMENT],
    probe: "import tensorflow, numpy, h5py; assert tensorflow.__version__.startswith('2.15')",
    what: "tensorflow 2.15, numpy and h5py",
};

/// The converted model's conv-3 feature maps against the ones Keras wrote: largest |difference|.
fn parity(model: &Model, path: &Path) -> Result<(f32, usize), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let bad = || format!("{}: unexpected layout", path.display());
    let rows: Vec<Vec<u8>> = v["codes"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|r| {
            r.as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|c| c.as_u64())
                        .map(|c| c as u8)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let keras: Vec<f32> = v["bn3"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .filter_map(|x| x.as_f64())
        .map(|x| x as f32)
        .collect();
    let (n, len) = (rows.len(), rows.first().map_or(0, Vec::len));
    let codes = Array2::from_shape_vec((n, len), rows.concat()).map_err(|e| e.to_string())?;
    let ours = model
        .substructure(model.conv_count())
        .and_then(|s| s.forward(codes.view()))
        .map_err(|e| e.to_string())?;
    if ours.len() != keras.len() {
        return Err(format!(
            "feature map sizes differ: ours {:?}, Keras {:?}",
            ours.shape(),
            v["shape"]
        ));
    }
    let diff = ours
        .iter()
        .zip(&keras)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    Ok((diff, keras.len()))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let mut python: Option<PathBuf> = None;
    let mut out = root.join("testdata/demo");
    let mut extra: Vec<String> = Vec::new();
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    while let Some(flag) = a.flag() {
        match flag {
            "--python" => python = Some(a.path(flag, "a path")?),
            "--out" => out = a.path(flag, "a folder")?,
            "--seed" | "--epochs" => {
                let v: u64 = a.parsed(flag, "a number", |_| true)?;
                extra.extend([flag.to_string(), v.to_string()]);
            }
            other => return Err(a.unknown(other)),
        }
    }
    let python = TENSORFLOW.python(&root, python)?;
    let script = root.join("xtask/python/train_demo.py");
    let scratch = root.join("target/xtask-demo");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let parity_path = scratch.join("parity.json");
    let t0 = std::time::Instant::now();
    run_checked(
        Command::new(&python)
            .arg(&script)
            .arg("--out")
            .arg(&out)
            .arg("--jaspar")
            .arg(root.join(crate::planted::DB))
            .arg("--parity")
            .arg(&parity_path)
            .args(&extra),
        "train_demo.py",
    )?;
    println!("trained in {:.0} s", t0.elapsed().as_secs_f64());

    let h5 = out.join("model.h5");
    let st = out.join("model.safetensors");
    let model = Model::open(&h5, Alphabet::ACGT).map_err(|e| e.to_string())?;
    model.save(&st).map_err(|e| e.to_string())?;
    let (diff, values) = parity(&model, &parity_path)?;
    println!(
        "converted {} -> {} ({} conv layers, {} parameters); conv-{} feature maps vs Keras on {values} values: max |diff| {diff:.2e}",
        h5.display(),
        st.display(),
        model.conv_count(),
        model.parameter_count(),
        model.conv_count()
    );
    if diff > 1e-3 {
        return Err(format!(
            "the converted model disagrees with Keras (max |diff| {diff}): the Keras import is wrong"
        ));
    }
    let h5_size = std::fs::metadata(&h5).map(|m| m.len()).unwrap_or(0);
    if h5_size > KEEP_H5_BELOW {
        std::fs::remove_file(&h5).map_err(|e| format!("{}: {e}", h5.display()))?;
        println!(
            "removed {} ({h5_size} bytes is too large to commit)",
            h5.display()
        );
    }
    for f in ["model.h5", "model.safetensors", "metrics.json"] {
        if let Ok(m) = std::fs::metadata(out.join(f)) {
            println!("  {f}: {} bytes", m.len());
        }
    }
    println!(
        "next: time the demo with `cargo run --release -p neuronmotif-cli -- run {} --db {} --out DIR`",
        st.display(),
        crate::planted::DB
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed Keras file converts, through the same import as `neuronmotif convert`, to
    /// exactly the committed model file; the model is the small 3-conv network the metrics
    /// describe.
    #[test]
    fn committed_demo_h5_converts_to_the_committed_model() {
        let dir = repo_root().join("testdata/demo");
        let h5 = dir.join("model.h5");
        if !h5.exists() {
            eprintln!("skipped: {} is not committed (too large)", h5.display());
            return;
        }
        let model = Model::open(&h5, Alphabet::ACGT).unwrap();
        let committed = std::fs::read(dir.join("model.safetensors")).unwrap();
        assert!(
            model.to_safetensors().unwrap() == committed,
            "model.safetensors is not the conversion of model.h5"
        );
        let metrics: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap())
                .unwrap();
        let rfs: Vec<usize> = (1..=model.conv_count())
            .map(|l| model.geometry().receptive_field(l).unwrap().len)
            .collect();
        let expected: Vec<usize> = metrics["model"]["receptive_fields_bp"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(rfs, expected);
        assert!(committed.len() < 2 << 20);
    }
}
