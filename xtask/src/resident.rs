//! A Python timing script kept running for a paired benchmark: it prints `ready` once set up,
//! then answers each request line with one line tagged `T` (its timings). Anything else the
//! script or its libraries print on standard output is skipped; their standard error passes
//! through, so a crash shows its traceback above our error.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct Resident {
    what: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// A script file to remove when the process ends.
    script: Option<PathBuf>,
}

impl Resident {
    /// Start `python script args...` and wait for its `ready` line. `what` names it in errors;
    /// `owned_script` is deleted when the process ends.
    pub fn start(
        what: &'static str,
        python: &Path,
        script: &Path,
        args: &[&Path],
        owned_script: bool,
    ) -> Result<Resident, String> {
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("running {what} ({}): {e}", python.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(format!("{what}: no pipes"));
        };
        let mut r = Resident {
            what,
            child,
            stdin,
            stdout: BufReader::new(stdout),
            script: owned_script.then(|| script.to_path_buf()),
        };
        while r.line()?.trim() != "ready" {}
        Ok(r)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading from {}: {e}", self.what))?;
        if n == 0 {
            let status = self.child.wait().map_err(|e| e.to_string())?;
            return Err(format!(
                "{} exited ({status}); its error is above",
                self.what
            ));
        }
        Ok(line)
    }

    /// Send one request line and return the numbers of the `T` line that answers it.
    pub fn ask(&mut self, request: &str) -> Result<Vec<f64>, String> {
        writeln!(self.stdin, "{request}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("writing to {}: {e}", self.what))?;
        let line = loop {
            let line = self.line()?;
            if let Some(rest) = line.strip_prefix("T ") {
                break rest.to_string();
            }
        };
        line.split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| format!("bad {} line {line:?}", self.what))
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(script) = &self.script {
            let _ = std::fs::remove_file(script);
        }
    }
}
