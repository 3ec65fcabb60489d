//! A run directory written by the contract (`docs/run-directory.md`) becomes a report in which
//! every CRM, segment and match appears and every logo is valid SVG; missing optional files
//! only leave sections out; malformed files are errors naming the file and line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use neuronmotif_report::{GlyphRefs, ReportError, ReportOptions, RunReport, Strand};
use support::{svg_fragments, write_run_dir, SynthSpec};

fn spec() -> SynthSpec {
    SynthSpec::two_layers(7)
}

/// Options that keep both synthetic layers on one page each.
fn one_page() -> ReportOptions {
    ReportOptions::default().page_bytes(usize::MAX)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// Checks every page passes: self-contained, every SVG fragment well-formed; with shared
/// glyphs, the outlines are defined once and every glyph refers to them.
fn check_page(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("Content-Security-Policy"));
    for bad in ["src=\"http", "<link", "@import", "url(", "<img", "<iframe"] {
        assert!(!page.contains(bad), "page contains {bad}");
    }
    let shared = page.contains("<use ");
    assert_eq!(
        page.matches("<path id=\"nmgA\"").count(),
        usize::from(shared)
    );
    for f in svg_fragments(page) {
        let doc = roxmltree::Document::parse(f).unwrap_or_else(|e| panic!("{e}: {f}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        if root
            .attribute("class")
            .is_some_and(|c| c.starts_with("logo"))
        {
            let w: f64 = root.attribute("width").unwrap().parse().unwrap();
            let h: f64 = root.attribute("height").unwrap().parse().unwrap();
            assert!(w > 0.0 && h > 0.0);
        }
        for n in doc.descendants().filter(|n| n.has_tag_name("use")) {
            let href = n.attribute("href").unwrap();
            assert!(
                ["#nmgA", "#nmgC", "#nmgG", "#nmgT"].contains(&href),
                "{href}"
            );
        }
    }
}

/// Number of `<svg class="logo...">` elements.
fn count_logos(page: &str) -> usize {
    svg_fragments(page)
        .iter()
        .filter(|f| {
            let doc = roxmltree::Document::parse(f).unwrap();
            doc.root_element()
                .attribute("class")
                .is_some_and(|c| c.starts_with("logo"))
        })
        .count()
}

#[test]
fn every_crm_segment_and_match_appears_and_every_logo_is_valid_svg() {
    let dir = tempfile::tempdir().unwrap();
    let synth = write_run_dir(dir.path(), &spec());
    let report = RunReport::load(dir.path()).unwrap();

    // The model read back.
    assert_eq!(report.layers.len(), 2);
    assert_eq!(report.summary.seed, Some(7));
    for (layer, (l, ids)) in report.layers.iter().zip(&synth.crm_ids) {
        assert_eq!(layer.layer, *l);
        assert_eq!(layer.crm_count(), ids.len());
        for n in &layer.neurons {
            assert!(
                n.crms.windows(2).all(|w| w[0].act_max >= w[1].act_max),
                "sorted by act_max"
            );
            for c in &n.crms {
                assert_eq!(c.route_offset_bp, Some(c.shift * 2));
                assert_eq!(c.route_purity, Some(0.9));
                for s in &c.segments {
                    assert_eq!(s.ppm.width(), s.end - s.start);
                    assert!(s.matches.windows(2).all(|w| w[0].p_value <= w[1].p_value));
                }
            }
        }
    }
    let l2 = &report.layers[1];
    let (segs, matched) = l2.segment_counts();
    assert_eq!(segs, synth.segment_ids[1].1.len());
    assert_eq!(matched, synth.matched_segments[1].1);
    // Every match row kept its offset and strand.
    for (layer, seg, target, offset, strand) in &synth.matches {
        let l = report.layers.iter().find(|l| l.layer == *layer).unwrap();
        let found = l
            .neurons
            .iter()
            .flat_map(|n| &n.crms)
            .flat_map(|c| &c.segments)
            .filter(|s| &s.id == seg)
            .flat_map(|s| &s.matches)
            .find(|m| &m.target_id == target)
            .unwrap();
        assert_eq!(found.offset, *offset);
        assert_eq!(found.strand, Strand::parse(&strand.to_string()).unwrap());
    }

    let out = tempfile::tempdir().unwrap();
    let index = report.write_html_with(out.path(), &one_page()).unwrap();
    assert_eq!(index, out.path().join("index.html"));
    let index_html = read(&index);
    for needle in [
        "synthetic.safetensors",
        "href=\"report/layer1.html\"",
        "href=\"report/layer2.html\"",
        "<dt>seed</dt><dd>7</dd>",
        "sampler.population",
        "Alpha",
    ] {
        assert!(index_html.contains(needle), "index lacks {needle}");
    }

    for ((l, ids), (_, seg_ids)) in synth.crm_ids.iter().zip(&synth.segment_ids) {
        let page = read(&out.path().join(format!("report/layer{l}.html")));
        let layer = report.layers.iter().find(|x| x.layer == *l).unwrap();
        check_page(&page);
        for id in ids {
            assert!(
                page.contains(&format!("<div class=\"crow crm\" role=\"row\" id=\"{id}\"")),
                "layer {l}: {id} missing"
            );
        }
        for id in seg_ids {
            assert!(
                page.contains(&format!("<code>{id}</code>")),
                "layer {l}: segment {id} missing"
            );
        }
        // One logo per CRM, one alignment per matched segment, one preview per neuron whose
        // best CRM has something informative.
        let (_, matched) = layer.segment_counts();
        let previews = layer
            .neurons
            .iter()
            .filter(|n| !n.crms[0].segments.is_empty() || n.crms[0].ppm.trim_range(0.5).is_some())
            .count();
        assert!(
            previews >= layer.neurons.len() * 6 / 7,
            "neurons with a planted motif"
        );
        assert_eq!(
            page.matches("<span class=\"preview\" role=\"cell\"><svg")
                .count(),
            previews
        );
        assert_eq!(
            count_logos(&page),
            ids.len() + matched + previews,
            "layer {l}"
        );
        // Small layers are one page: overview rows, then every neuron's section, all open.
        assert_eq!(
            page.matches("role=\"row\" id=\"r").count(),
            layer.neurons.len()
        );
        assert_eq!(
            page.matches("<details class=\"neuron\"").count(),
            layer.neurons.len()
        );
        assert_eq!(page.matches(" open><summary>").count(), layer.neurons.len());
        assert!(page.contains("<a href=\"#n0\">neuron 0</a>"));
    }
    let layer2 = read(&out.path().join("report/layer2.html"));
    assert!(layer2.contains("offset (bp)</span>"));
    assert!(layer2
        .contains("<span class=\"num\" role=\"cell\">6 <span class=\"meta\">(90%)</span></span>"));
    assert!(layer2.contains("id=\"filter\""));
    assert!(
        !out.path().join("report/layer2").exists(),
        "no detail pages for a small layer"
    );
    // No temporary files are left behind.
    for entry in std::fs::read_dir(out.path().join("report")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name.starts_with("layer") && name.ends_with(".html"),
            "{name}"
        );
    }
}

#[test]
fn missing_optional_files_leave_sections_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.matches = false;
    s.segments = false;
    s.routes = false;
    write_run_dir(dir.path(), &s);
    let report = RunReport::load(dir.path()).unwrap();
    assert!(report
        .layers
        .iter()
        .all(|l| !l.has_matches && !l.has_segments));
    report.write_html(dir.path()).unwrap();
    let page = read(&dir.path().join("report/layer1.html"));
    assert!(!page.contains("class=\"segment\""));
    assert!(!page.contains("class=\"matches\""));
    assert!(!page.contains("offset (bp)"));
    assert!(!page.contains("no informative segment"));

    // Segments without matches: listed, no match sections.
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.matches = false;
    write_run_dir(dir.path(), &s);
    let report = RunReport::load(dir.path()).unwrap();
    report.write_html(dir.path()).unwrap();
    let page = read(&dir.path().join("report/layer1.html"));
    assert!(page.contains("class=\"segment\""));
    assert!(!page.contains("class=\"matches\""));
    assert!(page.contains("no informative segment"), "neuron 3 has none");

    // Matches without segments.meme: segments are cut from the CRMs by their ids.
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.segments = false;
    let synth = write_run_dir(dir.path(), &s);
    let report = RunReport::load(dir.path()).unwrap();
    let (segs, matched) = report.layers[1].segment_counts();
    assert_eq!(segs, matched, "only matched segments are known");
    assert_eq!(matched, synth.matched_segments[1].1);

    // Matches without matched.meme: tables but no aligned logos.
    std::fs::remove_file(dir.path().join("layer1/matched.meme")).unwrap();
    let report = RunReport::load(dir.path()).unwrap();
    report.write_html(dir.path()).unwrap();
    let page = read(&dir.path().join("report/layer1.html"));
    assert!(page.contains("class=\"matches\""));
    assert!(!page.contains("logo alignment"));

    // An unfinished layer directory is listed, not an error.
    std::fs::create_dir(dir.path().join("layer3")).unwrap();
    let report = RunReport::load(dir.path()).unwrap();
    assert_eq!(report.unfinished_layers, [3]);
    report.write_html(dir.path()).unwrap();
    assert!(read(&dir.path().join("index.html"))
        .contains("layer 3 <span class=\"meta\">(unfinished)</span>"));
}

