//! Python interpreters for the xtask scripts: one venv per toolset under `target/`, created
//! and pip-installed on first use, or an interpreter the user names with `--python`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python toolset: where its venv lives, what to install, and an import line that proves it.
pub struct Toolset {
    /// Venv folder under `target/`, e.g. `xtask-venv-tf`.
    pub venv: &'static str,
    /// pip requirements.
    pub requirements: &'static [&'static str],
    /// Python source that exits non-zero unless the toolset is usable.
    pub probe: &'static str,
    /// What the toolset is, for messages ("tensorflow 2.15").
    pub what: &'static str,
}

/// Run `cmd`, mapping a failure to a message that starts with `what`.
pub fn run_checked(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

impl Toolset {
    /// Whether `python` can import the toolset.
    pub fn works_with(&self, python: &Path) -> bool {
        Command::new(python)
            .args(["-c", self.probe])
            .env("TF_CPP_MIN_LOG_LEVEL", "3")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// `given` if it works, else the venv under `root/target/`, created on first use.
    pub fn python(&self, root: &Path, given: Option<PathBuf>) -> Result<PathBuf, String> {
        if let Some(p) = given {
            return if self.works_with(&p) {
                Ok(p)
            } else {
                Err(format!("{} cannot import {}", p.display(), self.what))
            };
        }
        let venv = root.join("target").join(self.venv);
        let python = venv.join("bin/python");
        if python.exists() && self.works_with(&python) {
            return Ok(python);
        }
        let version = Command::new("python3").arg("--version").output().map_err(|_| {
            format!(
                "python3 was not found on PATH. Install Python 3.9-3.11 with its venv module, or pass --python /path/to/python that can import {}",
                self.what
            )
        })?;
        println!(
            "setting up {} with {} ({})",
            venv.display(),
            self.requirements.join(" "),
            String::from_utf8_lossy(&version.stdout).trim()
        );
        if !python.exists() {
            run_checked(
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
                "python3 -m venv (install the python3-venv package if it is missing)",
            )?;
        }
        run_checked(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(self.requirements),
            "pip install (needs network access to PyPI once)",
        )?;
        if !self.works_with(&python) {
            return Err(format!(
                "{} still cannot import {} after pip install",
                python.display(),
                self.what
            ));
        }
        Ok(python)
    }
}
