//! Parameters, validated once (linfa style): the algorithm code receives only the `Valid*`
//! forms and never re-checks. Every numeric default is the original NeuronMotif's constant;
//! the switches for the documented deviations (`bn_aware_seeding`,
//! `draw_uninformative_seeds`) default to the fix.

use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::SampleError;

/// How sequences that activate a neuron are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplerParams {
    /// Enumerate all 4^RF sequences when RF is below this (original: 11).
    pub exhaustive_below: usize,
    /// Population size; `None` applies the original's rule `clamp(⌊RF/20⌋·1000, 2000, 5000)`.
    pub population: Option<usize>,
    /// Generations at most (original: 200).
    pub generations: usize,
    /// Stop after the generation's mean activation has not improved for more than this many
    /// generations (original: 10).
    pub patience: usize,
    /// Gradient step α in `X + α·∇f` before resampling (original: 1.0).
    pub step: f32,
    /// Fraction of the population kept as elites (original: 0.1). When pools sit below the
    /// neuron, two circularly shifted copies of the elites join them. Single-point crossover
    /// children of fitness-selected parents fill the rest of the population, which with the
    /// default is exactly the original's ⌊0.45·S⌋ pairs (⌊0.35·S⌋ with shifted copies).
    pub elite_fraction: f64,
    /// Archive size kept after pruning (original: 100,000).
    pub archive_cap: usize,
    /// Activation strata used when pruning the archive (original: 20).
    pub archive_bins: usize,
    /// Prune the archive every this many generations once above the cap (original: 5).
    pub prune_every: usize,
    /// Activation strata of the seeding weights (original: 20).
    pub seeding_bins: usize,
    /// A previous-layer CRM position is part of a motif core above this IC (original: 1 bit).
    pub core_ic_bits: f64,
    /// A CRM has a core only with more than this many such positions (original: 3).
    pub core_min_positions: usize,
    /// Seed with the batchnorm-scaled weights of the target neuron (the weights that act on
    /// its activation) instead of the raw conv weights the original used (bug 7 of the
    /// algorithm notes). A negative γ flips which connections excite the neuron.
    pub bn_aware_seeding: bool,
    /// Write a seed's uninformative positions (IC at most `core_ic_bits`) as a base drawn from
    /// the CRM's column instead of its argmax. The original writes the argmax everywhere, so a
    /// uniform column always seeds `A` (the tie rule), and where the neuron's input gradient
    /// is zero the genetic search never resamples it: the `A` survives into the layer's CRMs
    /// as information the model does not have.
    pub draw_uninformative_seeds: bool,
}

impl Default for SamplerParams {
    fn default() -> Self {
        SamplerParams {
            exhaustive_below: 11,
            population: None,
            generations: 200,
            patience: 10,
            step: 1.0,
            elite_fraction: 0.1,
            archive_cap: 100_000,
            archive_bins: 20,
            prune_every: 5,
            seeding_bins: 20,
            core_ic_bits: 1.0,
            core_min_positions: 3,
            bn_aware_seeding: true,
            draw_uninformative_seeds: true,
        }
    }
}

/// [`SamplerParams`] that passed [`SamplerParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSamplerParams(SamplerParams);

impl Deref for ValidSamplerParams {
    type Target = SamplerParams;
    fn deref(&self) -> &SamplerParams {
        &self.0
    }
}

fn bad(name: &'static str, value: impl ToString, expected: &'static str) -> SampleError {
    SampleError::Param {
        name,
        value: value.to_string(),
        expected,
    }
}

impl SamplerParams {
    /// Validate every field.
    pub fn check(self) -> Result<ValidSamplerParams, SampleError> {
        if self.exhaustive_below > neuronmotif_core::SequenceSpace::MAX_LEN + 1 {
            return Err(bad(
                "exhaustive_below",
                self.exhaustive_below,
                "at most 14 (4^13 sequences)",
            ));
        }
        if let Some(p) = self.population {
            if !(20..=1_000_000).contains(&p) {
                return Err(bad("population", p, "between 20 and 1,000,000"));
            }
        }
        if !(self.step.is_finite() && self.step >= 0.0) {
            return Err(bad("step", self.step, "finite and >= 0"));
        }
        if !(0.0..=0.33).contains(&self.elite_fraction) {
            return Err(bad("elite_fraction", self.elite_fraction, "between 0 and 0.33 (elites and their two shifted copies must fit in the population)"));
        }
        if self.archive_cap == 0
            || self.archive_bins == 0
            || self.seeding_bins == 0
            || self.prune_every == 0
        {
            return Err(bad(
                "archive_cap / archive_bins / seeding_bins / prune_every",
                "0",
                "at least 1",
            ));
        }
        if self.generations == 0 {
            return Err(bad("generations", 0, "at least 1"));
        }
        Ok(ValidSamplerParams(self))
    }

