//! Sequence logos as SVG: stacks, layout, alignment of matched motifs, and logo files.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use neuronmotif_core::{Base, Ppm};
use neuronmotif_io::Motif;

use crate::glyph::{glyph_color, glyph_path};
use crate::markup::{id_safe, push_escaped, push_num, sanitise_file_stem};
use crate::{write_atomic, ReportError, Result};

/// What the height of a letter means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogoMode {
    /// Information content: letter height `p_b × IC` with `IC = 2 − H` bits
    /// ([`Ppm::ic_bits`]); the y-axis runs from 0 to 2 bits.
    #[default]
    Bits,
    /// Probability: letter height `p_b`; every column is full and the y-axis runs from 0 to 1.
    Probability,
}

impl LogoMode {
    /// The top of the y-axis: 2 bits or probability 1.
    pub fn y_max(self) -> f64 {
        match self {
            LogoMode::Bits => 2.0,
            LogoMode::Probability => 1.0,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            LogoMode::Bits => "bits",
            LogoMode::Probability => "probability",
        }
    }
}

/// How glyph elements carry their outlines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GlyphRefs {
    /// Each glyph is a `<path>` with its outline and fill: the SVG stands alone and opens in
    /// any editor (Inkscape, Illustrator, office suites).
    #[default]
    Outline,
    /// Each glyph is a `<use href="#{id_prefix}A">` referring to outlines defined once per page
    /// by [`glyph_defs_svg`](crate::glyph_defs_svg)`(id_prefix)`: about a third of the bytes,
    /// for pages with thousands of logos. The logo is then only complete inside that page.
    Shared {
        /// Prefix of the four outline ids (`{prefix}A` ... `{prefix}T`).
        id_prefix: String,
    },
}

/// How to draw a logo. `LogoOptions::default()` is a 24 px-per-position, 120 px high bits logo
/// with axes and self-contained glyphs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogoOptions {
    /// Bits (default) or probability.
    pub mode: LogoMode,
    /// Draw the opposite strand (positions reversed, bases complemented).
    pub reverse_complement: bool,
    /// Width of one position in px (default 24). Non-finite or non-positive values use the
    /// default; values are limited to 1..=200.
    pub width_per_position: f64,
    /// Height of the stack area in px, i.e. of 2 bits or probability 1 (default 120). Same
    /// rules as `width_per_position`, limited to 4..=1000.
    pub height: f64,
    /// Draw the y-axis (ticks, labels, unit) and the position numbers (default true).
    pub show_axis: bool,
    /// A heading drawn above the logo (also the SVG's `<title>`).
    pub title: Option<String>,
    /// The number written under the first column (default 1). A CRM segment that starts at
    /// receptive-field position 10 (0-based) reads best with 11.
    pub first_position: i64,
    /// Glyphs whose drawn height is at most this many px are left out (default 0: only glyphs
    /// of zero height are left out). The stack keeps its geometry: the glyphs above a skipped
    /// one stay where they would be. The report uses 1 px to keep pages small.
    pub min_glyph_px: f64,
    /// Self-contained outlines (default) or references to page-level definitions.
    pub glyphs: GlyphRefs,
}

impl Default for LogoOptions {
    fn default() -> Self {
        LogoOptions {
            mode: LogoMode::Bits,
            reverse_complement: false,
            width_per_position: 24.0,
            height: 120.0,
            show_axis: true,
            title: None,
            first_position: 1,
            min_glyph_px: 0.0,
            glyphs: GlyphRefs::Outline,
        }
    }
}

/// Which strand of a target motif Tomtom aligned: its column `Orientation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strand {
    /// `+`: the target as given.
    Forward,
    /// `-`: the reverse complement of the target.
    Reverse,
}

impl Strand {
    /// Parse Tomtom's `+` or `-`.
    pub fn parse(text: &str) -> Option<Strand> {
        match text {
            "+" => Some(Strand::Forward),
            "-" => Some(Strand::Reverse),
            _ => None,
        }
    }
}

impl fmt::Display for Strand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strand::Forward => "+",
            Strand::Reverse => "-",
        })
    }
}