/// Write a run, apply `edit` to one file, and return the load error as text.
fn load_error(file: &str, edit: impl FnOnce(String) -> String) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_run_dir(dir.path(), &spec());
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, edit(text)).unwrap();
    let err = RunReport::load(dir.path()).unwrap_err();
    // Paths in messages are the full paths; keep the part from the run directory on.
    err.to_string()
        .replace(&format!("{}/", dir.path().display()), "")
}

fn replace_line(text: &str, line: usize, new: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                new.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn malformed_files_are_errors_naming_file_and_line() {
    let e = load_error("layer1/crms.tsv", |t| {
        replace_line(&t, 3, "1\t1\t0\t10\tabc\t1\tACGT")
    });
    assert!(e.starts_with("layer1/crms.tsv:3: column act_max"), "{e}");

    let e = load_error("layer1/crms.tsv", |t| {
        format!("{t}1\t99\t0\t10\t1\t1\tACGT\n")
    });
    assert!(
        e.starts_with("layer1/crms.tsv:7: CRM L1_N99_S0 has no matrix in crms.meme"),
        "{e}"
    );

    let e = load_error("layer1/crms.tsv", |t| replace_line(&t, 6, ""));
    assert!(
        e.contains("layer1/crms.meme:") && e.contains("CRM L1_N4_S0 has no row in crms.tsv"),
        "{e}"
    );

    let e = load_error("layer2/matches.tsv", |t| {
        replace_line(
            &t,
            2,
            "L2_N0_S0_99-120\tSX0001.1\t0\t1e-5\t1e-4\t1e-4\t6\tA\tA\t+",
        )
    });
    assert!(
        e.starts_with("layer2/matches.tsv:2: query L2_N0_S0_99-120 is not in segments.meme"),
        "{e}"
    );

    let e = load_error("layer2/matches.tsv", |t| {
        let second = t.lines().nth(1).unwrap().to_owned();
        let mut f: Vec<&str> = second.split('\t').collect();
        f[1] = "MA9999.1";
        replace_line(&t, 2, &f.join("\t"))
    });
    assert!(
        e.starts_with("layer2/matches.tsv:2: target MA9999.1 is not in matched.meme"),
        "{e}"
    );

    let e = load_error("layer2/matches.tsv", |t| {
        let second = t.lines().nth(1).unwrap().to_owned();
        let mut f: Vec<&str> = second.split('\t').collect();
        f[2] = "-500";
        replace_line(&t, 2, &f.join("\t"))
    });
    assert!(
        e.contains("layer2/matches.tsv:2: offset -500 leaves no overlap"),
        "{e}"
    );

    let e = load_error("layer1/matches.tsv", |t| {
        replace_line(&t, 1, "Query_ID\tTarget_ID")
    });
    assert!(e.starts_with("layer1/matches.tsv:1: header"), "{e}");

    let e = load_error("layer1/segments.meme", |t| {
        t.replacen("MOTIF L1_N0_S0_", "MOTIF X_", 1)
    });
    assert!(
        e.contains("layer1/segments.meme:") && e.contains("is not a segment id"),
        "{e}"
    );

    let e = load_error("layer1/crms.meme", |t| t.replacen("0.", "x.", 1));
    assert!(e.contains("layer1/crms.meme:"), "{e}");

    let e = load_error("run.json", |t| {
        t.replacen("\"seed\": 7", "\"seed\": \"seven\"", 1)
    });
    assert!(e.starts_with("run.json:"), "{e}");

    let e = load_error("layer1/crms.tsv", |_| String::new());
    assert!(e.starts_with("layer1/crms.tsv:1: empty file"), "{e}");

    // Missing required files.
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        RunReport::load(dir.path()),
        Err(ReportError::Missing { .. })
    ));
    write_run_dir(dir.path(), &spec());
    std::fs::remove_file(dir.path().join("layer2/crms.tsv")).unwrap();
    let e = RunReport::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("layer2/crms.tsv: not found"), "{e}");
}

