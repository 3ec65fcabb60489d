//! (Re)write the report of a run directory, optionally with a screenshot in headless Chromium.
//!
//! ```text
//! cargo run -p neuronmotif-report --example render_run -- RUN_DIR
//!     [--screenshot PNG] [--page index|L] [--size 1280x2000]
//!     [--synthetic NEURONS [--shifts 4] [--rf 51]]
//!                               write a synthetic run into RUN_DIR first (one layer)
//!     [--time]                  print the page's load time in headless Chromium
//! ```
//!
//! `--page` picks what is photographed or timed: `index` or a layer number (default: the first
//! layer page). This is how the README screenshot is made from the demo run:
//! `--screenshot docs/report-screenshot.png --page 3 --size 1280x1080`.

// The synthetic-run writer and the Chromium driver are test support, shared with the tests;
// they panic on I/O failures as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use neuronmotif_report::RunReport;
use support::chromium::{find_chromium, probe_copy, probe_result, Chromium};

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!(
            "usage: render_run RUN_DIR [--screenshot PNG] [--page index|L] [--size WxH] \
             [--synthetic NEURONS [--shifts S] [--rf W]] [--time]"
        );
        return ExitCode::from(2);
    };
    match run(&dir, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path, args: &[String]) -> Result<(), String> {
    if let Some(n) = value(args, "--synthetic") {
        let neurons: u32 = n
            .parse()
            .map_err(|_| format!("--synthetic {n}: not a number"))?;
        support::write_run_dir(
            dir,
            &support::SynthSpec {
                layers: vec![support::SynthLayer {
                    layer: 1,
                    neurons,
                    shifts: 4,
                    rf: 51,
                }],
                segments: true,
                matches: true,
                routes: true,
                seed: 1,
            },
        );
        println!(
            "synthetic run with {neurons} neurons written to {}",
            dir.display()
        );
    }
    let start = std::time::Instant::now();
    let report = RunReport::load(dir).map_err(|e| e.to_string())?;
    let index = report.write_html(dir).map_err(|e| e.to_string())?;
    println!("{} written in {:.2?}", index.display(), start.elapsed());
    let page = match value(args, "--page") {
        Some("index") => index.clone(),
        Some(l) => dir.join(format!("report/layer{l}.html")),
        None => report
            .layers
            .first()
            .map(|l| dir.join(format!("report/layer{}.html", l.layer)))
            .unwrap_or_else(|| index.clone()),
    };
    if !page.is_file() {
        return Err(format!("{}: no such page", page.display()));
    }
    let wants_browser = value(args, "--screenshot").is_some() || args.iter().any(|a| a == "--time");
    if !wants_browser {
        return Ok(());
    }
    let exe = find_chromium().ok_or("chromium not found (apt-get install -y chromium)")?;
    let browser = Chromium::new(exe);
    if args.iter().any(|a| a == "--time") {
        let probe = probe_copy(&page, false);
        let mut samples = Vec::new();
        for _ in 0..5 {
            let run = browser.dump_dom(&probe, None)?;
            let res = probe_result(&run.stdout).ok_or("the probe did not report")?;
            samples.push((
                res["load_ms"].as_f64().unwrap_or(f64::NAN),
                res["layout_ms"].as_f64().unwrap_or(f64::NAN),
                run.wall.as_secs_f64() * 1e3,
            ));
        }
        let _ = std::fs::remove_file(&probe);
        let size = std::fs::metadata(&page).map(|m| m.len()).unwrap_or(0);
        println!("{}: {:.1} MB", page.display(), size as f64 / 1e6);
        for (load, layout, wall) in &samples {
            println!("  load event {load:.0} ms, load + first layout {layout:.0} ms (chromium process {wall:.0} ms)");
        }
    }
    if let Some(png) = value(args, "--screenshot") {
        let (w, h) = value(args, "--size")
            .and_then(|s| s.split_once('x'))
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .unwrap_or((1280, 2000));
        browser.screenshot(&page, Path::new(png), w, h)?;
        println!("screenshot of {} written to {png}", page.display());
    }
    Ok(())
}