/// The letter heights of every column, bottom to top.
///
/// Bits: `p_b × IC(column)` with IC from [`Ppm::ic_bits`]; probability: `p_b`. Letters of
/// zero height are left out. Each column is sorted by height, smallest at the bottom; equal
/// heights keep ACGT order from the bottom (A below C). In bits mode the heights of a column
/// sum to its IC, in probability mode to 1 (to rounding).
///
/// ```
/// use neuronmotif_core::{DnaSeq, Ppm, Base};
/// use neuronmotif_report::{column_stacks, LogoMode};
///
/// let ppm = Ppm::from_seq(&"GA".parse::<DnaSeq>()?);
/// let stacks = column_stacks(&ppm, LogoMode::Bits);
/// assert_eq!(stacks[0], vec![(Base::G, 2.0)]);
/// assert_eq!(stacks[1], vec![(Base::A, 2.0)]);
/// # Ok::<(), neuronmotif_core::CoreError>(())
/// ```
pub fn column_stacks(ppm: &Ppm, mode: LogoMode) -> Vec<Vec<(Base, f64)>> {
    let ic = ppm.ic_bits();
    (0..ppm.width())
        .map(|pos| {
            let probs = ppm.row(pos).unwrap_or([0.0; 4]);
            let scale = match mode {
                LogoMode::Bits => ic.get(pos).copied().unwrap_or(0.0),
                LogoMode::Probability => 1.0,
            };
            let mut stack: Vec<(Base, f64)> = Base::ALL
                .iter()
                .map(|&b| (b, probs[b.index()] * scale))
                .filter(|&(_, h)| h > 0.0)
                .collect();
            // Stable sort: ties keep ACGT order.
            stack.sort_by(|a, b| a.1.total_cmp(&b.1));
            stack
        })
        .collect()
}

/// Margins and scales of one drawing, after clamping the options.
struct Layout {
    wpp: f64,
    plot_h: f64,
    left: f64,
    axis: bool,
}

const AXIS_LEFT: f64 = 34.0;
const AXIS_BOTTOM: f64 = 14.0;
const TITLE_H: f64 = 16.0;
/// Vertical gap between the rows of an alignment.
const ROW_GAP: f64 = 6.0;
/// Approximate advance of one character of a 10 px sans-serif label.
const LABEL_CHAR_W: f64 = 6.0;
const RIGHT: f64 = 4.0;
/// Space above a stack so the top tick label is not cut.
const TOP_PAD: f64 = 5.0;
/// Horizontal gap on each side of a glyph, as a fraction of the column width.
const GLYPH_PAD: f64 = 0.04;
const FONT: &str = "font-family=\"sans-serif\" fill=\"#444\"";

impl Layout {
    fn new(opts: &LogoOptions) -> Layout {
        let clamp = |v: f64, default: f64, lo: f64, hi: f64| {
            if v.is_finite() && v > 0.0 {
                v.clamp(lo, hi)
            } else {
                default
            }
        };
        Layout {
            wpp: clamp(opts.width_per_position, 24.0, 1.0, 200.0),
            plot_h: clamp(opts.height, 120.0, 4.0, 1000.0),
            left: if opts.show_axis { AXIS_LEFT } else { 2.0 },
            axis: opts.show_axis,
        }
    }
}

/// Draw one stack row: glyphs of `ppm` with column 0 at `x0`, the baseline at `y_base`.
fn push_stacks(
    out: &mut String,
    ppm: &Ppm,
    opts: &LogoOptions,
    lay: &Layout,
    x0: f64,
    y_base: f64,
) {
    let px_per_unit = lay.plot_h / opts.mode.y_max();
    let pad = lay.wpp * GLYPH_PAD;
    let gw = lay.wpp - 2.0 * pad;
    let min_px = if opts.min_glyph_px.is_finite() {
        opts.min_glyph_px.max(0.0)
    } else {
        0.0
    };
    for (col, stack) in column_stacks(ppm, opts.mode).iter().enumerate() {
        let x = x0 + col as f64 * lay.wpp + pad;
        let mut cum = 0.0;
        for &(base, h) in stack {
            let h_px = h * px_per_unit;
            let y_top = y_base - cum - h_px;
            cum += h_px;
            if h_px <= min_px {
                continue;
            }
            let letter = base.letter();
            match &opts.glyphs {
                GlyphRefs::Outline => {
                    out.push_str("<path class=\"glyph ");
                    out.push(letter);
                    out.push_str("\" fill=\"");
                    out.push_str(glyph_color(base));
                    out.push('"');
                }
                GlyphRefs::Shared { id_prefix } => {
                    out.push_str("<use href=\"#");
                    out.push_str(&id_safe(id_prefix));
                    out.push(letter);
                    out.push_str("\" class=\"glyph ");
                    out.push(letter);
                    out.push('"');
                }
            }
            out.push_str(" data-height=\"");
            push_num(out, h, 4);
            out.push_str("\" transform=\"matrix(");
            push_num(out, gw, 2);
            out.push_str(" 0 0 ");
            push_num(out, h_px, 2);
            out.push(' ');
            push_num(out, x, 2);
            out.push(' ');
            push_num(out, y_top, 2);
            out.push_str(")\"");
            match &opts.glyphs {
                GlyphRefs::Outline => {
                    out.push_str(" d=\"");
                    out.push_str(glyph_path(base));
                    out.push_str("\"/>");
                }
                GlyphRefs::Shared { .. } => out.push_str("/>"),
            }
        }
    }
}

