//! `index.html`: the run summary, one line per layer, the parameters.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::{layer_page_name, PAGES_DIR};
use crate::markup::{escape, push_escaped, sci};
use crate::page::{self, Script};
use crate::run::{LayerReport, RunReport};

impl RunReport {
    pub(super) fn index_page(&self) -> String {
        let s = &self.summary;
        let mut out = String::with_capacity(16 * 1024);
        page::open(&mut out, "neuronmotif report", &self.nav(None, 0));
        out.push_str("<h1>neuronmotif report</h1><p class=\"sub\">");
        let model_path = s.model.as_ref().and_then(|m| m.path.as_deref());
        push_escaped(&mut out, model_path.unwrap_or("model not recorded"));
        if let Some(status) = &s.status {
            out.push_str(" · ");
            push_escaped(&mut out, status);
        }
        out.push_str("</p>");

        out.push_str("<h2>Run</h2><dl class=\"kv\">");
        let model = s.model.as_ref();
        let mut kv = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
            }
        };
        kv("model", model_path.map(str::to_owned));
        kv("alphabet", model.and_then(|m| m.alphabet.clone()));
        kv(
            "conv layers",
            model.and_then(|m| m.conv_layers).map(|n| n.to_string()),
        );
        kv(
            "model parameters",
            model.and_then(|m| m.other.get("parameters")).map(json_text),
        );
        kv("layers run", s.layers.as_ref().map(json_text));
        kv("neurons", s.neurons.as_ref().map(json_text));
        kv("motif_nb", s.motif_nb.as_ref().map(json_text));
        kv("database", s.db.clone());
        kv("seed", s.seed.map(|v| v.to_string()));
        kv("threads", s.threads.map(|v| v.to_string()));
        kv("total time", s.total_s.map(seconds));
        kv("neuronmotif", s.neuronmotif_version.clone());
        kv("status", s.status.clone());
        out.push_str("</dl>");

        out.push_str("<h2>Layers</h2><table class=\"layers\"><thead><tr><th>layer</th><th>name</th>\
            <th class=\"num\">RF (bp)</th><th class=\"num\">shifts</th><th class=\"num\">neurons</th>\
            <th class=\"num\">CRMs</th><th class=\"num\">segments matched</th><th>motif_nb</th>\
            <th class=\"num\">samples</th><th class=\"num\">sampling</th><th class=\"num\">decoupling</th>\
            <th class=\"num\">matching</th><th class=\"num\">wall</th><th>most matched</th></tr></thead><tbody>");
        let mut numbers: Vec<u32> = self.layers.iter().map(|l| l.layer).collect();
        numbers.extend(s.results.iter().map(|r| r.layer));
        numbers.extend(
            model
                .map(|m| m.layers.iter().map(|l| l.layer).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        numbers.extend(&self.unfinished_layers);
        numbers.sort_unstable();
        numbers.dedup();
        for n in numbers {
            let ml = s.model_layer(n);
            let res = s.result(n);
            let layer = self.layers.iter().find(|l| l.layer == n);
            out.push_str("<tr><td>");
            match layer {
                Some(_) => {
                    let _ = write!(
                        out,
                        "<a href=\"{PAGES_DIR}/{}\">layer {n}</a>",
                        layer_page_name(n)
                    );
                }
                None if self.unfinished_layers.contains(&n) => {
                    let _ = write!(out, "layer {n} <span class=\"meta\">(unfinished)</span>");
                }
                None => {
                    let _ = write!(out, "layer {n} <span class=\"meta\">(not run)</span>");
                }
            }
            out.push_str("</td><td>");
            push_escaped(&mut out, ml.and_then(|m| m.name.as_deref()).unwrap_or(""));
            let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            let rf = ml.and_then(|m| m.rf).or(res.and_then(|r| r.rf));
            let neurons = match (layer, ml.and_then(|m| m.neurons)) {
                (Some(l), Some(total)) => format!("{} / {total}", l.neurons.len()),
                (Some(l), None) => l.neurons.len().to_string(),
                (None, t) => opt(t),
            };
            let crms = layer
                .map(|l| l.crm_count() as u64)
                .or(res.and_then(|r| r.crms));
            let segs = match layer {
                Some(l) if l.has_matches => {
                    let (all, matched) = l.segment_counts();
                    format!("{matched} / {all}")
                }
                Some(l) if l.has_segments => format!("– / {}", l.segment_counts().0),
                _ => String::new(),
            };
            let _ = write!(
                out,
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>",
                opt(rf),
                opt(ml.and_then(|m| m.shifts)),
                neurons,
                opt(crms),
                segs,
                escape(&res.and_then(|r| r.motif_nb.as_ref()).map(json_text).unwrap_or_default()),
                opt(res.and_then(|r| r.samples)),
            );
            for t in [
                res.and_then(|r| r.sampling_s),
                res.and_then(|r| r.decoupling_s),
                res.and_then(|r| r.matching_s),
                res.and_then(|r| r.wall_s),
            ] {
                let _ = write!(
                    out,
                    "<td class=\"num\">{}</td>",
                    t.map(seconds).unwrap_or_default()
                );
            }
            out.push_str("<td>");
            if let Some(l) = layer {
                push_escaped(&mut out, &most_matched(l, 6));
            }
            out.push_str("</td></tr>");
        }
        out.push_str("</tbody></table>");
        out.push_str(
            "<p class=\"sub\">“segments matched”: informative CRM segments with at least one \
             database match / all segments. “most matched”: database motifs by the number of \
             neurons whose segments match them best.</p>",
        );

        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(v) = &s.sampler {
            flatten_json("sampler", v, &mut params);
        }
        if let Some(v) = &s.decouple {
            flatten_json("decouple", v, &mut params);
        }
        for (k, v) in &s.other {
            flatten_json(k, v, &mut params);
        }
        if let Some(m) = model {
            for (k, v) in m.other.iter().filter(|(k, _)| *k != "parameters") {
                flatten_json(&format!("model.{k}"), v, &mut params);
            }
        }
        for r in &s.results {
            if let Some(t) = &r.motif_nb_tried {
                flatten_json(&format!("layer {}.motif_nb_tried", r.layer), t, &mut params);
            }
            for (k, v) in &r.other {
                flatten_json(&format!("layer {}.{k}", r.layer), v, &mut params);
            }
        }
        if !params.is_empty() {
            out.push_str("<h2>Parameters</h2><dl class=\"kv\">");
            for (k, v) in params {
                let _ = write!(
                    out,
                    "<dt>{}</dt><dd><code>{}</code></dd>",
                    escape(&k),
                    escape(&v)
                );
            }
            out.push_str("</dl>");
        }
        page::close(&mut out, Script::None);
        out
    }
}

