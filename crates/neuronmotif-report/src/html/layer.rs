//! A layer's pages: the overview (one row per neuron) and, when the layer is too large for one
//! page, detail pages holding the neurons' CRM tables, split by size.

use rayon::prelude::*;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use super::neuron::NeuronInfo;
use super::{create_dir, detail_page_name, layer_page_name, remove_stale_details, ReportOptions};
use crate::glyph::glyph_defs_svg;
use crate::logo::{logo_svg, GlyphRefs, LogoOptions};
use crate::markup::{escape, num, push_escaped, sci};
use crate::page::{self, Script};
use crate::run::{LayerReport, NeuronReport, RunReport};
use crate::{write_atomic, Result};

/// Widest preview logo in the layer overview, in positions.
const PREVIEW_MAX_COLUMNS: usize = 40;

/// CRMs `crms` of neuron `neuron` (an index into [`LayerReport::neurons`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    neuron: usize,
    crms: Range<usize>,
}

/// What one detail page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DetailPage {
    parts: Vec<Part>,
}

/// Split a layer into pages. `sizes[i][j]` is the size of CRM row `j` of neuron `i`. A page
/// takes CRMs in order until the next one would pass `max_bytes` or would start neuron number
/// `max_neurons + 1` on it; a page always takes at least one CRM.
fn paginate(sizes: &[Vec<usize>], max_neurons: usize, max_bytes: usize) -> Vec<DetailPage> {
    let mut pages = Vec::new();
    let mut page = DetailPage::default();
    let mut bytes = 0usize;
    for (i, crms) in sizes.iter().enumerate() {
        for (j, &size) in crms.iter().enumerate() {
            let new_neuron = page.parts.last().is_none_or(|p| p.neuron != i);
            let full = bytes.saturating_add(size) > max_bytes
                || (new_neuron && page.parts.len() >= max_neurons.max(1));
            if !page.parts.is_empty() && full {
                pages.push(std::mem::take(&mut page));
                bytes = 0;
            }
            match page.parts.last_mut() {
                Some(p) if p.neuron == i => p.crms.end = j + 1,
                _ => page.parts.push(Part {
                    neuron: i,
                    crms: j..j + 1,
                }),
            }
            bytes = bytes.saturating_add(size);
        }
    }
    if !page.parts.is_empty() {
        pages.push(page);
    }
    pages
}

/// What a detail page holds, in words: `neuron 5`, `neuron 0 (CRMs 62–131)`,
/// `neurons 3–7`, `neuron 0 (CRMs 421–512), neuron 1 (CRMs 1–17)`.
fn page_description(layer: &LayerReport, page: &DetailPage) -> String {
    let describe = |p: &Part| {
        let (k, total) = layer
            .neurons
            .get(p.neuron)
            .map_or((0, 0), |n| (n.neuron, n.crms.len()));
        if p.crms == (0..total) {
            format!("neuron {k}")
        } else {
            format!("neuron {k} (CRMs {}–{})", p.crms.start + 1, p.crms.end)
        }
    };
    match page.parts.as_slice() {
        [] => String::new(),
        parts @ ([_] | [_, _] | [_, _, _]) => {
            parts.iter().map(describe).collect::<Vec<_>>().join(", ")
        }
        [first, .., last] => {
            let k = |p: &Part| layer.neurons.get(p.neuron).map_or(0, |n| n.neuron);
            format!("neurons {}–{}", k(first), k(last))
        }
    }
}

/// Where an overview row links to.
#[derive(Debug, Clone, Copy)]
struct RowLinks<'a> {
    /// The layer number.
    layer: u32,
    /// The details are on the overview page itself.
    single: bool,
    /// The detail pages holding the neuron's CRMs, in order.
    pages: &'a [usize],
}