#[test]
fn text_from_files_is_escaped_and_only_web_links_are_links() {
    let dir = tempfile::tempdir().unwrap();
    write_run_dir(dir.path(), &spec());
    // Rewrite layer 1's database motifs with a hostile name and URLs (MEME `URL` lines follow
    // the matrix).
    let mut text = support::meme_text(&[]);
    for (i, (id, name, cons)) in support::DB.iter().enumerate() {
        let name = if i == 0 {
            "<b>&\"Alpha'".to_owned()
        } else {
            name.to_string()
        };
        let one = support::meme_text(&[(id.to_string(), Some(name), 20, support::db_rows(cons))]);
        let motif = &one[one.find("MOTIF").unwrap()..];
        let url = if i == 1 {
            "javascript:alert(1)".to_owned()
        } else {
            format!("https://example.org/{id}")
        };
        text.push_str(motif.trim_end());
        text.push_str(&format!("\nURL {url}\n\n"));
    }
    std::fs::write(dir.path().join("layer1/matched.meme"), text).unwrap();
    let report = RunReport::load(dir.path()).unwrap();
    report
        .write_html_with(dir.path(), &ReportOptions::default().matches_per_segment(5))
        .unwrap();
    let page = read(&dir.path().join("report/layer1.html"));
    assert!(
        page.contains("&lt;b&gt;&amp;&quot;Alpha&#39;"),
        "name escaped"
    );
    assert!(!page.contains("<b>&"));
    assert!(!page.contains("javascript:"));
    assert!(page.contains("<a href=\"https://example.org/SX0001.1\">"));
}

