use std::fmt;

use crate::{Geometry, Result};

/// One conv layer of a [`LayerPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// 1-based conv layer number.
    pub layer: usize,
    /// Name in the model.
    pub name: String,
    /// Number of neurons (output channels).
    pub channels: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Receptive field in bp.
    pub rf: usize,
    /// Input bp between neighbouring outputs.
    pub jump: usize,
    /// Shift states per neuron decoupled once (motif_nb 1).
    pub shifts_once: u64,
    /// Shift states per neuron decoupled twice (motif_nb 2); `None` past 2^64.
    pub shifts_twice: Option<u64>,
}

/// What explaining each conv layer involves: the table `neuronmotif info` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    rows: Vec<PlanRow>,
}

impl LayerPlan {
    /// The plan of every conv layer of a chain.
    pub fn new(g: &Geometry) -> Result<LayerPlan> {
        let rows = (1..=g.conv_count())
            .map(|layer| {
                let (name, channels, geom) = g.conv(layer)?;
                let rf = g.receptive_field(layer)?;
                Ok(PlanRow {
                    layer,
                    name: name.to_string(),
                    channels,
                    kernel: geom.kernel,
                    rf: rf.len,
                    jump: rf.jump,
                    shifts_once: g.shift_space(layer, 1)?.count(),
                    shifts_twice: g.shift_space(layer, 2).ok().map(|s| s.count()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LayerPlan { rows })
    }

    /// One row per conv layer.
    pub fn rows(&self) -> &[PlanRow] {
        &self.rows
    }
}

impl fmt::Display for LayerPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>5}  {:<16} {:>8} {:>6} {:>7} {:>5} {:>10} {:>10}",
            "layer", "name", "neurons", "kernel", "RF(bp)", "jump", "T(m=1)", "T(m=2)"
        )?;
        for r in &self.rows {
            let twice = r
                .shifts_twice
                .map_or_else(|| ">2^64".into(), |t| t.to_string());
            writeln!(
                f,
                "{:>5}  {:<16} {:>8} {:>6} {:>7} {:>5} {:>10} {:>10}",
                r.layer, r.name, r.channels, r.kernel, r.rf, r.jump, r.shifts_once, twice
            )?;
        }
        Ok(())
    }
}
