//! `cargo xtask bench-tomtom`: neuronmotif-tomtom against memelite, side by side on this machine.
//!
//! Needs Python 3 (with `venv`) and network access to PyPI the first time: it creates
//! `target/xtask-venv`, installs `memelite` and `numpy` there, writes a small timing script next
//! to it, and keeps that script running as a server of timed memelite `tomtom()` calls (its
//! first call, which pays numba's JIT, is not timed). Each timed memelite call is paired with a
//! timed neuronmotif-tomtom call in this (release) process on the same task, the two taking
//! turns to go first, so a noisy host slows both sides of a pair alike. The table gives each
//! side's median and range and the median (min-max) of the per-pair ratios, plus the machine
//! (CPU model, cores) and its load average before and after, so the numbers can be pasted into
//! `docs/bench/tomtom.md`.
//!
//! Tasks (the anchor's, `shared/anchors/tomtom-timing.md`): the 60 dev queries against JASPAR
//! 2024 (879 targets), the 54 of them at most 100 columns wide (what MEME can score), and all
//! 879 JASPAR motifs against themselves; every pair kept (Tomtom `-thresh 1`), `ed` distance
//! (memelite's only score), on 1 and 2 threads. neuronmotif-tomtom is also timed with `pearson`.
//! Ours is timed through `TargetDb::search_batch`, whose rows name targets by index, as
//! memelite's result is arrays of numbers (p-values, offsets, overlaps, strands) with no
//! strings; `compare_batch`'s `TomtomMatch` rows cost about 13 % more on the 879 × 879 task
//! (`all_vs_all 9 JASPAR.meme rows`).

use std::path::{Path, PathBuf};

use crate::resident::Resident;
use std::time::Instant;

use neuronmotif_io::{MotifFile, ReadOptions};
use neuronmotif_tomtom::{
    motifs_from_file, Distance, TargetDb, Threshold, TomtomMotif, TomtomParams,
};

const HELP: &str = "cargo xtask bench-tomtom [--fixtures DIR] [--reps N] [--skip-memelite]

Times neuronmotif-tomtom and memelite 0.5 (pip, MIT) on the same tasks, warm, on 1 and 2
threads, in alternating pairs, and prints a table. Needs python3 with venv; the first run
creates target/xtask-venv and pip-installs memelite and numpy into it.
  --fixtures DIR   the shared fixtures folder (default ../shared/fixtures)
  --reps N         timed pairs per task, after one warm-up (default 5); memelite goes first
                   in pairs 1, 3, 5, ..., ours in pairs 2, 4, ...
  --skip-memelite  only time neuronmotif-tomtom";

