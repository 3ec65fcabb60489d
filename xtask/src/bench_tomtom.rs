//! `cargo xtask bench-tomtom`: neuronmotif-tomtom against memelite, side by side on this machine.
//!
//! Needs Python 3 (with `venv`) and network access to PyPI the first time: it creates
//! `target/xtask-venv`, installs `memelite` and `numpy` there, writes a small timing script next
//! to it, and runs memelite's `tomtom()` warm (one untimed call first, which also pays numba's
//! JIT) on the same files and tasks that it then times for neuronmotif-tomtom in this (release)
//! process. It prints one table with medians, ranges and the ratio, plus the machine (CPU
//! model, cores) and its load average before and after, so the numbers can be pasted into
//! `docs/bench/tomtom.md`.
//!
//! Tasks (the anchor's, `shared/anchors/tomtom-timing.md`): the 60 dev queries against JASPAR
//! 2024 (879 targets), the 54 of them at most 100 columns wide (what MEME can score), and all
//! 879 JASPAR motifs against themselves; every pair kept (Tomtom `-thresh 1`), `ed` distance
//! (memelite's only score), on 1 and 2 threads. neuronmotif-tomtom is also timed with `pearson`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::{
    motifs_from_file, Distance, TargetDb, Threshold, TomtomMotif, TomtomParams,
};

const HELP: &str = "cargo xtask bench-tomtom [--fixtures DIR] [--reps N] [--skip-memelite]

Times neuronmotif-tomtom and memelite 0.5 (pip, MIT) on the same tasks, warm, on 1 and 2
threads, and prints a table. Needs python3 with venv; the first run creates target/xtask-venv
and pip-installs memelite and numpy into it.
  --fixtures DIR   the shared fixtures folder (default ../shared/fixtures)
  --reps N         timed repetitions per task, after one warm-up (default 5)
  --skip-memelite  only time neuronmotif-tomtom";

const MEMELITE_SCRIPT: &str = r#"
import sys, time, statistics
import numba
from memelite.io import read_meme
from memelite.tomtom import tomtom
queries_path, targets_path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
queries = list(read_meme(queries_path).values())
targets = list(read_meme(targets_path).values())
tasks = [("dev60", queries), ("dev54", [q for q in queries if q.shape[1] <= 100]), ("jaspar879", targets)]
tomtom(queries[:2], targets)  # numba JIT (or cache load), not timed
for threads in (1, 2):
    numba.set_num_threads(threads)
    for name, qs in tasks:
        tomtom(qs, targets)  # warm-up
        ts, cs = [], []
        for _ in range(reps):
            c0 = time.process_time()
            t0 = time.perf_counter()
            tomtom(qs, targets)
            ts.append(time.perf_counter() - t0)
            cs.append(time.process_time() - c0)
        print(name, threads, statistics.median(ts), min(ts), max(ts), statistics.median(cs), flush=True)
"#;

/// One timing: median, min, max wall seconds, and the median CPU seconds of the process (all
/// threads), which is less sensitive to other load on the machine than wall time.
#[derive(Debug, Clone, Copy)]
struct Timing {
    median: f64,
    min: f64,
    max: f64,
    cpu: f64,
}

