//! One neuron's details: a collapsible section with a table of its CRMs (logo, statistics,
//! route offset), each CRM's segments and their matches aligned under them.

use std::fmt::Write as _;
use std::ops::Range;

use super::{ReportOptions, REPORT_MIN_GLYPH_PX};
use crate::logo::{alignment_svg, logo_svg, AlignedMotif, LogoOptions};
use crate::markup::{escape, id_safe, num, push_escaped, sci};
use crate::run::{CrmReport, LayerReport, NeuronReport, RunReport, SegmentReport};

/// What a neuron's summary line and overview row show, and what the filter searches.
pub(super) struct NeuronInfo {
    /// Lower-case search text: `n<k>`, CRM ids, matched target ids and names.
    pub(super) search: String,
    /// Matched database motifs (name, or id without a name), best p-value first, each once,
    /// with the q-value of that best match.
    pub(super) best: Vec<(String, Option<f64>)>,
}

impl NeuronInfo {
    pub(super) fn of(layer: &LayerReport, neuron: &NeuronReport) -> NeuronInfo {
        let mut search = format!("n{}", neuron.neuron);
        let mut all: Vec<(f64, String, Option<f64>)> = Vec::new();
        for crm in &neuron.crms {
            search.push(' ');
            search.push_str(&crm.id);
            for m in crm.segments.iter().flat_map(|s| &s.matches) {
                search.push(' ');
                search.push_str(&m.target_id);
                let name = layer.targets.get(&m.target_id).and_then(|t| t.name.clone());
                if let Some(name) = &name {
                    search.push(' ');
                    search.push_str(name);
                }
                all.push((
                    m.p_value,
                    name.unwrap_or_else(|| m.target_id.clone()),
                    m.q_value,
                ));
            }
        }
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best: Vec<(String, Option<f64>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (_, name, q) in all {
            if seen.insert(name.clone()) {
                best.push((name, q));
            }
        }
        NeuronInfo {
            search: search.to_lowercase(),
            best,
        }
    }
}

/// Lower-case search text of one CRM: its id, matched target ids and names.
fn crm_search(layer: &LayerReport, crm: &CrmReport) -> String {
    let mut q = crm.id.clone();
    for m in crm.segments.iter().flat_map(|s| &s.matches) {
        q.push(' ');
        q.push_str(&m.target_id);
        if let Some(name) = layer
            .targets
            .get(&m.target_id)
            .and_then(|t| t.name.as_deref())
        {
            q.push(' ');
            q.push_str(name);
        }
    }
    q.to_lowercase()
}

/// Links to database pages are kept only for http(s) URLs (a `javascript:` URL in a motif file
/// must not become a link).
fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Whether a neuron's table has the route column (some CRM has a `routes.tsv` row).
fn has_routes(neuron: &NeuronReport) -> bool {
    neuron.crms.iter().any(|c| c.route_offset_bp.is_some())
}

impl RunReport {
    /// CRMs `range` of a neuron as one `<details>` section: summary line, then the table of
    /// those CRMs. A neuron split over pages has one section per page; the first has id
    /// `n<k>`, the others `n<k>-c<first CRM, 1-based>`.
    pub(super) fn neuron_part(
        &self,
        layer: &LayerReport,
        neuron: &NeuronReport,
        range: Range<usize>,
        opts: &ReportOptions,
    ) -> String {
        let k = neuron.neuron;
        let total = neuron.crms.len();
        let range = range.start.min(total)..range.end.min(total);
        let whole = range == (0..total);
        let info = NeuronInfo::of(layer, neuron);
        let mut out = String::with_capacity(16 * 1024);
        let id = if range.start == 0 {
            format!("n{k}")
        } else {
            format!("n{k}-c{}", range.start + 1)
        };
        let _ = write!(
            out,
            "<details class=\"neuron\" id=\"{id}\" data-neuron=\"{k}\" open><summary>\
             <span class=\"nid\">neuron {k}</span><span class=\"meta\">{total} CRM{} · act_max {}",
            if total == 1 { "" } else { "s" },
            neuron
                .crms
                .first()
                .map(|c| num(c.act_max, 4))
                .unwrap_or_default(),
        );
        if !whole {
            let _ = write!(out, " · CRMs {}–{} here", range.start + 1, range.end);
        }
        out.push_str("</span>");
        if !info.best.is_empty() {
            out.push_str("<span class=\"tfs\">");
            let shown: Vec<&str> = info.best.iter().take(4).map(|(n, _)| n.as_str()).collect();
            push_escaped(&mut out, &shown.join(" · "));
            if info.best.len() > 4 {
                let _ = write!(out, " +{}", info.best.len() - 4);
            }
            out.push_str("</span>");
        }
        out.push_str("</summary><div class=\"body\">");
        let routes = has_routes(neuron);
        // A grid of rows rather than a table: a table sizes its columns from every cell, so the
        // browser would lay out every logo of the page before showing any; grid rows with
        // `content-visibility: auto` are laid out when they come into view.
        let _ = write!(
            out,
            "<div class=\"crms{}\" role=\"table\"><div class=\"crow head\" role=\"row\">\
             <span role=\"columnheader\">CRM</span><span class=\"num\" role=\"columnheader\">shift</span>",
            if routes { " routes" } else { "" }
        );
        if routes {
            out.push_str(
                "<span class=\"num\" role=\"columnheader\" title=\"routes.tsv: where the strongest \
                 route of the CRM&#39;s samples enters the receptive field (bp), and the share of \
                 samples that take it\">offset (bp)</span>",
            );
        }
        out.push_str(
            "<span class=\"num\" role=\"columnheader\">n</span>\
             <span class=\"num\" role=\"columnheader\">act_max</span>\
             <span class=\"num\" role=\"columnheader\">conact</span>\
             <span role=\"columnheader\">logo, segments and matches</span></div>",
        );
        for crm in neuron.crms.get(range.clone()).unwrap_or(&[]) {
            out.push_str(&self.crm_row(layer, k, crm, routes, opts));
        }
        out.push_str("</div>");
        if range.end < total {
            let _ = write!(
                out,
                "<p class=\"meta\">CRMs {}–{total} of neuron {k} continue on the next page.</p>",
                range.end + 1
            );
        }
        out.push_str("</div></details>\n");
        out
    }