const MEMELITE_SCRIPT: &str = r#"
import sys, time
import numba
from memelite.io import read_meme
from memelite.tomtom import tomtom
queries = list(read_meme(sys.argv[1]).values())
targets = list(read_meme(sys.argv[2]).values())
tasks = {"dev60": queries, "dev54": [q for q in queries if q.shape[1] <= 100], "jaspar879": targets}
tomtom(queries[:2], targets)  # numba JIT (or cache load), not timed
print("ready", flush=True)
for line in sys.stdin:  # one timed call per request: "task threads"; reply "T wall cpu"
    name, threads = line.split()
    numba.set_num_threads(int(threads))
    c0 = time.process_time()
    t0 = time.perf_counter()
    tomtom(tasks[name], targets)
    print("T", time.perf_counter() - t0, time.process_time() - c0, flush=True)
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

    fn ratio_cell(&self) -> String {
        format!("{:.2}x ({:.2}-{:.2})", self.median, self.min, self.max)
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

    let mut memelite = if skip_memelite {
        None
    } else {
        Some(Memelite::start(&queries_path, &jaspar_path)?)
    };
    let rows = run_paired(&queries_path, &jaspar_path, reps, memelite.as_mut())?;
    println!("load average after: {}", load_average());

    println!();
    println!("| task | threads | dist | memelite 0.5.0 wall s, median (min-max) | neuronmotif-tomtom wall s, median (min-max) | paired wall ratio memelite / ours, median (min-max) | memelite CPU s, median | ours CPU s, median | ratio of the CPU medians |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let (mcell, ratio, mcpu, cpu_ratio) = match (&r.memelite, &r.ratio) {
            (Some(m), Some(q)) => (
                m.cell(),
                q.ratio_cell(),
                m.cpu_cell(),
                format!("{:.2}x", m.cpu / r.ours.cpu),
            ),
            _ => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {mcell} | {} | {ratio} | {mcpu} | {} | {cpu_ratio} |",
            r.task,
            r.threads,
            r.dist,
            r.ours.cell(),
            r.ours.cpu_cell()
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

/// A running memelite timing script: each request (`task threads`) is answered with one timed
/// `tomtom()` call's wall and CPU seconds.
struct Memelite(Resident);

impl Memelite {
    /// Create the venv if needed, install memelite, start the script and wait for its JIT.
    fn start(queries: &Path, targets: &Path) -> Result<Memelite, String> {
        let root = crate::train_demo::repo_root();
        let python = MEMELITE.python(&root, None)?;
        let venv = root.join("target").join(MEMELITE.venv);
        let script = venv.join("bench_memelite.py");
        std::fs::write(&script, MEMELITE_SCRIPT)
            .map_err(|e| format!("writing {}: {e}", script.display()))?;
        println!(
            "starting memelite (its first call pays numba's JIT or its cache load; not timed)"
        );
        Resident::start("memelite", &python, &script, &[queries, targets], false).map(Memelite)
    }

    /// One timed call: (wall, CPU) seconds.
    fn time(&mut self, task: &str, threads: usize) -> Result<(f64, f64), String> {
        match self.0.ask(&format!("{task} {threads}"))?[..] {
            [wall, cpu] => Ok((wall, cpu)),
            _ => Err("bad memelite line: expected wall and CPU seconds".into()),
        }
    }
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

/// One row of the table.
struct Row {
    task: &'static str,
    threads: usize,
    dist: Distance,
    ours: Timing,
    memelite: Option<Timing>,
    /// Per-pair wall ratios memelite / ours (their CPU field unused).
    ratio: Option<Timing>,
}

/// Time neuronmotif-tomtom on each task in this process (xtask runs in release mode), and
/// memelite on the same task in pairs with it (`ed` only: memelite's only score).
fn run_paired(
    queries: &Path,
    targets: &Path,
    reps: usize,
    mut memelite: Option<&mut Memelite>,
) -> Result<Vec<Row>, String> {
    let queries = read(queries)?;
    let targets = read(targets)?;
    let narrow: Vec<TomtomMotif> = queries
        .iter()
        .filter(|q| q.width() <= 100)
        .cloned()
        .collect();
    let tasks: [(&'static str, &[TomtomMotif]); 3] = [
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
            for (name, qs) in tasks {
                // Building the database is part of each timed call, as memelite prepares its
                // targets inside tomtom().
                let call = || -> Result<usize, String> {
                    let db = TargetDb::new(targets.iter().cloned(), &params)
                        .map_err(|e| e.to_string())?;
                    // Compact rows (`search_batch`): memelite returns arrays of numbers too.
                    let r = db.search_batch(qs).map_err(|e| e.to_string())?;
                    Ok(r.iter().map(|m| m.rows.len()).sum())
                };
                let ours = || -> Result<(f64, f64), String> {
                    let c0 = process_cpu_seconds();
                    let t0 = Instant::now();
                    let rows_out = pool.install(call)?;
                    let wall = t0.elapsed().as_secs_f64();
                    std::hint::black_box(rows_out);
                    Ok((wall, process_cpu_seconds() - c0))
                };
                let mut other = memelite
                    .as_deref_mut()
                    .filter(|_| dist == Distance::Euclidean);
                // untimed warm-up of both
                ours()?;
                if let Some(m) = other.as_deref_mut() {
                    m.time(name, threads)?;
                }
                let (mut o, mut m) = ((vec![], vec![]), (vec![], vec![]));
                let push = |side: &mut (Vec<f64>, Vec<f64>), (wall, cpu): (f64, f64)| {
                    side.0.push(wall);
                    side.1.push(cpu);
                };
                for rep in 0..reps {
                    // the two sides take turns to go first
                    let ours_first = rep % 2 == 1;
                    if ours_first {
                        push(&mut o, ours()?);
                    }
                    if let Some(mm) = other.as_deref_mut() {
                        push(&mut m, mm.time(name, threads)?);
                    }
                    if !ours_first {
                        push(&mut o, ours()?);
                    }
                }
                let ((ow, oc), (mw, mc)) = (o, m);
                let paired = other.is_some();
                let ratios: Vec<f64> = mw.iter().zip(&ow).map(|(m, o)| m / o).collect();
                rows.push(Row {
                    task: name,
                    threads,
                    dist,
                    ours: Timing::from_samples(ow, oc),
                    memelite: paired.then(|| Timing::from_samples(mw, mc)),
                    ratio: paired.then(|| Timing::from_samples(ratios, vec![])),
                });
            }
        }
    }
    Ok(rows)
}