impl Timing {
    fn from_samples(mut v: Vec<f64>, mut cpu: Vec<f64>) -> Timing {
        v.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let median = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v[v.len() / 2]
            }
        };
        Timing {
            median: median(&v),
            min: v.first().copied().unwrap_or(f64::NAN),
            max: v.last().copied().unwrap_or(f64::NAN),
            cpu: median(&cpu),
        }
    }

    fn cell(&self) -> String {
        format!("{:.3} ({:.3}-{:.3})", self.median, self.min, self.max)
    }

    fn cpu_cell(&self) -> String {
        format!("{:.2}", self.cpu)
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut fixtures = PathBuf::from("../shared/fixtures");
    let mut reps = 5usize;
    let mut skip_memelite = false;
    let Some(mut a) = crate::args::Args::new(args, HELP) else {
        return Ok(());
    };
    while let Some(flag) = a.flag() {
        match flag {
            "--fixtures" => fixtures = a.path(flag, "a folder")?,
            "--reps" => reps = a.parsed(flag, "a positive number", |&n: &usize| n > 0)?,
            "--skip-memelite" => skip_memelite = true,
            other => return Err(a.unknown(other)),
        }
    }
    let queries_path = fixtures.join("tomtom/queries_dev.meme");
    let jaspar_path = fixtures.join("jaspar/JASPAR2024_CORE_vertebrates_non-redundant.meme");
    for p in [&queries_path, &jaspar_path] {
        if !p.exists() {
            return Err(format!("{} not found (pass --fixtures DIR)", p.display()));
        }
    }
    println!("machine: {}", machine());
    println!("load average before: {}", load_average());

    let memelite = if skip_memelite {
        Vec::new()
    } else {
        run_memelite(&queries_path, &jaspar_path, reps)?
    };
    let ours = run_ours(&queries_path, &jaspar_path, reps)?;
    println!("load average after: {}", load_average());

    println!();
    println!("| task | threads | dist | memelite 0.5.0 wall s, median (min-max) | neuronmotif-tomtom wall s, median (min-max) | wall memelite / ours | memelite CPU s | ours CPU s | CPU memelite / ours |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (task, threads, dist, t) in &ours {
        let m = memelite
            .iter()
            .find(|(mt, mth, _)| mt == task && mth == threads && *dist == Distance::Euclidean)
            .map(|(_, _, t)| *t);
        let (mcell, ratio, mcpu, cpu_ratio) = match m {
            Some(m) => (
                m.cell(),
                format!("{:.2}x", m.median / t.median),
                m.cpu_cell(),
                format!("{:.2}x", m.cpu / t.cpu),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {task} | {threads} | {dist} | {mcell} | {} | {ratio} | {mcpu} | {} | {cpu_ratio} |",
            t.cell(),
            t.cpu_cell()
        );
    }
    Ok(())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_string();
    let avx = if cpuinfo.contains(" avx512f") {
        "AVX-512"
    } else if cpuinfo.contains(" avx2") {
        "AVX2"
    } else {
        "no AVX2"
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores, {avx}")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// memelite with numpy, in `target/xtask-venv`.
const MEMELITE: crate::pyenv::Toolset = crate::pyenv::Toolset {
    venv: "xtask-venv",
    requirements: &["memelite", "numpy"],
    probe: "import memelite, numpy",
    what: "memelite and numpy",
};

/// Create the venv if needed, install memelite, run the timing script.
fn run_memelite(
    queries: &Path,
    targets: &Path,
    reps: usize,
) -> Result<Vec<(String, usize, Timing)>, String> {
    let root = crate::train_demo::repo_root();
    let python = MEMELITE.python(&root, None)?;
    let venv = root.join("target").join(MEMELITE.venv);
    let script = venv.join("bench_memelite.py");
    std::fs::write(&script, MEMELITE_SCRIPT)
        .map_err(|e| format!("writing {}: {e}", script.display()))?;
    println!("timing memelite (first call includes numba's JIT or its cache load; not timed)");
    let out = Command::new(&python)
        .arg(&script)
        .arg(queries)
        .arg(targets)
        .arg(reps.to_string())
        .output()
        .map_err(|e| format!("running memelite: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "memelite failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 6 {
            continue;
        }
        let num = |i: usize| {
            f[i].parse::<f64>()
                .map_err(|_| format!("bad memelite line {line:?}"))
        };
        let threads = f[1]
            .parse::<usize>()
            .map_err(|_| format!("bad memelite line {line:?}"))?;
        rows.push((
            f[0].to_string(),
            threads,
            Timing {
                median: num(2)?,
                min: num(3)?,
                max: num(4)?,
                cpu: num(5)?,
            },
        ));
    }
    Ok(rows)
}

/// User + system CPU time of this process (all threads), from `/proc/self/stat` (Linux; clock
/// ticks of 1/100 s). NaN elsewhere.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn read(path: &Path) -> Result<Vec<TomtomMotif>, String> {
    let file = MotifFile::read_path(path, &ReadOptions::default()).map_err(|e| e.to_string())?;
    motifs_from_file(&file).map_err(|e| e.to_string())
}

/// Time neuronmotif-tomtom on the same tasks, in this process (xtask runs in release mode).
fn run_ours(
    queries: &Path,
    targets: &Path,
    reps: usize,
) -> Result<Vec<(String, usize, Distance, Timing)>, String> {
    let queries = read(queries)?;
    let targets = read(targets)?;
    let narrow: Vec<TomtomMotif> = queries
        .iter()
        .filter(|q| q.width() <= 100)
        .cloned()
        .collect();
    let tasks: [(&str, &[TomtomMotif]); 3] = [
        ("dev60", &queries),
        ("dev54", &narrow),
        ("jaspar879", &targets),
    ];
    let mut rows = Vec::new();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        for dist in [Distance::Euclidean, Distance::Pearson] {
            let params = TomtomParams::new()
                .distance(dist)
                .threshold(Threshold::QValue(1.0))
                .check()
                .map_err(|e| e.to_string())?;
            // Building the database is part of each timed call, as memelite prepares its
            // targets inside tomtom().
            for (name, qs) in &tasks {
                let call = || -> Result<usize, String> {
                    let db = TargetDb::new(targets.iter().cloned(), &params)
                        .map_err(|e| e.to_string())?;
                    let r = db.compare_batch(qs).map_err(|e| e.to_string())?;
                    Ok(r.iter().map(Vec::len).sum())
                };
                pool.install(call)?; // warm-up
                let mut samples = Vec::with_capacity(reps);
                let mut cpu = Vec::with_capacity(reps);
                for _ in 0..reps {
                    let c0 = process_cpu_seconds();
                    let t0 = Instant::now();
                    let rows_out = pool.install(call)?;
                    samples.push(t0.elapsed().as_secs_f64());
                    cpu.push(process_cpu_seconds() - c0);
                    std::hint::black_box(rows_out);
                }
                rows.push((
                    name.to_string(),
                    threads,
                    dist,
                    Timing::from_samples(samples, cpu),
                ));
            }
        }
    }
    Ok(rows)
}
