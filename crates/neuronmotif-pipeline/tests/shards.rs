//! Claim: a run spread over shards (`PipelineConfig::shard`, `neuronmotif run --shard K/N`)
//! writes the same bytes as one process, including a layer whose automatic motif_nb needs a
//! second demixing round; shards refuse a run directory made with other parameters.
//!
//! The shards here are threads of one test process sharing a temporary directory, which is
//! what processes on several machines sharing a file system see too: they meet only through
//! the run directory's files.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::collections::BTreeSet;
use std::sync::Mutex;

use neuronmotif_pipeline::{Pipeline, PipelineConfig, PipelineProgress, RunJson, Shard};
use neuronmotif_sample::{Progress, Silent};

/// The (layer, neuron) pairs a shard sampled and demixed itself.
#[derive(Default)]
struct Started(Mutex<BTreeSet<(usize, usize)>>);

impl Progress for Started {
    fn neuron_started(&self, layer: usize, neuron: usize) {
        self.0.lock().unwrap().insert((layer, neuron));
    }
}

impl PipelineProgress for Started {}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn config(out: &Path) -> PipelineConfig {
    let mut c = PipelineConfig::new(testdata().join("planted/flexible_gap.safetensors"), out);
    c.db = Some(testdata().join("jaspar/JASPAR2024_demo_subset.meme"));
    c.poll = Duration::from_millis(10);
    // a bar no layer reaches: layer 2 (behind a pool) then tries motif_nb 1, 2 and 3 and
    // keeps the best, so rounds after the first are shared out too
    c.decouple.accept_ratio = 1.0;
    c
}

/// Every file of every layer folder, and the layer list of run.json.
fn layer_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for layer in std::fs::read_dir(dir).unwrap() {
        let layer = layer.unwrap().path();
        if !layer.is_dir()
            || !layer
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("layer")
        {
            continue;
        }
        for f in std::fs::read_dir(&layer).unwrap() {
            let f = f.unwrap().path();
            let name = f.strip_prefix(dir).unwrap().display().to_string();
            let bytes = if f.is_dir() {
                b"<dir>".to_vec()
            } else {
                std::fs::read(&f).unwrap()
            };
            files.push((name, bytes));
        }
    }
    files.sort();
    files
}

/// The run in one process, for reference.
fn one_process() -> tempfile::TempDir {
    let one = tempfile::tempdir().unwrap();
    Pipeline::new(config(one.path()))
        .unwrap()
        .run(&Silent)
        .unwrap();
    one
}

