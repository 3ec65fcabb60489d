//! `cargo xtask torch-export`: write a PyTorch `nn.Sequential` as a model file with
//! `xtask/python/torch_export.py`, plus PyTorch's own outputs on fixed inputs, into
//! `testdata/torch/`. `crates/neuronmotif-cnn/tests/pytorch_file.rs` loads the committed files
//! and checks our feature maps and gradients against PyTorch's.

use std::process::Command;

use crate::pyenv::{run_checked, Toolset};

const HELP: &str = "cargo xtask torch-export [--python PY] [--out DIR]

Builds a small Basset-shaped nn.Sequential (Conv1d with dilation and without bias, BatchNorm1d
with trained-looking statistics, ReLU, MaxPool1d, Dropout, Flatten, Linear, Sigmoid), saves it
as a neuronmotif model file (DIR/tiny_sequential.safetensors) and writes PyTorch's feature maps
and input gradients on fixed inputs (DIR/tiny_sequential.reference.safetensors).
The first run creates target/xtask-venv-torch and pip-installs torch and safetensors there.
  --python PY  use this interpreter (it must import torch and safetensors) instead
  --out DIR    output folder (default testdata/torch)";

/// PyTorch with safetensors.
const TORCH: Toolset = Toolset {
    venv: "xtask-venv-torch",
    requirements: &["torch", "safetensors", "numpy"],
    probe: "import torch, safetensors.torch",
    what: "torch and safetensors",
};

pub fn run(args: &[String]) -> Result<(), String> {
    let root = crate::train_demo::repo_root();
    let mut python = None;
    let mut out = root.join("testdata/torch");
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    while let Some(flag) = a.flag() {
        match flag {
            "--python" => python = Some(a.path(flag, "a path")?),
            "--out" => out = a.path(flag, "a folder")?,
            other => return Err(a.unknown(other)),
        }
    }
    let python = TORCH.python(&root, python)?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    run_checked(
        Command::new(&python)
            .arg(root.join("xtask/python/torch_export.py"))
            .arg(out.join("tiny_sequential.safetensors"))
            .arg(out.join("tiny_sequential.reference.safetensors")),
        "torch_export.py",
    )
}
