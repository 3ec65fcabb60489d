//! The report opens in a real browser (headless Chromium): no errors of any kind, every logo
//! and every glyph has a size, the filter works, and a screenshot is written to
//! `target/report-screenshot.png` for CI.
//!
//! Skips with a notice when Chromium is not installed (`apt-get install -y chromium`). Set
//! `NEURONMOTIF_REPORT_RUN_DIR` to check the report of a real run directory (for example the
//! demo run) instead of the synthetic one; its report is written to a temporary folder.
//!
//! How the checks work is described in `tests/support/chromium.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use neuronmotif_report::{GlyphRefs, ReportOptions, RunReport};
use support::chromium::{console_lines, find_chromium, probe_copy, probe_result, Chromium};
use support::{svg_fragments, write_run_dir, SynthSpec};

fn count_logos(page: &str) -> usize {
    svg_fragments(page)
        .iter()
        .filter(|f| f.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"logo"))
        .count()
}

/// Every HTML page under `dir`.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.join("index.html")];
    let mut stack = vec![dir.join("report")];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "html") {
                out.push(p);
            }
        }
    }
    out
}

/// The target directory (CARGO_TARGET_TMPDIR is `<target>/tmp`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Open every page under `out` in the browser: no errors or console output, every logo and
/// glyph in the DOM with a size, and the filter box counting what the page holds. Returns the
/// number of pages checked.
fn check_pages(browser: &Chromium, out: &Path) -> usize {
    let mut checked = 0;
    for page in pages(out) {
        let html = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(out).unwrap().display().to_string();
        let probe = probe_copy(&page, true);
        let run = browser.dump_dom(&probe, Some(10_000)).unwrap();
        std::fs::remove_file(&probe).unwrap();
        let console = console_lines(&run.stderr);
        assert!(
            console.is_empty(),
            "{name}: console output:\n{}",
            console.join("\n")
        );
        let res = probe_result(&run.stdout)
            .unwrap_or_else(|| panic!("{name}: no probe result; stderr:\n{}", run.stderr));
        assert_eq!(res["errors"], serde_json::json!([]), "{name}");
        let logos = count_logos(&html) as u64;
        assert_eq!(
            res["logos"].as_u64(),
            Some(logos),
            "{name}: every logo is in the DOM"
        );
        assert_eq!(
            res["empty_logos"].as_u64(),
            Some(0),
            "{name}: every logo has a size"
        );
        let glyphs = html.matches("class=\"glyph ").count() as u64;
        assert_eq!(res["glyphs"].as_u64(), Some(glyphs), "{name}");
        assert_eq!(
            res["empty_glyphs"].as_u64(),
            Some(0),
            "{name}: every glyph has a shape"
        );
        if name.contains("layer") {
            assert!(logos > 0, "{name}");
            let shared = html.contains("<use ");
            assert_eq!(
                res["defs"].as_u64(),
                Some(if shared { 4 } else { 0 }),
                "{name}"
            );
            // The filter: everything, "n0", only matched. Overview pages filter neuron rows,
            // detail pages CRM rows.
            let (counted, matched, n0, unit) = if html.contains("role=\"row\" id=\"r") {
                (
                    html.matches("role=\"row\" id=\"r").count(),
                    html.matches(" data-matched><span role=\"cell\"><a href")
                        .count(),
                    usize::from(html.contains("id=\"r0\"")),
                    "neurons",
                )
            } else {
                (
                    html.matches("<div class=\"crow crm\"").count(),
                    html.matches(" data-matched><span role=\"cell\"><code>")
                        .count(),
                    html.matches("data-neuron=\"0\" data-q=").count(),
                    "CRMs",
                )
            };
            assert_eq!(
                res["count_initial"],
                format!("{counted} of {counted} {unit}"),
                "{name}"
            );
            assert_eq!(
                res["count_n0"],
                format!("{n0} of {counted} {unit}"),
                "{name}"
            );
            assert_eq!(
                res["count_matched"],
                format!("{matched} of {counted} {unit}"),
                "{name}"
            );
        }
        checked += 1;
        println!(
            "{name}: {logos} logos, {glyphs} glyphs, no errors (load {:.0} ms)",
            res["load_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    checked
}

#[test]
fn report_loads_without_errors_and_every_logo_renders() {
    let Some(exe) = find_chromium() else {
        println!(
            "notice: chromium not found (/usr/bin/chromium, chromium or chromium-browser on PATH); \
             browser test skipped. Install it with: apt-get install -y chromium"
        );
        return;
    };
    let synthetic = tempfile::tempdir().unwrap();
    let run_dir = match std::env::var_os("NEURONMOTIF_REPORT_RUN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            write_run_dir(synthetic.path(), &SynthSpec::two_layers(3));
            synthetic.path().to_path_buf()
        }
    };
    let report = RunReport::load(&run_dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    // Small pages so that the synthetic run also has detail pages.
    let opts = ReportOptions::default().neurons_per_page(12);
    report.write_html_with(out.path(), &opts).unwrap();

    let browser = Chromium::new(exe);
    let checked = check_pages(&browser, out.path());
    assert!(checked >= 3, "index, layer pages and detail pages");

    // With shared glyph outlines every `<use>` must resolve to a shape.
    let shared = tempfile::tempdir().unwrap();
    report
        .write_html_with(
            shared.path(),
            &ReportOptions::default().glyphs(GlyphRefs::Shared {
                id_prefix: "nmg".into(),
            }),
        )
        .unwrap();
    for layer in &report.layers {
        let page = shared
            .path()
            .join(format!("report/layer{}.html", layer.layer));
        let html = std::fs::read_to_string(&page).unwrap();
        let probe = probe_copy(&page, true);
        let run = browser.dump_dom(&probe, Some(10_000)).unwrap();
        let res = probe_result(&run.stdout).expect("probe result");
        assert_eq!(res["errors"], serde_json::json!([]));
        assert_eq!(res["defs"].as_u64(), Some(4));
        let glyphs = html.matches("class=\"glyph ").count() as u64;
        assert!(glyphs > 0);
        assert_eq!(res["glyphs"].as_u64(), Some(glyphs));
        assert_eq!(
            res["empty_glyphs"].as_u64(),
            Some(0),
            "every <use> resolves"
        );
    }

    // Screenshots for CI and the README: the first layer page and the index.
    let first = report
        .layers
        .first()
        .map(|l| out.path().join(format!("report/layer{}.html", l.layer)))
        .unwrap_or_else(|| out.path().join("index.html"));
    let shot = target_dir().join("report-screenshot.png");
    browser.screenshot(&first, &shot, 1280, 2000).unwrap();
    let index_shot = target_dir().join("report-index-screenshot.png");
    browser
        .screenshot(&out.path().join("index.html"), &index_shot, 1280, 900)
        .unwrap();
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    println!(
        "screenshots: {} and {}",
        shot.display(),
        index_shot.display()
    );
}

/// The probe is only worth something if it fails on a broken page: an exception, a blocked
/// external resource and console output must all be reported.
#[test]
fn probe_reports_errors_blocked_resources_and_console_output() {
    let Some(exe) = find_chromium() else {
        println!("notice: chromium not found; browser test skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>\
         <img src=\"https://example.invalid/x.png\">\
         <svg class=\"logo\" width=\"0\" height=\"0\"></svg>\
         <script>console.error('bad thing'); notDefined();</script></body></html>",
    )
    .unwrap();
    let browser = Chromium::new(exe);
    let probe = probe_copy(&page, true);
    let run = browser.dump_dom(&probe, Some(2_000)).unwrap();
    let res = probe_result(&run.stdout).expect("probe result");
    let errors: Vec<String> = res["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("console.error: bad thing")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("notDefined")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("CSP violation")),
        "{errors:?}"
    );
    assert_eq!(res["empty_logos"].as_u64(), Some(1));
    assert!(
        !console_lines(&run.stderr).is_empty(),
        "console lines reach stderr"
    );
}

/// The report of a real run of the bundled demo model (layers 1 and 2, matched against the
/// bundled JASPAR subset), as `neuronmotif run` writes it, passes the same browser checks.
#[test]
fn demo_run_report_in_chromium() {
    let Some(exe) = find_chromium() else {
        println!("notice: chromium not found; browser test skipped");
        return;
    };
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let run = tempfile::tempdir().unwrap();
    let mut config =
        neuronmotif::PipelineConfig::new(data.join("demo/model.safetensors"), run.path());
    config.layers = Some(1..=2);
    config.db = Some(data.join("jaspar/JASPAR2024_demo_subset.meme"));
    let summary = neuronmotif::Pipeline::new(config)
        .unwrap()
        .run(&neuronmotif::sample::Silent)
        .unwrap();
    assert_eq!(summary.report, run.path().join("index.html"));
    let browser = Chromium::new(exe);
    let checked = check_pages(&browser, run.path());
    assert!(checked >= 3, "index and two layer pages");
    let html = std::fs::read_to_string(run.path().join("report/layer1.html")).unwrap();
    assert!(
        html.contains("CTCF"),
        "the trained CTCF is in the layer-1 page"
    );
    let shot = target_dir().join("report-demo-screenshot.png");
    browser
        .screenshot(&run.path().join("report/layer2.html"), &shot, 1280, 1400)
        .unwrap();
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    println!("screenshot: {}", shot.display());
}
