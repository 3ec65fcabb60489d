//! Progress bars (indicatif) for `neuronmotif run`, driven by the library's progress hooks.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuronmotif::cnn::Model;
use neuronmotif::sample::Progress;
use neuronmotif::{LayerSummary, PipelineProgress, RunSummary};

/// One bar per layer (neurons done, with rate and ETA) and a status line.
pub struct Bars {
    multi: MultiProgress,
    layer: Mutex<Option<ProgressBar>>,
    quiet: bool,
    /// Printed before the first layer event (so a run that fails early prints only its error).
    header: std::sync::Once,
    model_line: String,
}

impl Bars {
    pub fn new(quiet: bool, model: &Model) -> Bars {
        let multi = if quiet {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let model_line = format!(
            "model: {} conv layers, {} parameters, alphabet {}",
            model.conv_count(),
            model.parameter_count(),
            model.alphabet()
        );
        Bars {
            multi,
            layer: Mutex::new(None),
            quiet,
            header: std::sync::Once::new(),
            model_line,
        }
    }

    pub fn finish(&self) {
        if let Ok(mut g) = self.layer.lock() {
            if let Some(b) = g.take() {
                b.finish_and_clear();
            }
        }
    }

    /// A message line: above the bars on a terminal, plain stderr lines in logs and pipes
    /// (where indicatif hides its output).
    fn println(&self, s: String) {
        if self.quiet {
            return;
        }
        if self.multi.is_hidden() {
            eprintln!("{s}");
        } else {
            let _ = self.multi.println(s);
        }
    }
}

impl Progress for Bars {
    fn neuron_finished(&self, _layer: usize, _neuron: usize, _crms: usize) {
        if let Ok(g) = self.layer.lock() {
            if let Some(b) = g.as_ref() {
                b.inc(1);
            }
        }
    }
}

impl PipelineProgress for Bars {
    fn layer_started(&self, layer: usize, neurons: usize, resumed: usize) {
        self.header
            .call_once(|| self.println(self.model_line.clone()));
        let bar = self.multi.add(ProgressBar::new(neurons as u64));
        bar.set_style(
            ProgressStyle::with_template(
                "layer {msg:>3} [{bar:30}] {pos}/{len} neurons  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(layer.to_string());
        bar.enable_steady_tick(Duration::from_millis(250));
        if resumed > 0 {
            self.println(format!(
                "layer {layer}: resuming, {resumed} of {neurons} neurons already sampled"
            ));
        }
        if let Ok(mut g) = self.layer.lock() {
            *g = Some(bar);
        }
    }

    fn layer_skipped(&self, layer: usize) {
        self.header
            .call_once(|| self.println(self.model_line.clone()));
        self.println(format!(
            "layer {layer}: complete in the run directory, skipped"
        ));
    }

    fn matching(&self, layer: usize, segments: usize) {
        if let Ok(g) = self.layer.lock() {
            if let Some(b) = g.as_ref() {
                b.set_message(format!("{layer} (matching {segments} segments)"));
            }
        }
    }

    fn waiting(&self, layer: usize, what: &str) {
        // a line, not a bar message: cluster jobs log to files, where bars are hidden
        if layer == 0 {
            self.println(format!("waiting for {what}"));
        } else {
            self.println(format!("layer {layer}: waiting for {what}"));
        }
    }

    fn layer_from_leader(&self, layer: usize) {
        self.finish();
        self.println(format!(
            "layer {layer}: this shard's neurons done; layer written by shard 0"
        ));
    }

    fn layer_finished(&self, s: &LayerSummary) {
        self.finish();
        self.println(format!(
            "layer {}: {} neurons, {} CRMs (motif_nb {}), {} samples, {} segments ({} matched), {:.1} s",
            s.layer, s.neurons, s.crms, s.motif_nb, s.samples, s.segments.0, s.segments.1, s.wall_s
        ));
    }
}

pub fn print_summary(s: &RunSummary) {
    let neurons: usize = s.layers.iter().map(|l| l.neurons).sum();
    let crms: usize = s.layers.iter().map(|l| l.crms).sum();
    println!(
        "done: {} layers, {neurons} neurons, {crms} CRMs in {:.1} s",
        s.layers.len(),
        s.total_s
    );
    if !s.best_matches.is_empty() {
        println!("best database matches:");
        // best_matches is in layer order, best first within a layer: show each layer's top 3.
        let mut shown = (0, 0);
        for b in &s.best_matches {
            shown = if shown.0 == b.layer {
                (shown.0, shown.1 + 1)
            } else {
                (b.layer, 1)
            };
            if shown.1 <= 3 {
                println!(
                    "  layer {}  {:<28} {:<10} {:<12} q = {:.2e}",
                    b.layer, b.segment, b.target_id, b.target_name, b.q_value
                );
            }
        }
    }
    println!("results: {}", s.out.display());
    println!("report:  {} (open it in a browser)", s.report.display());
}