    /// One CRM as a grid row: id, shift, route offset, n, act_max, conact, then the logo, the
    /// consensus and the segments.
    pub(super) fn crm_row(
        &self,
        layer: &LayerReport,
        neuron: u32,
        crm: &CrmReport,
        routes: bool,
        opts: &ReportOptions,
    ) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let matched = crm.segments.iter().any(|s| !s.matches.is_empty());
        let _ = write!(
            out,
            "<div class=\"crow crm\" role=\"row\" id=\"{}\" data-neuron=\"{neuron}\" data-q=\"{}\"{}>\
             <span role=\"cell\"><code>{}</code></span><span class=\"num\" role=\"cell\">{}</span>",
            id_safe(&crm.id),
            escape(&crm_search(layer, crm)),
            if matched { " data-matched" } else { "" },
            escape(&crm.id),
            crm.shift
        );
        if routes {
            out.push_str("<span class=\"num\" role=\"cell\">");
            if let Some(off) = crm.route_offset_bp {
                let _ = write!(out, "{off}");
                if let Some(p) = crm.route_purity {
                    let _ = write!(out, " <span class=\"meta\">({}%)</span>", num(p * 100.0, 0));
                }
            }
            out.push_str("</span>");
        }
        let _ = write!(
            out,
            "<span class=\"num\" role=\"cell\">{}</span><span class=\"num\" role=\"cell\">{}</span>\
             <span class=\"num\" role=\"cell\">{}</span><div class=\"logo\" role=\"cell\">",
            crm.n_samples,
            num(crm.act_max, 4),
            num(crm.consensus_act, 4)
        );
        self.push_crm_cell(&mut out, layer, crm, opts);
        out.push_str("</div></div>");
        out
    }