/// Run shards `(k, n)` as threads sharing `dir`, each with its progress; their errors.
fn run_shards(dir: &Path, shards: &[(usize, usize, &dyn PipelineProgress)]) -> Vec<Option<String>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .map(|&(k, n, progress)| {
                let mut c = config(dir);
                c.threads = Some(1);
                c.shard = Some(Shard::new(k, n).unwrap());
                s.spawn(move || match Pipeline::new(c) {
                    Ok(p) => p.run(progress).err().map(|e| e.to_string()),
                    Err(e) => Some(e.to_string()),
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The same layer files, byte for byte, and no leftover samples or round results.
fn assert_same_layers(one: &Path, split: &Path, what: &str) {
    let (a, b) = (layer_files(one), layer_files(split));
    assert!(a.len() >= 14, "{} files", a.len());
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "{what}: other files"
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between one process and {what}");
    }
}

#[test]
fn shards_write_what_one_process_writes() {
    let one = tempfile::tempdir().unwrap();
    let mut c = config(one.path());
    c.threads = Some(2);
    let single = Pipeline::new(c).unwrap().run(&Silent).unwrap();
    let layer2 = &single.layers[1];
    assert_eq!(
        layer2.motif_nb_tried.len(),
        3,
        "the test needs a layer decided after three rounds: {:?}",
        layer2.motif_nb_tried
    );

    let split = tempfile::tempdir().unwrap();
    let n = 3;
    let started: Vec<Started> = (0..n).map(|_| Started::default()).collect();
    let shards: Vec<(usize, usize, &dyn PipelineProgress)> = started
        .iter()
        .enumerate()
        .map(|(k, p)| (k, n, p as &dyn PipelineProgress))
        .collect();
    let errors = run_shards(split.path(), &shards);
    for (k, e) in errors.iter().enumerate() {
        assert!(e.is_none(), "shard {k}: {e:?}");
    }
    // the work was shared out: every neuron of every layer sampled by exactly one shard
    let sets: Vec<BTreeSet<(usize, usize)>> = started
        .iter()
        .map(|p| p.0.lock().unwrap().clone())
        .collect();
    let total: usize = sets.iter().map(BTreeSet::len).sum();
    let union: BTreeSet<_> = sets.iter().flatten().copied().collect();
    let all: usize = single.layers.iter().map(|l| l.neurons).sum();
    assert_eq!((total, union.len()), (all, all), "{sets:?}");
    // (the model has two neurons per layer at most, so the third shard only waits)
    assert_eq!(sets.iter().filter(|s| !s.is_empty()).count(), 2, "{sets:?}");

    assert_same_layers(one.path(), split.path(), "three shards");
    let (ra, rb) = (
        RunJson::read(one.path()).unwrap().unwrap(),
        RunJson::read(split.path()).unwrap().unwrap(),
    );
    assert_eq!(rb.status, "complete");
    assert_eq!(ra.fingerprint, rb.fingerprint);
    let decisions = |r: &RunJson| -> Vec<_> {
        r.results
            .iter()
            .map(|l| {
                (
                    l.layer,
                    l.crms,
                    l.motif_nb,
                    l.motif_nb_tried.clone(),
                    l.samples,
                    l.segments,
                )
            })
            .collect()
    };
    assert_eq!(decisions(&ra), decisions(&rb));
    assert!(split.path().join("index.html").exists());
}

#[test]
fn a_shard_refuses_a_directory_of_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.layers = Some(1..=1);
    Pipeline::new(c).unwrap().run(&Silent).unwrap();
    let mut other = config(dir.path());
    other.layers = Some(1..=1);
    other.seed = 2;
    other.shard = Some(Shard::new(1, 2).unwrap());
    let before = layer_files(dir.path());
    let e = Pipeline::new(other)
        .unwrap()
        .run(&Silent)
        .unwrap_err()
        .to_string();
    assert!(
        layer_files(dir.path()) == before,
        "the refused shard wrote nothing"
    );
    assert!(
        e.contains("run.json") && e.contains("another model, seed"),
        "{e}"
    );
}

#[test]
fn shard_arguments_are_checked() {
    assert_eq!("1/4".parse::<Shard>().unwrap(), Shard::new(1, 4).unwrap());
    assert_eq!(
        " 0 / 1 ".trim().parse::<Shard>().unwrap().to_string(),
        "0/1"
    );
    for bad in ["4/4", "0/0", "1", "a/2", "-1/2", "1/2/3"] {
        let e = bad.parse::<Shard>().unwrap_err().to_string();
        assert!(e.contains("K/N") || e.contains("0-based"), "{bad}: {e}");
    }
    let s = Shard::new(1, 3).unwrap();
    assert_eq!(
        s.own(&[10, 11, 12, 13, 14]).collect::<Vec<_>>(),
        vec![11, 14]
    );
    assert!(!s.is_leader() && Shard::new(0, 3).unwrap().is_leader());
}

/// A shard that stops after it has started `limit` neurons, as a killed process would.
struct StopsAfter {
    started: std::sync::atomic::AtomicUsize,
    limit: usize,
}

impl Progress for StopsAfter {
    fn neuron_started(&self, _layer: usize, _neuron: usize) {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn cancelled(&self) -> bool {
        self.started.load(std::sync::atomic::Ordering::SeqCst) >= self.limit
    }
}

impl PipelineProgress for StopsAfter {}

#[test]
fn a_shard_stopped_mid_layer_and_started_again_completes_the_run() {
    let one = one_process();
    let split = tempfile::tempdir().unwrap();
    let shard = |k: usize| {
        let mut c = config(split.path());
        c.threads = Some(1);
        c.shard = Some(Shard::new(k, 2).unwrap());
        Pipeline::new(c).unwrap()
    };
    std::thread::scope(|s| {
        let leader = s.spawn(|| shard(0).run(&Silent).err().map(|e| e.to_string()));
        // shard 1 owns neuron 1 of layers 1 and 2: it stops inside layer 2 ...
        let stop = StopsAfter {
            started: 0.into(),
            limit: 2,
        };
        let e = shard(1).run(&stop).unwrap_err().to_string();
        assert!(e.contains("cancelled"), "{e}");
        assert!(!split.path().join("layer2/table.safetensors").exists());
        // ... and is started again, while the leader still waits for it
        assert!(!leader.is_finished());
        if let Err(e) = shard(1).run(&Silent) {
            panic!("restarted shard: {e}");
        }
        assert_eq!(leader.join().unwrap(), None);
    });
    assert_same_layers(
        one.path(),
        split.path(),
        "a shard stopped and started again",
    );
}

#[test]
fn a_second_leader_finds_the_layers_written_by_the_first() {
    let one = one_process();
    let split = tempfile::tempdir().unwrap();
    // shard 0 started twice (a requeued job, or a leader wrongly thought dead), and shard 1
    let errors = run_shards(
        split.path(),
        &[(0, 2, &Silent), (0, 2, &Silent), (1, 2, &Silent)],
    );
    assert_eq!(errors, vec![None, None, None]);
    assert_same_layers(one.path(), split.path(), "two leaders");
}