/// The y-axis left of a stack row whose plot spans `y_top..y_top + plot_h`.
fn push_y_axis(out: &mut String, mode: LogoMode, lay: &Layout, y_top: f64) {
    let x = lay.left - 3.0;
    let y_base = y_top + lay.plot_h;
    let ticks: &[(f64, &str)] = match (mode, lay.plot_h >= 36.0) {
        (LogoMode::Bits, true) => &[(0.0, "0"), (1.0, "1"), (2.0, "2")],
        (LogoMode::Bits, false) => &[(0.0, "0"), (2.0, "2")],
        (LogoMode::Probability, true) => &[(0.0, "0"), (0.5, "0.5"), (1.0, "1")],
        (LogoMode::Probability, false) => &[(0.0, "0"), (1.0, "1")],
    };
    out.push_str(
        "<g class=\"axis y\" stroke=\"#888\" stroke-width=\"1\"><path fill=\"none\" d=\"M",
    );
    push_num(out, x, 2);
    out.push(' ');
    push_num(out, y_top, 2);
    out.push('V');
    push_num(out, y_base, 2);
    for &(v, _) in ticks {
        let y = y_base - v / mode.y_max() * lay.plot_h;
        out.push('M');
        push_num(out, x - 3.0, 2);
        out.push(' ');
        push_num(out, y, 2);
        out.push_str("h3");
    }
    out.push_str("\"/></g><g class=\"axis-labels\" ");
    out.push_str(FONT);
    out.push_str(" font-size=\"9\" text-anchor=\"end\">");
    for &(v, label) in ticks {
        let y = y_base - v / mode.y_max() * lay.plot_h + 3.0;
        out.push_str("<text x=\"");
        push_num(out, x - 5.0, 2);
        out.push_str("\" y=\"");
        push_num(out, y, 2);
        out.push_str("\">");
        out.push_str(label);
        out.push_str("</text>");
    }
    let unit = match mode {
        LogoMode::Bits => "bits",
        LogoMode::Probability => "prob.",
    };
    let cy = y_top + lay.plot_h / 2.0;
    out.push_str("<text text-anchor=\"middle\" transform=\"translate(8 ");
    push_num(out, cy, 2);
    out.push_str(") rotate(-90)\">");
    out.push_str(unit);
    out.push_str("</text></g>");
}

/// Position numbers under `cols` columns starting at `x0`: every position when there is room,
/// otherwise multiples of 5, 10, 20, 50, 100, ...
fn push_x_labels(out: &mut String, lay: &Layout, x0: f64, y: f64, cols: usize, first: i64) {
    if cols == 0 {
        return;
    }
    let last = first.saturating_add(cols as i64 - 1);
    let digits = first.to_string().len().max(last.to_string().len()) as f64;
    let need = digits * 5.5 + 6.0;
    // Steps 1, 5, 10, 20, 50, 100, 200, 500, ...: multiples of 5 read best on a ruler.
    let mut step: i64 = 1;
    let mut k = 0u32;
    while (step as f64) * lay.wpp < need && step < 1_000_000_000 {
        step = match k {
            0 => 5,
            _ => [10, 20, 50][(k as usize - 1) % 3] * 10i64.pow((k - 1) / 3),
        };
        k += 1;
    }
    out.push_str("<g class=\"axis x\" ");
    out.push_str(FONT);
    out.push_str(" font-size=\"9\" text-anchor=\"middle\">");
    for col in 0..cols {
        let pos = first.saturating_add(col as i64);
        if step > 1 && pos.rem_euclid(step) != 0 {
            continue;
        }
        out.push_str("<text x=\"");
        push_num(out, x0 + (col as f64 + 0.5) * lay.wpp, 2);
        out.push_str("\" y=\"");
        push_num(out, y, 2);
        out.push_str("\">");
        out.push_str(&pos.to_string());
        out.push_str("</text>");
    }
    out.push_str("</g>");
}

