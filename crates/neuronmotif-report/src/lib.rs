//! SVG sequence logos and the self-contained HTML report of a neuronmotif run.
//!
//! People read motifs as pictures. This crate draws them ([`logo_svg`], [`alignment_svg`],
//! [`write_logos`]) and turns a run directory (`docs/run-directory.md`) into a report a
//! biologist opens in a browser ([`RunReport::load`], [`RunReport::write_html`]). It computes
//! nothing that is not already in the run directory, and it writes nothing that needs the
//! network to be read: no fonts, scripts or style sheets from elsewhere.
//!
//! ```
//! use neuronmotif_core::{DnaSeq, Ppm};
//! use neuronmotif_report::{logo_svg, LogoMode, LogoOptions};
//!
//! let ppm = Ppm::from_seq(&"TTGACA".parse::<DnaSeq>()?);
//! let bits = logo_svg(&ppm, &LogoOptions::default());
//! let probs = logo_svg(&ppm, &LogoOptions { mode: LogoMode::Probability, ..Default::default() });
//! assert!(bits.starts_with("<svg") && probs.contains("data-mode=\"probability\""));
//! # Ok::<(), neuronmotif_core::CoreError>(())
//! ```
//!
//! # How a logo is computed
//!
//! Each column of a PPM becomes a stack of the four letters. In **bits** mode (the default) the
//! column's height is its information content `IC = 2 − H`, `H = −Σ p_b log2 p_b`
//! ([`Ppm::ic_bits`](neuronmotif_core::Ppm::ic_bits)), and letter `b` gets `p_b × IC` of it; the
//! y-axis runs from 0 to 2 bits. In **probability** mode letter `b` is `p_b` tall and every
//! column is full. Letters are sorted per column, the smallest at the bottom and the largest on
//! top (equal heights keep ACGT order from the bottom); letters of zero height are not drawn.
//! No small-sample correction is applied: CRMs are built from thousands of sequences and the
//! database motifs are already smoothed.
//!
//! Why bits: a column's height then says how much a neuron cares about that position at all,
//! and the letters inside it say which bases it prefers. A flat column (IC ≈ 0) vanishes, so
//! the motif inside a 100-bp receptive field stands out; probabilities would draw every column
//! full height. Bits are also what the whole project uses (segments are cut at an IC threshold
//! in bits), so what looks tall in a logo is what the pipeline calls informative.
//!
//! Letters are four outlines designed for this crate (module docs of `glyph`), drawn in a
//! unit box and placed with `matrix(width 0 0 height x y)`, so a glyph's drawn height is its
//! transform's y-scale. Every glyph element is `class="glyph X"` with `data-height` (bits or
//! probability) so tests and scripts can find and measure it. Colours: A green, C blue,
//! G orange, T red.
//!
//! # Aligning database matches
//!
//! Tomtom reports, for a query (a CRM segment) and a target (a database motif), an
//! `Optimal_offset` `o` and an `Orientation`. Query column 0 sits at column `o` of the target
//! on that strand; equivalently target column `j` sits under query column `j − o`. A negative
//! offset therefore means the target starts inside the query (`o = −3`: the target begins under
//! query column 3), a positive one that the query starts inside the target. For orientation `-`
//! the target's reverse complement is the aligned strand, and [`alignment_svg`] draws that.
//! All rows share one column grid, so aligned letters sit exactly above each other.
//!
//! # The report
//!
//! [`RunReport::write_html`] writes three kinds of page, all linked relatively:
//!
//! * `index.html`: the run summary from `run.json` (model, alphabet, layers, seed, threads,
//!   database, parameters, per-layer counts and timings) and each layer's most matched
//!   database motifs;
//! * `report/layer<L>.html`: one row per neuron (number of CRMs, best `act_max`, best matches
//!   with q-values, a small logo of the informative part of its best CRM, links to its detail
//!   pages) and a filter box; when the whole layer fits on one page, the details follow on the
//!   same page;
//! * `report/layer<L>/p<k>.html` for larger layers: the details, in CRM order, each page
//!   closed at [`ReportOptions::page_bytes`] (1.5 MB) or [`ReportOptions::neurons_per_page`]
//!   (48); a neuron with hundreds of CRMs continues over several pages.
//!
//! A neuron's details are a collapsible section with a table of its CRMs, highest `act_max`
//! first: shift id, route offset in bp and its purity when the run wrote `routes.tsv`, `n`,
//! `act_max`, `conact`, the logo and consensus, and under each CRM its informative segments
//! with their best matches (q, E, p, strand, offset, overlap) drawn aligned under them.
//!
//! Pages stay fast whatever the layer's size: no page holds more than one page's worth of
//! CRMs; logos leave out glyphs under 1 px and round coordinates to 0.01 px; rows and
//! sections use `content-visibility: auto`, so only what is on screen is laid out. Glyphs are
//! [`GlyphRefs::Outline`] paths by default, which Chromium opens faster than `<use>`
//! references ([`ReportOptions::glyphs`]). The filter and the expand/collapse buttons are a few
//! lines of inline JavaScript; everything else works without it. Pages forbid external
//! resources with a Content-Security-Policy, so the folder can be zipped and mailed and opens
//! offline.
#![deny(missing_docs)]

mod crm_table;
mod error;
mod glyph;
mod html;
mod logo;
mod markup;
mod matches;
mod page;
mod run;
mod summary;
mod tsv;

use std::io::Write as _;
use std::path::Path;

pub use error::ReportError;
pub use glyph::{glyph_color, glyph_defs_svg, glyph_path};
pub use html::ReportOptions;
pub use logo::{
    alignment_svg, column_stacks, logo_svg, write_logos, AlignedMotif, GlyphRefs, LogoMode,
    LogoOptions, Strand,
};
pub use markup::sanitise_file_stem;
pub use run::{
    CrmReport, LayerReport, MatchReport, NeuronReport, RunReport, SegmentReport, TargetMotif,
};
pub use summary::{LayerResult, ModelLayer, ModelSummary, RunSummary};

/// Result type of this crate.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Write `bytes` to `path` atomically: a temporary file beside it, then a rename, so a reader
/// never sees half a page.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        error: source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", neuronmotif_core::temp_suffix()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