    /// Whether a receptive field of `rf` bp is enumerated exhaustively (every sequence
    /// evaluated) rather than searched: the sampler's branch, and what tells callers that a
    /// layer's CRMs are complete sets rather than samples.
    pub fn is_exhaustive(&self, rf: usize) -> bool {
        rf < self.exhaustive_below
    }

    /// The population size for a receptive field of `rf` bp.
    pub fn population_for(&self, rf: usize) -> usize {
        self.population
            .unwrap_or_else(|| ((rf / 20) * 1000).clamp(2000, 5000))
    }
}

/// How many independently shifting motifs each neuron is decoupled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MotifNb {
    /// Start at 1 and raise it while the best CRM's consensus activation stays below
    /// `accept_ratio` of the best sampled activation, up to `max` (the original had no bound).
    Auto {
        /// Largest value tried.
        max: u32,
    },
    /// The same value for every neuron.
    Fixed(u32),
}

/// How the samples are demixed into CRMs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecoupleParams {
    /// motif_nb choice (default: automatic, at most 3).
    pub motif_nb: MotifNb,
    /// A cluster with fewer samples is not split further (original HEAD: 50).
    pub min_cluster: usize,
    /// Activation bins of the CRM PPM weighting (original generic copy: 20).
    pub ppm_bins: usize,
    /// Accept a motif_nb when max CRM conact / max act reaches this (original: 0.95).
    pub accept_ratio: f64,
    /// Weight k-means by the neuron's activation (original: yes).
    pub weighted: bool,
    /// k-means++ initialisations per split (original MiniBatchKMeans `n_init`: 3).
    pub kmeans_runs: usize,
    /// Lloyd iterations each k-means++ initialisation gets before the best (lowest weighted
    /// inertia) is refined to convergence. 0 = choose by the initial inertia alone, as the
    /// original's MiniBatchKMeans did; `kmeans_max_iter` = refine every one fully. Default 5:
    /// as good as refining all fully on planted ground truth, in 0.75-0.94x its demixing time
    /// on demo2, and clearly better than 0 on the planted flexible-gap model
    /// (docs/algorithm.md).
    pub kmeans_probe_iter: usize,
    /// Lloyd iterations at most (original: 100).
    pub kmeans_max_iter: usize,
    /// Fit k-means on at most this many samples of a cluster (a seeded subsample), then assign
    /// every sample: bounds memory on wide feature maps.
    pub kmeans_fit_max: usize,
}

impl Default for DecoupleParams {
    fn default() -> Self {
        DecoupleParams {
            motif_nb: MotifNb::Auto { max: 3 },
            min_cluster: 50,
            ppm_bins: 20,
            accept_ratio: 0.95,
            weighted: true,
            kmeans_runs: 3,
            kmeans_probe_iter: 5,
            kmeans_max_iter: 100,
            kmeans_fit_max: 4096,
        }
    }
}

/// [`DecoupleParams`] that passed [`DecoupleParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDecoupleParams(DecoupleParams);

impl Deref for ValidDecoupleParams {
    type Target = DecoupleParams;
    fn deref(&self) -> &DecoupleParams {
        &self.0
    }
}

impl DecoupleParams {
    /// Validate every field.
    pub fn check(self) -> Result<ValidDecoupleParams, SampleError> {
        match self.motif_nb {
            MotifNb::Auto { max } | MotifNb::Fixed(max) if !(1..=4).contains(&max) => {
                return Err(bad("motif_nb", max, "between 1 and 4"));
            }
            _ => {}
        }
        if self.ppm_bins == 0
            || self.kmeans_runs == 0
            || self.kmeans_max_iter == 0
            || self.kmeans_fit_max < 2
        {
            return Err(bad(
                "ppm_bins / kmeans_runs / kmeans_max_iter / kmeans_fit_max",
                "0",
                "at least 1 (fit_max at least 2)",
            ));
        }
        if !(0.0..=1.0).contains(&self.accept_ratio) {
            return Err(bad("accept_ratio", self.accept_ratio, "between 0 and 1"));
        }
        Ok(ValidDecoupleParams(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_original() {
        let p = SamplerParams::default().check().unwrap();
        assert_eq!(p.population_for(14), 2000);
        assert_eq!(p.population_for(82), 4000);
        assert_eq!(p.population_for(144), 5000);
        assert!(DecoupleParams::default().check().is_ok());
    }

    #[test]
    fn bad_values_are_named() {
        let e = SamplerParams {
            elite_fraction: 0.5,
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("elite_fraction"));
        let e = DecoupleParams {
            motif_nb: MotifNb::Fixed(9),
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("motif_nb = 9"));
        assert!(SamplerParams {
            step: f32::NAN,
            ..Default::default()
        }
        .check()
        .is_err());
    }
}