impl RunReport {
    /// Write the overview page of a layer and, when it does not fit on one page, its detail
    /// pages.
    pub(super) fn write_layer(
        &self,
        pages_dir: &Path,
        layer: &LayerReport,
        opts: &ReportOptions,
    ) -> Result<()> {
        // Pass 1 measures every CRM row; pass 2 renders page by page. Rendering twice keeps
        // memory at one page whatever the layer's size.
        let sizes: Vec<Vec<usize>> = layer
            .neurons
            .par_iter()
            .map(|n| {
                let routes = n.crms.iter().any(|c| c.route_offset_bp.is_some());
                n.crms
                    .iter()
                    .map(|c| self.crm_row(layer, n.neuron, c, routes, opts).len())
                    .collect()
            })
            .collect();
        let pages = paginate(&sizes, opts.neurons_per_page, opts.page_bytes);
        let single = pages.len() <= 1;
        let detail_dir = pages_dir.join(format!("layer{}", layer.layer));
        if !single {
            create_dir(&detail_dir)?;
            // pages in parallel: each thread holds one page at a time
            (0..pages.len()).into_par_iter().try_for_each(|p| {
                let html = self.detail_page(layer, p, &pages, opts);
                write_atomic(
                    &pages_dir.join(detail_page_name(layer.layer, p)),
                    html.as_bytes(),
                )
            })?;
        }
        remove_stale_details(&detail_dir, if single { 0 } else { pages.len() })?;
        let html = self.overview_page(layer, &pages, opts);
        write_atomic(
            &pages_dir.join(layer_page_name(layer.layer)),
            html.as_bytes(),
        )
    }

    /// The first lines of a layer page: glyph outlines, heading and facts.
    fn push_layer_head(
        &self,
        out: &mut String,
        layer: &LayerReport,
        heading: &str,
        opts: &ReportOptions,
    ) {
        let n = layer.layer;
        if let GlyphRefs::Shared { id_prefix } = &opts.glyphs {
            out.push_str(&glyph_defs_svg(id_prefix));
        }
        out.push_str("<h1>");
        push_escaped(out, heading);
        out.push_str("</h1><p class=\"sub\">");
        let ml = self.summary.model_layer(n);
        let mut facts = Vec::new();
        if let Some(rf) = ml.and_then(|m| m.rf) {
            facts.push(format!("receptive field {rf} bp"));
        }
        if let Some(sh) = ml.and_then(|m| m.shifts) {
            facts.push(format!(
                "{sh} shift state{}",
                if sh == 1 { "" } else { "s" }
            ));
        }
        let k = layer.neurons.len();
        facts.push(format!(
            "{k} neuron{} with CRMs",
            if k == 1 { "" } else { "s" }
        ));
        facts.push(format!("{} CRMs", layer.crm_count()));
        if layer.has_segments || layer.has_matches {
            let (all, matched) = layer.segment_counts();
            facts.push(if layer.has_matches {
                format!("{matched} of {all} segments matched")
            } else {
                format!("{all} segments")
            });
        }
        push_escaped(out, &facts.join(" · "));
        out.push_str("</p>");
    }

    fn push_controls(out: &mut String, sections: bool) {
        out.push_str(
            "<div class=\"controls\"><input type=\"search\" id=\"filter\" \
             placeholder=\"Filter: n12, CRM id, motif id or name (e.g. CTCF)\" \
             aria-label=\"Filter\"><label><input type=\"checkbox\" id=\"matched-only\"> \
             only matched</label>",
        );
        if sections {
            out.push_str(
                "<button type=\"button\" id=\"expand\">Expand all</button>\
                 <button type=\"button\" id=\"collapse\">Collapse all</button>",
            );
        }
        out.push_str("<span id=\"count\"></span></div>");
    }

