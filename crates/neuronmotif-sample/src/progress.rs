//! Hooks through which a caller watches (and may cancel) long work.

/// Callbacks from the sampler and the layer driver. All methods have empty defaults; the
/// command line implements them with progress bars. Implementations must be cheap and
/// thread-safe: neurons run in parallel.
pub trait Progress: Sync {
    /// A neuron starts.
    fn neuron_started(&self, _layer: usize, _neuron: usize) {}
    /// One generation of the genetic search finished with this mean activation.
    fn generation(&self, _layer: usize, _neuron: usize, _generation: usize, _mean_act: f32) {}
    /// A neuron is done.
    fn neuron_finished(&self, _layer: usize, _neuron: usize, _crms: usize) {}
    /// Return true to stop at the next checkpoint (between generations or neurons).
    fn cancelled(&self) -> bool {
        false
    }
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}