#[test]
fn large_layers_get_an_overview_and_detail_pages() {
    let dir = tempfile::tempdir().unwrap();
    let synth = write_run_dir(dir.path(), &spec());
    let report = RunReport::load(dir.path()).unwrap();
    let opts = one_page().neurons_per_page(8);
    report.write_html_with(dir.path(), &opts).unwrap();
    let overview = read(&dir.path().join("report/layer2.html"));
    check_page(&overview);
    // 30 neurons, 8 per page.
    for p in 1..=4 {
        assert!(
            overview.contains(&format!("href=\"layer2/p{p}.html\"")),
            "page {p} linked"
        );
    }
    assert!(!dir.path().join("report/layer2/p5.html").exists());
    assert!(overview.contains("<a href=\"layer2/p1.html#n0\">neuron 0</a>"));
    assert!(overview.contains("title=\"neurons 0–7\">1</a>"));
    assert!(overview.contains("<a href=\"layer2/p4.html#n29\">neuron 29</a>"));
    assert_eq!(overview.matches("role=\"row\" id=\"r").count(), 30);
    assert!(
        !overview.contains("<details"),
        "details only on detail pages"
    );
    let layer = &report.layers[1];
    let (_, matched) = layer.segment_counts();
    let mut logos = 0;
    let mut pages = String::new();
    for p in 1..=4 {
        let page = read(&dir.path().join(format!("report/layer2/p{p}.html")));
        check_page(&page);
        assert!(page.contains("href=\"../../index.html\""));
        assert!(page.contains("href=\"../layer2.html\""));
        assert_eq!(page.contains("\">previous</a>"), p > 1);
        assert_eq!(page.contains("\">next</a>"), p < 4);
        logos += count_logos(&page);
        pages.push_str(&page);
    }
    assert_eq!(logos, layer.crm_count() + matched);
    for id in &synth.crm_ids[1].1 {
        assert_eq!(
            pages
                .matches(&format!("<div class=\"crow crm\" role=\"row\" id=\"{id}\""))
                .count(),
            1,
            "{id} on one page"
        );
    }
    // A byte budget smaller than one CRM gives one CRM per page.
    report
        .write_html_with(dir.path(), &ReportOptions::default().page_bytes(1))
        .unwrap();
    assert!(dir.path().join("report/layer2/p120.html").is_file());
    assert!(!dir.path().join("report/layer2/p121.html").exists());
    let page = read(&dir.path().join("report/layer2/p2.html"));
    assert!(
        page.contains("<h1>Layer 2, neuron 0 (CRMs 2–2)</h1>"),
        "split neuron"
    );
    assert!(page.contains("id=\"n0-c2\""));
    assert!(page.contains("CRMs 3–4 of neuron 0 continue on the next page."));
    // Rewriting with fewer pages removes the extra ones; one page removes the folder.
    report.write_html_with(dir.path(), &opts).unwrap();
    assert!(!dir.path().join("report/layer2/p5.html").exists());
    report.write_html_with(dir.path(), &one_page()).unwrap();
    assert!(!dir.path().join("report/layer2").exists());
}

