//! Writing the run directory (`docs/run-directory.md`): atomic files, CRM tables, run.json.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use neuronmotif_io::{Format, Motif, WriteOptions};
use neuronmotif_sample::Crm;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Attempts of [`atomic_write`] when its directory vanishes under it (20, as its docs say).
const WRITE_ATTEMPTS: usize = 20;

/// Write `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
/// A crash leaves either the old file or the new one, never half of one.
///
/// Another process sharing the run directory may remove the directory at any moment (a
/// second leader clearing a finished layer's samples while this one still saves them). A
/// step that fails because the directory is being removed (`create_dir_all` meets the dying
/// directory: "File exists"; the write or the rename finds it gone: "No such file") starts
/// over, up to 20 times.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::ErrorKind;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempt = 1;
    loop {
        let tmp = dir.join(format!(".{name}.tmp-{}", neuronmotif_core::temp_suffix()));
        let step = std::fs::create_dir_all(dir)
            .map_err(|e| (dir.to_path_buf(), e))
            .and_then(|()| std::fs::write(&tmp, bytes).map_err(|e| (tmp.clone(), e)))
            .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| (path.to_path_buf(), e)));
        let Err((at, e)) = step else {
            return Ok(());
        };
        let _ = std::fs::remove_file(&tmp);
        let vanished = matches!(e.kind(), ErrorKind::AlreadyExists | ErrorKind::NotFound);
        if !vanished || attempt == WRITE_ATTEMPTS {
            return Err(Error::file(&at, e));
        }
        attempt += 1;
        std::thread::yield_now();
    }
}

/// The directory of layer `layer`.
pub fn layer_dir(out: &Path, layer: usize) -> PathBuf {
    out.join(format!("layer{layer}"))
}

/// CRMs as MEME motifs: id `L<l>_N<k>_S<s>`, alternate name with the statistics, nsites = n.
pub fn crm_motifs(crms: &[Crm]) -> Vec<Motif> {
    crms.iter()
        .map(|c| {
            let mut m = Motif::from_ppm(c.id(), c.ppm.clone());
            m.name = Some(c.alt_name());
            m.nsites = Some(c.n as f64);
            m
        })
        .collect()
}

/// MEME text of motifs (uniform background, both strands).
pub fn meme_text(motifs: &[Motif]) -> Result<String, Error> {
    Ok(neuronmotif_io::write_string(
        Format::Meme,
        motifs,
        &WriteOptions::default(),
    )?)
}

/// `crms.tsv`: `layer neuron shift n_samples act_max consensus_act consensus`.
pub fn crms_tsv(crms: &[Crm]) -> String {
    let mut s =
        String::from("layer\tneuron\tshift\tn_samples\tact_max\tconsensus_act\tconsensus\n");
    for c in crms {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{:.6}\t{:.6}\t{}",
            c.layer,
            c.neuron,
            c.shift,
            c.n,
            c.act_max,
            c.conact,
            c.ppm.consensus()
        );
    }
    s
}

/// `routes.tsv`: `id offset_bp purity` — where the exact argmax route of each CRM's samples
/// enters the receptive field, and how many of its samples share it.
pub fn routes_tsv(crms: &[Crm]) -> String {
    let mut s = String::from("id\toffset_bp\tpurity\n");
    for c in crms {
        if let Some(r) = &c.route {
            let _ = writeln!(s, "{}\t{}\t{:.4}", c.id(), r.offset_bp, r.purity);
        }
    }
    s
}

/// One layer's entry in run.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Conv layer.
    pub layer: usize,
    /// Receptive field (bp).
    pub rf: usize,
    /// Neurons explained.
    pub neurons: usize,
    /// CRMs written.
    pub crms: usize,
    /// motif_nb used.
    pub motif_nb: u32,
    /// `(motif_nb, mean consensus ratio, accepted)` per value tried.
    pub motif_nb_tried: Vec<(u32, f32, bool)>,
    /// Activating samples over all neurons.
    pub samples: usize,
    /// Neurons whose samples were reused from an interrupted run.
    pub resumed: usize,
    /// Seconds sampling (summed over neurons).
    pub sampling_s: f64,
    /// Seconds demixing (summed over neurons).
    pub decoupling_s: f64,
    /// Seconds matching segments to the database.
    pub matching_s: f64,
    /// Segments matched, and segments with at least one match.
    pub segments: (usize, usize),
    /// Wall seconds for the layer.
    pub wall_s: f64,
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunJson {
    /// Number of shards the run is spread over (`--shard K/N`), when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    /// neuronmotif version that wrote the run.
    pub neuronmotif_version: String,
    /// `running` or `complete`.
    pub status: String,
    /// The model and its geometry.
    pub model: serde_json::Value,
    /// Run seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Layers requested.
    pub layers: Vec<usize>,
    /// `all` or a range `a..b`.
    pub neurons: String,
    /// `auto` (with its bound) or a number.
    pub motif_nb: serde_json::Value,
    /// Motif database, if any.
    pub db: Option<String>,
    /// Sampler parameters.
    pub sampler: serde_json::Value,
    /// Demixing parameters.
    pub decouple: serde_json::Value,
    /// How forward passes evaluated convolutions: `direct`, `winograd` or `bf16` (absent in
    /// files written before the choice existed, which were direct).
    #[serde(default = "direct")]
    pub conv: String,
    /// What determines the outputs; a rerun must match it to resume.
    pub fingerprint: String,
    /// Per-layer results.
    pub results: Vec<LayerSummary>,
    /// Wall seconds of the whole run (this invocation).
    pub total_s: f64,
}

fn direct() -> String {
    "direct".into()
}

impl RunJson {
    /// Read an existing run.json, if there is one.
    pub fn read(out: &Path) -> Result<Option<RunJson>, Error> {
        let p = out.join("run.json");
        if !p.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).map_err(|e| Error::file(&p, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::RunDir {
                path: p,
                message: format!("not a neuronmotif run.json ({e}); use another --out directory"),
            })
    }

    /// Write it atomically.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        atomic_write(&out.join("run.json"), (text + "\n").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Files written while another thread keeps removing their directory all arrive: the
    /// race of two leaders, one clearing a layer's samples while the other saves them.
    #[test]
    fn atomic_writes_survive_their_directory_being_removed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("layer1/samples");
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let _ = std::fs::remove_dir_all(&dir);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            });
            for k in 0..300 {
                let p = dir.join(format!("N{k}.samples"));
                if let Err(e) = atomic_write(&p, &[k as u8; 64]) {
                    done.store(true, Ordering::Relaxed);
                    panic!("write {k}: {e}");
                }
            }
            done.store(true, Ordering::Relaxed);
        });
        // what is left is whole
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(!name.contains(".tmp-"), "{name}");
            assert_eq!(std::fs::read(e.path()).unwrap().len(), 64);
        }
    }
}