    fn push_crm_cell(
        &self,
        out: &mut String,
        layer: &LayerReport,
        crm: &CrmReport,
        opts: &ReportOptions,
    ) {
        let w = crm.ppm.width().max(1) as f64;
        let max_w = if opts.max_logo_width.is_finite() {
            opts.max_logo_width
        } else {
            720.0
        };
        let logo = LogoOptions {
            width_per_position: (max_w / w).clamp(4.0, 16.0),
            height: opts.logo_height,
            min_glyph_px: REPORT_MIN_GLYPH_PX,
            glyphs: opts.glyphs.clone(),
            ..LogoOptions::default()
        };
        out.push_str("<div class=\"scroll\">");
        out.push_str(&logo_svg(&crm.ppm, &logo));
        let _ = write!(
            out,
            "</div><div class=\"meta\">consensus <code>{}</code></div>",
            escape(&crm.consensus)
        );
        if crm.segments.is_empty() {
            if layer.has_segments {
                out.push_str("<div class=\"none\">no informative segment</div>");
            }
            return;
        }
        for seg in &crm.segments {
            self.push_segment(out, layer, seg, opts);
        }
    }

    fn push_segment(
        &self,
        out: &mut String,
        layer: &LayerReport,
        seg: &SegmentReport,
        opts: &ReportOptions,
    ) {
        let _ = write!(
            out,
            "<div class=\"segment\"><div class=\"seg-head\">segment <code>{}</code>: positions {}–{}</div>",
            escape(&seg.id),
            seg.start + 1,
            seg.end
        );
        let shown: Vec<_> = seg.matches.iter().take(opts.matches_per_segment).collect();
        if !layer.has_matches {
            out.push_str("</div>");
            return;
        }
        if shown.is_empty() {
            out.push_str("<div class=\"none\">no database match passed the threshold</div></div>");
            return;
        }
        let aligned: Vec<AlignedMotif<'_>> = shown
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let t = layer.targets.get(&m.target_id)?;
                let name = t
                    .name
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                Some(AlignedMotif {
                    ppm: &t.ppm,
                    offset: m.offset,
                    strand: m.strand,
                    label: format!("#{} {}{name} ({})", i + 1, m.target_id, m.strand),
                })
            })
            .collect();
        if !aligned.is_empty() {
            let logo = LogoOptions {
                width_per_position: opts.alignment_width_per_position,
                height: (opts.logo_height * 0.75).max(8.0),
                min_glyph_px: REPORT_MIN_GLYPH_PX,
                first_position: i64::try_from(seg.start).map_or(1, |s| s.saturating_add(1)),
                glyphs: opts.glyphs.clone(),
                ..LogoOptions::default()
            };
            out.push_str("<div class=\"scroll\">");
            out.push_str(&alignment_svg(&seg.ppm, "segment", &aligned, &logo));
            out.push_str("</div>");
        }
        out.push_str(
            "<table class=\"matches\"><thead><tr><th>#</th><th>target</th><th>name</th>\
             <th>strand</th><th class=\"num\">offset</th><th class=\"num\">overlap</th>\
             <th class=\"num\">p</th><th class=\"num\">E</th><th class=\"num\">q</th></tr></thead><tbody>",
        );
        for (i, m) in shown.iter().enumerate() {
            let t = layer.targets.get(&m.target_id);
            out.push_str("<tr><td>");
            let _ = write!(out, "{}</td><td><code>", i + 1);
            match t.and_then(|t| t.url.as_deref()).filter(|u| is_web_url(u)) {
                Some(url) => {
                    let _ = write!(
                        out,
                        "<a href=\"{}\">{}</a>",
                        escape(url),
                        escape(&m.target_id)
                    );
                }
                None => push_escaped(out, &m.target_id),
            }
            out.push_str("</code></td><td>");
            push_escaped(out, t.and_then(|t| t.name.as_deref()).unwrap_or(""));
            let _ = write!(
                out,
                "</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                m.strand,
                m.offset,
                m.overlap,
                sci(m.p_value),
                sci(m.e_value),
                m.q_value.map(sci).unwrap_or_else(|| "NA".into())
            );
        }
        out.push_str("</tbody></table>");
        if seg.matches.len() > shown.len() {
            let _ = write!(
                out,
                "<div class=\"meta\">{} more in matches.tsv</div>",
                seg.matches.len() - shown.len()
            );
        }
        out.push_str("</div>");
    }
}