    /// A layer's page: one row per neuron (its best CRM as a small logo, its best matches, a
    /// link to its details), then the details themselves when the layer fits on one page.
    fn overview_page(
        &self,
        layer: &LayerReport,
        pages: &[DetailPage],
        opts: &ReportOptions,
    ) -> String {
        let n = layer.layer;
        let single = pages.len() <= 1;
        let mut out = String::with_capacity(64 * 1024 + layer.neurons.len() * 2048);
        page::open(
            &mut out,
            &format!("layer {n} · neuronmotif report"),
            &self.nav(Some(n), 1),
        );
        self.push_layer_head(&mut out, layer, &format!("Layer {n}"), opts);
        out.push_str(
            "<p class=\"sub\">One row per neuron; its CRMs are sorted by act_max. Logos show \
             information content (bits); columns near 0 bits are blank. Matches are aligned as \
             Tomtom aligned them; “−” targets are drawn as their reverse complement.</p>",
        );
        // The pages holding each neuron's CRMs, in order.
        let mut neuron_pages: Vec<Vec<usize>> = vec![Vec::new(); layer.neurons.len()];
        for (p, page) in pages.iter().enumerate() {
            for part in &page.parts {
                if let Some(list) = neuron_pages.get_mut(part.neuron) {
                    list.push(p);
                }
            }
        }
        if !single {
            out.push_str("<p class=\"pages\">Detail pages: ");
            for (p, page) in pages.iter().enumerate() {
                let _ = write!(
                    out,
                    "<a href=\"{}\" title=\"{}\">{}</a> ",
                    detail_page_name(n, p),
                    escape(&page_description(layer, page)),
                    p + 1
                );
            }
            out.push_str("</p>");
        }
        Self::push_controls(&mut out, single);
        // A grid of rows rather than a table: `content-visibility: auto` (which skips the layout
        // and painting of rows off screen) does not apply to table rows.
        let _ = write!(
            out,
            "<div class=\"overview\" role=\"table\"><div class=\"orow head\" role=\"row\">\
             <span role=\"columnheader\">neuron</span><span class=\"num\" role=\"columnheader\">CRMs</span>\
             <span class=\"num\" role=\"columnheader\">act_max</span>\
             <span role=\"columnheader\">best matches (q)</span>\
             <span role=\"columnheader\">best CRM, informative part</span>\
             <span role=\"columnheader\">{}</span></div>",
            if single { "" } else { "pages" }
        );
        for (i, neuron) in layer.neurons.iter().enumerate() {
            let on_pages = neuron_pages.get(i).map_or(&[][..], Vec::as_slice);
            let links = RowLinks {
                layer: n,
                single,
                pages: on_pages,
            };
            self.push_overview_row(&mut out, layer, neuron, &links, opts);
        }
        out.push_str("</div>");
        if single {
            out.push_str("<h2>Neurons</h2><div id=\"neurons\">");
            for neuron in &layer.neurons {
                out.push_str(&self.neuron_part(layer, neuron, 0..neuron.crms.len(), opts));
            }
            out.push_str("</div>");
        }
        page::close(&mut out, Script::Layer);
        out
    }

    /// One overview row.
    fn push_overview_row(
        &self,
        out: &mut String,
        layer: &LayerReport,
        neuron: &NeuronReport,
        links: &RowLinks<'_>,
        opts: &ReportOptions,
    ) {
        let RowLinks {
            layer: n,
            single,
            pages,
        } = *links;
        let k = neuron.neuron;
        let href = match (single, pages.first()) {
            (false, Some(&p)) => format!("{}#n{k}", detail_page_name(n, p)),
            _ => format!("#n{k}"),
        };
        let info = NeuronInfo::of(layer, neuron);
        let _ = write!(
            out,
            "<div class=\"orow\" role=\"row\" id=\"r{k}\" data-neuron=\"{k}\" data-q=\"{}\"{}>\
             <span role=\"cell\"><a href=\"{}\">neuron {k}</a></span>\
             <span class=\"num\" role=\"cell\">{}</span><span class=\"num\" role=\"cell\">{}</span>\
             <span class=\"tfs\" role=\"cell\">",
            escape(&info.search),
            if info.best.is_empty() {
                ""
            } else {
                " data-matched"
            },
            escape(&href),
            neuron.crms.len(),
            neuron
                .crms
                .first()
                .map(|c| num(c.act_max, 4))
                .unwrap_or_default(),
        );
        let best: Vec<String> = info
            .best
            .iter()
            .take(3)
            .map(|(name, q)| match q {
                Some(q) => format!("{name} ({})", sci(*q)),
                None => name.clone(),
            })
            .collect();
        push_escaped(out, &best.join(", "));
        if info.best.len() > 3 {
            let _ = write!(out, " +{}", info.best.len() - 3);
        }
        out.push_str("</span><span class=\"preview\" role=\"cell\">");
        if let Some(svg) = preview_svg(neuron, opts) {
            out.push_str(&svg);
        }
        out.push_str("</span><span role=\"cell\">");
        if !single {
            // Every page for a few; the first eight and the last for many.
            let shown: Vec<Option<usize>> = if pages.len() <= 10 {
                pages.iter().copied().map(Some).collect()
            } else {
                let mut v: Vec<Option<usize>> = pages[..8].iter().copied().map(Some).collect();
                v.push(None);
                v.push(pages.last().copied());
                v
            };
            for p in shown {
                match p {
                    Some(p) => {
                        let _ =
                            write!(out, "<a href=\"{}\">{}</a> ", detail_page_name(n, p), p + 1);
                    }
                    None => out.push_str("… "),
                }
            }
        }
        out.push_str("</span></div>");
    }