/// The database motifs that are the best match of the most neurons, as `NAME (k)`; ties go
/// to the motif that is the best match of more segments, then by name.
fn most_matched(layer: &LayerReport, top: usize) -> String {
    // name -> (neurons, segments)
    let mut per_target: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for neuron in &layer.neurons {
        let mut seen: Vec<&str> = Vec::new();
        for seg in neuron.crms.iter().flat_map(|c| &c.segments) {
            if let Some(m) = seg.matches.first() {
                let label = layer
                    .targets
                    .get(&m.target_id)
                    .and_then(|t| t.name.as_deref())
                    .unwrap_or(&m.target_id);
                let entry = per_target.entry(label).or_default();
                entry.1 += 1;
                if !seen.contains(&label) {
                    seen.push(label);
                    entry.0 += 1;
                }
            }
        }
    }
    let mut counts: Vec<(&str, (usize, usize))> = per_target.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    counts
        .iter()
        .take(top)
        .map(|(name, (k, _))| format!("{name} ({k})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn seconds(s: f64) -> String {
    if !s.is_finite() {
        return "NA".into();
    }
    if s >= 3600.0 {
        format!(
            "{}h {:02}m",
            (s / 3600.0).floor(),
            ((s % 3600.0) / 60.0).floor()
        )
    } else if s >= 60.0 {
        format!("{}m {:02}s", (s / 60.0).floor(), (s % 60.0).floor())
    } else if s >= 1.0 {
        format!("{} s", sci(s))
    } else {
        format!("{} ms", sci(s * 1e3))
    }
}

/// A JSON value as short text: strings without quotes, arrays of scalars as `1, 2, 3`,
/// everything else compact JSON.
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            items.iter().map(json_text).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// `prefix.key = value` lines for every scalar or array under an object.
fn flatten_json(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten_json(&format!("{prefix}.{k}"), v, out);
            }
        }
        other => out.push((prefix.to_owned(), json_text(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_json_values_read_well() {
        assert_eq!(seconds(0.00023), "0.23 ms");
        assert_eq!(seconds(0.5), "500 ms");
        assert_eq!(seconds(12.3), "12.3 s");
        assert_eq!(seconds(75.0), "1m 15s");
        assert_eq!(seconds(7300.0), "2h 01m");
        assert_eq!(seconds(f64::NAN), "NA");
        assert_eq!(json_text(&serde_json::json!([1, 2, 3])), "1, 2, 3");
        assert_eq!(json_text(&serde_json::json!("all")), "all");
        assert_eq!(
            json_text(&serde_json::json!({"auto": {"max": 3}})),
            "{\"auto\":{\"max\":3}}"
        );
        let mut out = Vec::new();
        flatten_json(
            "s",
            &serde_json::json!({"a": 1, "b": {"c": [1, 2]}}),
            &mut out,
        );
        assert_eq!(
            out,
            [
                ("s.a".to_owned(), "1".to_owned()),
                ("s.b.c".to_owned(), "1, 2".to_owned())
            ]
        );
    }
}