#[test]
fn shared_glyphs_make_smaller_pages_with_the_same_logos() {
    let dir = tempfile::tempdir().unwrap();
    write_run_dir(dir.path(), &spec());
    let report = RunReport::load(dir.path()).unwrap();
    let outline = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    report.write_html_with(outline.path(), &one_page()).unwrap();
    report
        .write_html_with(
            shared.path(),
            &one_page().glyphs(GlyphRefs::Shared {
                id_prefix: "nmg".into(),
            }),
        )
        .unwrap();
    let a = read(&outline.path().join("report/layer2.html"));
    let b = read(&shared.path().join("report/layer2.html"));
    check_page(&a);
    check_page(&b);
    assert!(!a.contains("<use ") && b.contains("<use "));
    assert_eq!(count_logos(&a), count_logos(&b));
    assert_eq!(
        a.matches("class=\"glyph ").count(),
        b.matches("class=\"glyph ").count()
    );
    assert!(
        (b.len() as f64) < 0.8 * a.len() as f64,
        "{} vs {}",
        b.len(),
        a.len()
    );
}

#[test]
fn rewriting_removes_stale_layer_pages() {
    let dir = tempfile::tempdir().unwrap();
    write_run_dir(dir.path(), &spec());
    let report = RunReport::load(dir.path()).unwrap();
    report
        .write_html_with(dir.path(), &ReportOptions::default().neurons_per_page(8))
        .unwrap();
    assert!(dir.path().join("report/layer2/p1.html").is_file());
    std::fs::remove_dir_all(dir.path().join("layer2")).unwrap();
    std::fs::write(dir.path().join("report/notes.txt"), "mine").unwrap();
    let report = RunReport::load(dir.path()).unwrap();
    report.write_html(dir.path()).unwrap();
    assert!(dir.path().join("report/layer1.html").is_file());
    assert!(!dir.path().join("report/layer2.html").exists());
    assert!(!dir.path().join("report/layer2").exists());
    assert!(
        dir.path().join("report/notes.txt").is_file(),
        "other files are left alone"
    );
}