    /// Detail page `p` of a layer.
    fn detail_page(
        &self,
        layer: &LayerReport,
        p: usize,
        pages: &[DetailPage],
        opts: &ReportOptions,
    ) -> String {
        let n = layer.layer;
        let empty = DetailPage::default();
        let page = pages.get(p).unwrap_or(&empty);
        let mut out = String::with_capacity(opts.page_bytes.min(1 << 26) + 64 * 1024);
        let title = format!("Layer {n}, {}", page_description(layer, page));
        page::open(
            &mut out,
            &format!("{title} · neuronmotif report"),
            &self.nav(Some(n), 2),
        );
        self.push_layer_head(&mut out, layer, &title, opts);
        let _ = write!(
            out,
            "<p class=\"pages\"><a href=\"../{}\">all neurons of layer {n}</a> · page {} of {}",
            layer_page_name(n),
            p + 1,
            pages.len()
        );
        if p > 0 {
            let _ = write!(out, " · <a href=\"p{p}.html\">previous</a>");
        }
        if p + 1 < pages.len() {
            let _ = write!(out, " · <a href=\"p{}.html\">next</a>", p + 2);
        }
        out.push_str("</p>");
        Self::push_controls(&mut out, true);
        out.push_str("<div id=\"neurons\">");
        for part in &page.parts {
            if let Some(neuron) = layer.neurons.get(part.neuron) {
                out.push_str(&self.neuron_part(layer, neuron, part.crms.clone(), opts));
            }
        }
        out.push_str("</div>");
        page::close(&mut out, Script::Layer);
        out
    }
}

/// A small logo of the neuron's best CRM, cut to what is informative: the span of its
/// segments, or else the positions between the first and last column of at least 0.5 bits;
/// at most [`PREVIEW_MAX_COLUMNS`] positions. `None` when nothing is informative.
fn preview_svg(neuron: &NeuronReport, opts: &ReportOptions) -> Option<String> {
    let crm = neuron.crms.first()?;
    let range = match (
        crm.segments.iter().map(|s| s.start).min(),
        crm.segments.iter().map(|s| s.end).max(),
    ) {
        (Some(start), Some(end)) => start..end,
        _ => crm.ppm.trim_range(0.5)?,
    };
    let end = range.end.min(range.start + PREVIEW_MAX_COLUMNS);
    let ppm = crm.ppm.slice(range.start..end).ok()?;
    Some(logo_svg(
        &ppm,
        &LogoOptions {
            width_per_position: 8.0,
            height: 26.0,
            show_axis: false,
            min_glyph_px: 1.0,
            glyphs: opts.glyphs.clone(),
            ..LogoOptions::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(pages: &[DetailPage]) -> Vec<Vec<(usize, Range<usize>)>> {
        pages
            .iter()
            .map(|p| p.parts.iter().map(|x| (x.neuron, x.crms.clone())).collect())
            .collect()
    }

    #[test]
    fn pages_fill_by_neurons_and_bytes() {
        // Three neurons of 2, 1 and 3 CRMs of 10 bytes each.
        let sizes = vec![vec![10, 10], vec![10], vec![10, 10, 10]];
        assert_eq!(
            parts(&paginate(&sizes, 10, 1000)),
            [vec![(0, 0..2), (1, 0..1), (2, 0..3)]]
        );
        assert_eq!(
            parts(&paginate(&sizes, 2, 1000)),
            [vec![(0, 0..2), (1, 0..1)], vec![(2, 0..3)]]
        );
        // 25 bytes a page: neurons are split between CRMs.
        assert_eq!(
            parts(&paginate(&sizes, 10, 25)),
            [vec![(0, 0..2)], vec![(1, 0..1), (2, 0..1)], vec![(2, 1..3)]]
        );
        // A CRM larger than a page gets a page of its own.
        assert_eq!(
            parts(&paginate(&[vec![5, 100, 5]], 10, 20)),
            [vec![(0, 0..1)], vec![(0, 1..2)], vec![(0, 2..3)]]
        );
        assert!(paginate(&[], 10, 10).is_empty());
        // Zero limits still make progress.
        assert_eq!(paginate(&sizes, 0, 0).len(), 6);
    }
}