fn push_svg_open(out: &mut String, class: &str, width: f64, height: f64, extra: &str) {
    out.push_str("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"");
    out.push_str(class);
    out.push_str("\" width=\"");
    push_num(out, width, 2);
    out.push_str("\" height=\"");
    push_num(out, height, 2);
    out.push_str("\" viewBox=\"0 0 ");
    push_num(out, width, 2);
    out.push(' ');
    push_num(out, height, 2);
    out.push_str("\" role=\"img\"");
    out.push_str(extra);
    out.push('>');
}

fn push_title(out: &mut String, title: &Option<String>, lay: &Layout) -> f64 {
    match title {
        Some(t) => {
            out.push_str("<title>");
            push_escaped(out, t);
            out.push_str("</title><text class=\"title\" x=\"");
            push_num(out, lay.left, 2);
            out.push_str("\" y=\"12\" ");
            out.push_str(FONT);
            out.push_str(" font-size=\"11\">");
            push_escaped(out, t);
            out.push_str("</text>");
            TITLE_H
        }
        None => 0.0,
    }
}

/// A sequence logo of `ppm` as a standalone SVG document.
///
/// Every letter is one element with `class="glyph X"` (X the base) and `data-height` (its height
/// in bits or probability, 4 decimals); the drawn height in px is the transform's y scale and
/// equals `data-height × height / y_max` to 0.01 px. Glyphs of zero height are not drawn.
/// The root `<svg>` has `class="logo"`, `data-columns` and `data-mode`.
///
/// ```
/// use neuronmotif_core::{DnaSeq, Ppm};
/// use neuronmotif_report::{logo_svg, LogoOptions};
///
/// let ppm = Ppm::from_seq(&"CACGTG".parse::<DnaSeq>()?);
/// let svg = logo_svg(&ppm, &LogoOptions::default());
/// assert_eq!(svg.matches("class=\"glyph ").count(), 6);
/// assert!(!svg.contains("<text>C</text>")); // letters are outlines, not text
/// # Ok::<(), neuronmotif_core::CoreError>(())
/// ```
pub fn logo_svg(ppm: &Ppm, opts: &LogoOptions) -> String {
    let rc;
    let ppm = if opts.reverse_complement {
        rc = ppm.reverse_complement();
        &rc
    } else {
        ppm
    };
    let lay = Layout::new(opts);
    let cols = ppm.width();
    let title_h = if opts.title.is_some() { TITLE_H } else { 0.0 };
    let width = lay.left + cols as f64 * lay.wpp + RIGHT;
    let bottom = if lay.axis { AXIS_BOTTOM } else { 1.0 };
    let height = title_h + TOP_PAD + lay.plot_h + bottom;
    let mut out = String::with_capacity(512 + cols * 4 * 120);
    let extra = format!(
        " data-columns=\"{cols}\" data-mode=\"{}\" data-strand=\"{}\"",
        opts.mode.as_str(),
        if opts.reverse_complement { "-" } else { "+" }
    );
    push_svg_open(&mut out, "logo", width, height, &extra);
    push_title(&mut out, &opts.title, &lay);
    let y_top = title_h + TOP_PAD;
    if lay.axis {
        push_y_axis(&mut out, opts.mode, &lay, y_top);
        push_x_labels(
            &mut out,
            &lay,
            lay.left,
            y_top + lay.plot_h + 11.0,
            cols,
            opts.first_position,
        );
    }
    push_stacks(&mut out, ppm, opts, &lay, lay.left, y_top + lay.plot_h);
    out.push_str("</svg>");
    out
}

/// A target motif placed under a query by Tomtom's result.
#[derive(Debug, Clone)]
pub struct AlignedMotif<'a> {
    /// The target as stored in the database (forward strand).
    pub ppm: &'a Ppm,
    /// Tomtom's `Optimal_offset`: query column 0 sits at column `offset` of the target on
    /// `strand`, so target column 0 sits under query column `-offset`.
    pub offset: i64,
    /// Tomtom's `Orientation`: [`Strand::Reverse`] draws the target's reverse complement.
    pub strand: Strand,
    /// Text above the target's row (id, name, q-value...).
    pub label: String,
}

