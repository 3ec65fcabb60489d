//! The HTML report: `index.html` (run summary, one line per layer), one overview page per
//! layer (`report/layer<L>.html`) and, for large layers, detail pages
//! (`report/layer<L>/p<k>.html`).

mod index;
mod layer;
mod neuron;

use std::path::{Path, PathBuf};

use crate::logo::GlyphRefs;
use crate::run::RunReport;
use crate::{write_atomic, ReportError, Result};

/// Choices for [`RunReport::write_html_with`]. The defaults suit layers of any size.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReportOptions {
    /// Matches shown (and aligned) per segment, best p-value first (default 3).
    pub matches_per_segment: usize,
    /// At most this many neurons on one detail page (default 48).
    pub neurons_per_page: usize,
    /// A detail page is closed before its CRM rows exceed this many bytes (default 1,500,000);
    /// a neuron with more CRMs than fit continues on the next page. A single CRM larger than
    /// this gets a page of its own.
    pub page_bytes: usize,
    /// CRM logos are scaled to at most this width in px (default 720); positions are 4-16 px.
    pub max_logo_width: f64,
    /// Height of CRM logo stacks in px (default 48; alignments use three quarters of it).
    pub logo_height: f64,
    /// Width of one position in the segment/match alignments, px (default 14).
    pub alignment_width_per_position: f64,
    /// How logos carry their letters. [`GlyphRefs::Outline`] (default) repeats the outline in
    /// every glyph; [`GlyphRefs::Shared`] defines the four outlines once per page and makes
    /// pages about 30 % smaller, but Chromium then opens them about 30 % more slowly (it builds
    /// a shadow tree for every `<use>`).
    pub glyphs: GlyphRefs,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            matches_per_segment: 3,
            neurons_per_page: 48,
            page_bytes: 1_500_000,
            max_logo_width: 720.0,
            logo_height: 48.0,
            alignment_width_per_position: 14.0,
            glyphs: GlyphRefs::Outline,
        }
    }
}

impl ReportOptions {
    /// Set [`ReportOptions::matches_per_segment`].
    pub fn matches_per_segment(mut self, n: usize) -> Self {
        self.matches_per_segment = n;
        self
    }

    /// Set [`ReportOptions::neurons_per_page`] (at least 1).
    pub fn neurons_per_page(mut self, n: usize) -> Self {
        self.neurons_per_page = n.max(1);
        self
    }

    /// Set [`ReportOptions::glyphs`].
    pub fn glyphs(mut self, glyphs: GlyphRefs) -> Self {
        self.glyphs = glyphs;
        self
    }

    /// Set [`ReportOptions::page_bytes`].
    pub fn page_bytes(mut self, n: usize) -> Self {
        self.page_bytes = n;
        self
    }
}

/// Glyphs at most this many px tall are left out of report logos: a letter 1 px tall is an
/// unreadable line, and on real CRMs a third of all glyphs are that small (near-uniform
/// columns of a wide receptive field).
const REPORT_MIN_GLYPH_PX: f64 = 1.0;
/// Folder of the layer pages, beside `index.html`.
const PAGES_DIR: &str = "report";

fn layer_page_name(layer: u32) -> String {
    format!("layer{layer}.html")
}

/// Detail page `page` (0-based) of a layer, relative to `report/`.
fn detail_page_name(layer: u32, page: usize) -> String {
    format!("layer{layer}/p{}.html", page + 1)
}

impl RunReport {
    /// Write `dir/index.html` and the layer pages with [`ReportOptions::default`]; returns the
    /// path of `index.html`. See [`RunReport::write_html_with`].
    pub fn write_html(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        self.write_html_with(dir, &ReportOptions::default())
    }

    /// Write the report into `dir` (usually the run directory itself): `index.html`, one
    /// overview page per layer in `report/` and, for layers too large for one page, detail pages
    /// in `report/layer<L>/`. Every file is written atomically, links are relative, and nothing
    /// outside the written files is referenced, so `dir` can be zipped and mailed (the report
    /// does not link the run's data files, so it can also be written elsewhere). Pages left by
    /// an earlier report for layers or pages that no longer exist are removed.
    pub fn write_html_with(&self, dir: impl AsRef<Path>, opts: &ReportOptions) -> Result<PathBuf> {
        let dir = dir.as_ref();
        let pages = dir.join(PAGES_DIR);
        create_dir(&pages)?;
        for layer in &self.layers {
            self.write_layer(&pages, layer, opts)?;
        }
        remove_stale_layers(&pages, self)?;
        let index = dir.join("index.html");
        write_atomic(&index, self.index_page().as_bytes())?;
        Ok(index)
    }

    /// The navigation bar of a page `depth` folders below `index.html`.
    fn nav(&self, current: Option<u32>, depth: usize) -> Vec<(String, String, bool)> {
        let up = "../".repeat(depth);
        let to_layers = match depth {
            0 => format!("{PAGES_DIR}/"),
            1 => String::new(),
            _ => "../".repeat(depth - 1),
        };
        let mut nav = vec![(
            format!("{up}index.html"),
            "neuronmotif report".to_owned(),
            current.is_none(),
        )];
        for l in &self.layers {
            nav.push((
                format!("{to_layers}{}", layer_page_name(l.layer)),
                format!("layer {}", l.layer),
                current == Some(l.layer),
            ));
        }
        nav
    }
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        error: source,
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        error: source,
    }
}

/// Remove `p<k>.html` with `k > keep` from a layer's detail folder, and the folder when it is
/// left empty. Other files are left alone.
fn remove_stale_details(detail_dir: &Path, keep: usize) -> Result<()> {
    let entries = match std::fs::read_dir(detail_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(detail_dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error(detail_dir))?;
        let name = entry.file_name();
        let page = name
            .to_str()
            .and_then(|n| n.strip_prefix('p'))
            .and_then(|n| n.strip_suffix(".html"))
            .and_then(|n| n.parse::<usize>().ok());
        if page.is_some_and(|k| k > keep) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    // Only succeeds when empty, which is what we want.
    let _ = std::fs::remove_dir(detail_dir);
    Ok(())
}

/// Remove the pages of layers that are no longer in the run.
fn remove_stale_layers(pages: &Path, report: &RunReport) -> Result<()> {
    let entries = std::fs::read_dir(pages).map_err(io_error(pages))?;
    for entry in entries {
        let entry = entry.map_err(io_error(pages))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix("layer") else {
            continue;
        };
        let num = rest.strip_suffix(".html").unwrap_or(rest);
        let Ok(layer) = num.parse::<u32>() else {
            continue;
        };
        if report.layers.iter().any(|l| l.layer == layer) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            remove_stale_details(&path, 0)?;
        } else if rest.ends_with(".html") {
            std::fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}