/// The query logo with each target drawn under it, aligned as Tomtom aligned them.
///
/// All rows share one column grid in query coordinates: target column `j` (of the strand
/// Tomtom chose) is drawn under query column `j - offset`. The grid spans from the leftmost to
/// the rightmost column any row uses; each row is a `<g class="logo-row">` with `data-col0`,
/// the grid column of its first position (query positions start at grid column `-min(0,
/// min(-offset))`). The query row has position numbers from
/// [`LogoOptions::first_position`]; `reverse_complement` is ignored (the strands come from the
/// alignment).
///
/// ```
/// use neuronmotif_core::{DnaSeq, Ppm};
/// use neuronmotif_report::{alignment_svg, AlignedMotif, LogoOptions, Strand};
///
/// let query = Ppm::from_seq(&"TTCACGTGAA".parse::<DnaSeq>()?);
/// let target = Ppm::from_seq(&"CACGTG".parse::<DnaSeq>()?);
/// // Tomtom: query column 0 at target column -2, i.e. the target starts under query column 2.
/// let aligned = [AlignedMotif { ppm: &target, offset: -2, strand: Strand::Forward, label: "MYC".into() }];
/// let svg = alignment_svg(&query, "query", &aligned, &LogoOptions::default());
/// assert!(svg.contains("data-col0=\"2\""));
/// # Ok::<(), neuronmotif_core::CoreError>(())
/// ```
pub fn alignment_svg(
    query: &Ppm,
    query_label: &str,
    targets: &[AlignedMotif<'_>],
    opts: &LogoOptions,
) -> String {
    let lay = Layout::new(opts);
    let qw = query.width() as i64;
    // Grid range in query coordinates.
    let mut lo = 0i64;
    let mut hi = qw;
    for t in targets {
        let start = t.offset.saturating_neg();
        lo = lo.min(start);
        hi = hi.max(start.saturating_add(t.ppm.width() as i64));
    }
    let cols = hi.saturating_sub(lo).max(0) as f64;
    let title_h = if opts.title.is_some() { TITLE_H } else { 0.0 };
    let row_h = ROW_GAP + TOP_PAD + lay.plot_h;
    let bottom = if lay.axis { AXIS_BOTTOM } else { 1.0 };
    let grid_right = lay.left + cols * lay.wpp;
    let label_chars = targets
        .iter()
        .map(|t| t.label.chars().count())
        .chain(std::iter::once(query_label.chars().count()))
        .max()
        .unwrap_or(0);
    let width = grid_right + 8.0 + label_chars as f64 * LABEL_CHAR_W + RIGHT;
    let height = title_h + row_h * (1 + targets.len()) as f64 + bottom;
    let mut out = String::with_capacity(1024 * (1 + targets.len()));
    let extra = format!(
        " data-rows=\"{}\" data-mode=\"{}\"",
        1 + targets.len(),
        opts.mode.as_str()
    );
    push_svg_open(&mut out, "logo alignment", width, height, &extra);
    push_title(&mut out, &opts.title, &lay);
    let fwd = LogoOptions {
        reverse_complement: false,
        ..opts.clone()
    };
    let mut y = title_h;
    let rows = std::iter::once((query.clone(), 0i64, query_label.to_owned())).chain(
        targets.iter().map(|t| {
            let ppm = match t.strand {
                Strand::Forward => t.ppm.clone(),
                Strand::Reverse => t.ppm.reverse_complement(),
            };
            (ppm, t.offset.saturating_neg(), t.label.clone())
        }),
    );
    for (i, (ppm, start, label)) in rows.enumerate() {
        let col0 = start.saturating_sub(lo);
        let x0 = lay.left + col0 as f64 * lay.wpp;
        let y_top = y + ROW_GAP + TOP_PAD;
        out.push_str("<g class=\"logo-row\" data-col0=\"");
        out.push_str(&col0.to_string());
        // The label sits right of the grid, level with the middle of the row.
        out.push_str("\"><text x=\"");
        push_num(&mut out, grid_right + 8.0, 2);
        out.push_str("\" y=\"");
        push_num(&mut out, y_top + lay.plot_h / 2.0 + 3.5, 2);
        out.push_str("\" ");
        out.push_str(FONT);
        out.push_str(" font-size=\"10\">");
        push_escaped(&mut out, &label);
        out.push_str("</text>");
        if lay.axis {
            push_y_axis(&mut out, opts.mode, &lay, y_top);
        }
        push_stacks(&mut out, &ppm, &fwd, &lay, x0, y_top + lay.plot_h);
        if i == 0 && lay.axis && targets.is_empty() {
            push_x_labels(
                &mut out,
                &lay,
                x0,
                y_top + lay.plot_h + 11.0,
                ppm.width(),
                opts.first_position,
            );
        }
        out.push_str("</g>");
        y += row_h;
    }
    if lay.axis && !targets.is_empty() {
        // Query positions under the last row, so the numbers sit under every motif.
        let x0 = lay.left + lo.saturating_neg() as f64 * lay.wpp;
        push_x_labels(
            &mut out,
            &lay,
            x0,
            y + 11.0,
            query.width(),
            opts.first_position,
        );
    }
    out.push_str("</svg>");
    out
}

/// Write one `<stem>.svg` logo per motif into `out_dir` (created when absent) and return the
/// paths in motif order.
///
/// The stem is the motif id made safe for every OS ([`sanitise_file_stem`]); ids that map to
/// the same name, compared case-insensitively, get `_2`, `_3`, ... Each logo is titled with
/// the motif's id and name (overriding [`LogoOptions::title`]). Files are written atomically.
///
/// [`sanitise_file_stem`]: crate::sanitise_file_stem
pub fn write_logos(
    motifs: &[Motif],
    out_dir: impl AsRef<Path>,
    opts: &LogoOptions,
) -> Result<Vec<PathBuf>> {
    let out_dir = out_dir.as_ref();
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Io {
        path: out_dir.to_path_buf(),
        error: source,
    })?;
    let mut used = HashSet::new();
    let mut paths = Vec::with_capacity(motifs.len());
    for motif in motifs {
        let stem = sanitise_file_stem(&motif.id);
        let mut name = stem.clone();
        let mut k = 2;
        while !used.insert(name.to_ascii_lowercase()) {
            name = format!("{stem}_{k}");
            k += 1;
        }
        let title = match &motif.name {
            Some(n) => format!("{} {n}", motif.id),
            None => motif.id.clone(),
        };
        let svg = logo_svg(
            motif.matrix.ppm(),
            &LogoOptions {
                title: Some(title),
                ..opts.clone()
            },
        );
        let path = out_dir.join(format!("{name}.svg"));
        write_atomic(&path, svg.as_bytes())?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuronmotif_core::{Background, DnaSeq};
    use proptest::prelude::*;

    /// A PPM from rows, through the MEME reader (this crate has no ndarray of its own).
    pub(crate) fn ppm(rows: &[[f64; 4]]) -> Ppm {
        let mut text = format!(
            "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m\nletter-probability matrix: alength= 4 w= {}\n",
            rows.len()
        );
        for r in rows {
            text.push_str(&format!("{} {} {} {}\n", r[0], r[1], r[2], r[3]));
        }
        neuronmotif_io::read_str(&text, None).unwrap()[0].ppm()
    }

    struct Glyph {
        base: char,
        height: f64,
        sx: f64,
        sy: f64,
        x: f64,
        y: f64,
    }

    /// Parse an SVG and return its glyphs, checking it is well-formed XML with an `<svg>` root.
    fn glyphs(svg: &str) -> Vec<Glyph> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert_eq!(
            doc.root_element().tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(
            doc.descendants().all(|n| n.tag_name().name() != "text"
                || !["A", "C", "G", "T"].contains(&n.text().unwrap_or(""))),
            "letters must not be text"
        );
        doc.descendants()
            .filter(|n| {
                n.attribute("class")
                    .is_some_and(|c| c.starts_with("glyph "))
            })
            .map(|n| {
                let class = n.attribute("class").unwrap();
                let m = n.attribute("transform").unwrap();
                let nums: Vec<f64> = m
                    .trim_start_matches("matrix(")
                    .trim_end_matches(')')
                    .split(' ')
                    .map(|v| v.parse().unwrap())
                    .collect();
                assert_eq!((nums[1], nums[2]), (0.0, 0.0), "axis-aligned scale only");
                Glyph {
                    base: class.chars().last().unwrap(),
                    height: n.attribute("data-height").unwrap().parse().unwrap(),
                    sx: nums[0],
                    sy: nums[3],
                    x: nums[4],
                    y: nums[5],
                }
            })
            .collect()
    }

    /// Column index of a glyph from its x position (default layout: axis, 24 px columns).
    fn column(g: &Glyph, wpp: f64, left: f64) -> usize {
        ((g.x - left) / wpp).floor() as usize
    }

    #[test]
    fn heights_equal_probability_times_ic() {
        let m = ppm(&[
            [0.7, 0.1, 0.1, 0.1],
            [0.25, 0.25, 0.25, 0.25],
            [0.0, 0.5, 0.5, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]);
        let opts = LogoOptions::default();
        let svg = logo_svg(&m, &opts);
        let gs = glyphs(&svg);
        // Column 1 is uniform (IC 0): no glyph. Column 2 has two letters, column 3 one.
        assert_eq!(gs.len(), 4 + 2 + 1);
        let ic = m.ic_bits();
        let px_per_bit = opts.height / 2.0;
        let mut sums = [0.0; 4];
        for g in &gs {
            let col = column(g, 24.0, AXIS_LEFT);
            let b = "ACGT".find(g.base).unwrap();
            let expected = m.row(col).unwrap()[b] * ic[col];
            assert!(
                (g.height - expected).abs() <= 5e-5,
                "{} {} {}",
                g.base,
                g.height,
                expected
            );
            // Drawn height in px equals the height in bits times the scale, to 0.01 px.
            assert!((g.sy - expected * px_per_bit).abs() <= 0.005 + 1e-9);
            // Glyph spans the column minus its padding.
            assert!((g.sx - 24.0 * (1.0 - 2.0 * GLYPH_PAD)).abs() < 0.006);
            sums[col] += g.height;
        }
        for col in 0..4 {
            assert!((sums[col] - ic[col]).abs() < 2e-4, "column {col}");
        }
    }

    #[test]
    fn stacks_sorted_smallest_at_bottom_ties_in_acgt_order() {
        let m = ppm(&[[0.1, 0.6, 0.1, 0.2], [0.0, 0.5, 0.5, 0.0]]);
        let stacks = column_stacks(&m, LogoMode::Probability);
        let order: Vec<Vec<Base>> = stacks
            .iter()
            .map(|s| s.iter().map(|&(b, _)| b).collect())
            .collect();
        assert_eq!(order[0], [Base::A, Base::G, Base::T, Base::C]);
        assert_eq!(order[1], [Base::C, Base::G]);
        // In the drawing, y decreases (upwards) along the stack and glyphs touch.
        let svg = logo_svg(
            &m,
            &LogoOptions {
                mode: LogoMode::Probability,
                ..Default::default()
            },
        );
        let gs = glyphs(&svg);
        let col0: Vec<&Glyph> = gs
            .iter()
            .filter(|g| column(g, 24.0, AXIS_LEFT) == 0)
            .collect();
        assert_eq!(col0.iter().map(|g| g.base).collect::<String>(), "AGTC");
        let baseline = TOP_PAD + 120.0;
        assert!((col0[0].y + col0[0].sy - baseline).abs() < 0.011);
        for pair in col0.windows(2) {
            assert!(
                (pair[1].y + pair[1].sy - pair[0].y).abs() < 0.011,
                "stacked without gaps"
            );
        }
        // Probability columns are full: the top glyph reaches the top of the plot.
        assert!((col0[3].y - TOP_PAD).abs() < 0.011);
    }

    #[test]
    fn zero_heights_are_skipped_and_min_px_thins_the_logo() {
        let m = Ppm::from_seq(&"ACGT".parse::<DnaSeq>().unwrap());
        assert_eq!(glyphs(&logo_svg(&m, &LogoOptions::default())).len(), 4);
        let smooth = m.smooth(10.0, 1.0, &Background::UNIFORM).unwrap();
        let all = glyphs(&logo_svg(&smooth, &LogoOptions::default())).len();
        assert_eq!(all, 16);
        let thin = LogoOptions {
            min_glyph_px: 3.0,
            ..Default::default()
        };
        let gs = glyphs(&logo_svg(&smooth, &thin));
        assert_eq!(gs.len(), 4);
        // The remaining glyphs sit above the skipped ones, where they were.
        let full = glyphs(&logo_svg(&smooth, &LogoOptions::default()));
        for g in &gs {
            assert!(full
                .iter()
                .any(|f| f.base == g.base && f.y == g.y && f.x == g.x));
        }
    }

    #[test]
    fn reverse_complement_option_draws_the_other_strand() {
        let m = Ppm::from_seq(&"AACG".parse::<DnaSeq>().unwrap());
        let svg = logo_svg(
            &m,
            &LogoOptions {
                reverse_complement: true,
                ..Default::default()
            },
        );
        let mut gs = glyphs(&svg);
        gs.sort_by(|a, b| a.x.total_cmp(&b.x));
        assert_eq!(gs.iter().map(|g| g.base).collect::<String>(), "CGTT");
        assert!(svg.contains("data-strand=\"-\""));
    }

    #[test]
    fn shared_glyphs_refer_to_page_definitions() {
        let m = Ppm::from_seq(&"GATTACA".parse::<DnaSeq>().unwrap());
        let opts = LogoOptions {
            glyphs: GlyphRefs::Shared {
                id_prefix: "p".into(),
            },
            show_axis: false,
            ..Default::default()
        };
        let svg = logo_svg(&m, &opts);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let uses: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("use"))
            .collect();
        assert_eq!(uses.len(), 7);
        assert_eq!(uses[0].attribute("href"), Some("#pG"));
        assert!(!svg.contains(" d=\""), "no outlines inline");
        assert!(!svg.contains("<text"), "no axis text without axis");
    }

    #[test]
    fn axis_title_and_positions() {
        let m = Ppm::from_seq(&"ACGTACGTACGTACGTACGTACGT".parse::<DnaSeq>().unwrap());
        let opts = LogoOptions {
            title: Some("MA0001.1 <test> & co".into()),
            width_per_position: 8.0,
            first_position: 101,
            ..Default::default()
        };
        let svg = logo_svg(&m, &opts);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        assert!(texts.contains(&"MA0001.1 <test> & co"));
        assert!(texts.contains(&"bits") && texts.contains(&"2"));
        // 8 px columns: labels every 5 positions, in the given numbering.
        assert!(texts.contains(&"105") && texts.contains(&"110") && !texts.contains(&"101"));
        let svg = logo_svg(
            &m,
            &LogoOptions {
                mode: LogoMode::Probability,
                ..Default::default()
            },
        );
        assert!(svg.contains(">prob.<") && svg.contains(">0.5<"));
    }

    #[test]
    fn degenerate_sizes_do_not_break_the_markup() {
        let m = Ppm::from_seq(&"AC".parse::<DnaSeq>().unwrap());
        for (w, h) in [(f64::NAN, f64::INFINITY), (-1.0, 0.0), (1e9, 1e9)] {
            let svg = logo_svg(
                &m,
                &LogoOptions {
                    width_per_position: w,
                    height: h,
                    ..Default::default()
                },
            );
            assert_eq!(glyphs(&svg).len(), 2);
        }
        let empty = Ppm::uniform(0);
        assert!(glyphs(&logo_svg(&empty, &LogoOptions::default())).is_empty());
    }

    #[test]
    fn alignment_places_targets_at_tomtom_offsets() {
        let query = Ppm::from_seq(&"TTCACGTGAA".parse::<DnaSeq>().unwrap());
        let target = Ppm::from_seq(&"CACGTG".parse::<DnaSeq>().unwrap());
        let tga = Ppm::from_seq(&"GGTTC".parse::<DnaSeq>().unwrap());
        let wide = Ppm::from_seq(&"AAAAAAAAAAAAAAA".parse::<DnaSeq>().unwrap());
        let targets = [
            // Target starts under query column 2.
            AlignedMotif {
                ppm: &target,
                offset: -2,
                strand: Strand::Forward,
                label: "fwd".into(),
            },
            // Reverse: rc(GGTTC) = GAACC starts under query column 8, past the query's end.
            AlignedMotif {
                ppm: &tga,
                offset: -8,
                strand: Strand::Reverse,
                label: "rev".into(),
            },
            // Positive offset: query column 0 sits at target column 3; target starts 3 left.
            AlignedMotif {
                ppm: &wide,
                offset: 3,
                strand: Strand::Forward,
                label: "wide".into(),
            },
        ];
        let opts = LogoOptions::default();
        let svg = alignment_svg(&query, "q", &targets, &opts);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let rows: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("logo-row"))
            .collect();
        assert_eq!(rows.len(), 4);
        // Grid starts 3 columns left of the query (the wide target).
        let col0: Vec<i64> = rows
            .iter()
            .map(|r| r.attribute("data-col0").unwrap().parse().unwrap())
            .collect();
        assert_eq!(col0, [3, 5, 11, 0]);
        let row_glyphs = |i: usize| -> String {
            let mut gs: Vec<(f64, char)> = rows[i]
                .descendants()
                .filter(|n| {
                    n.attribute("class")
                        .is_some_and(|c| c.starts_with("glyph "))
                })
                .map(|n| {
                    let t = n.attribute("transform").unwrap();
                    let x: f64 = t.split(' ').nth(4).unwrap().parse().unwrap();
                    (x, n.attribute("class").unwrap().chars().last().unwrap())
                })
                .collect();
            gs.sort_by(|a, b| a.0.total_cmp(&b.0));
            gs.iter().map(|g| g.1).collect()
        };
        assert_eq!(row_glyphs(1), "CACGTG");
        assert_eq!(row_glyphs(2), "GAACC");
        // Every glyph of the forward target sits exactly under the query glyph it aligns to.
        let xs = |i: usize| -> Vec<f64> {
            let mut v: Vec<f64> = rows[i]
                .descendants()
                .filter_map(|n| n.attribute("transform"))
                .filter_map(|t| t.strip_prefix("matrix("))
                .map(|t| t.split(' ').nth(4).unwrap().parse().unwrap())
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        assert_eq!(&xs(0)[2..8], &xs(1)[..]);
        let width: f64 = doc
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (width - (AXIS_LEFT + 16.0 * 24.0 + 8.0 + 4.0 * LABEL_CHAR_W + RIGHT)).abs() < 1e-9,
            "grid spans -3..13"
        );
    }

    #[test]
    fn strand_round_trip() {
        assert_eq!(Strand::parse("+"), Some(Strand::Forward));
        assert_eq!(Strand::parse("-").unwrap().to_string(), "-");
        assert_eq!(Strand::parse("x"), None);
    }

    proptest! {
        #[test]
        fn column_heights_sum_to_ic(m in neuronmotif_core::testing::ppm(1..40)) {
            let ic = m.ic_bits();
            for (col, stack) in column_stacks(&m, LogoMode::Bits).iter().enumerate() {
                let sum: f64 = stack.iter().map(|&(_, h)| h).sum();
                prop_assert!((sum - ic[col]).abs() < 1e-9);
                prop_assert!(stack.windows(2).all(|w| w[0].1 <= w[1].1));
                prop_assert!(stack.iter().all(|&(_, h)| h > 0.0));
            }
            // And in the drawing, to the 4 decimals of data-height.
            let gs = glyphs(&logo_svg(&m, &LogoOptions::default()));
            let mut sums = vec![0.0; m.width()];
            for g in &gs {
                sums[column(g, 24.0, AXIS_LEFT)] += g.height;
            }
            for col in 0..m.width() {
                prop_assert!((sums[col] - ic[col]).abs() < 2.5e-4, "column {} {} {}", col, sums[col], ic[col]);
            }
        }

        #[test]
        fn probability_columns_sum_to_one(m in neuronmotif_core::testing::ppm(1..20)) {
            for stack in column_stacks(&m, LogoMode::Probability) {
                let sum: f64 = stack.iter().map(|&(_, h)| h).sum();
                prop_assert!((sum - 1.0).abs() < 1e-9);
            }
        }
    }
}
