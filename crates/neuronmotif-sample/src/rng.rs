//! Seeded random streams, one per task.
//!
//! Every random decision draws from a `Xoshiro256PlusPlus` stream whose seed is derived from the
//! run seed and the task's coordinates (layer, neuron, purpose, generation, chunk) by a
//! SplitMix64-style mixer. No stream is shared between threads, so a seed fixes every output
//! byte whatever the thread count.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere.
pub type Rng = Xoshiro256PlusPlus;

/// What a stream is for (part of its derivation, so streams never collide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Purpose {
    Init = 1,
    Seeding = 2,
    Mutation = 3,
    Selection = 4,
    Archive = 5,
    KMeans = 6,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `(seed, layer, neuron, purpose, a, b)`.
pub(crate) fn stream(
    seed: u64,
    layer: usize,
    neuron: usize,
    purpose: Purpose,
    a: u64,
    b: u64,
) -> Rng {
    let mut h = mix(seed);
    for v in [layer as u64, neuron as u64, purpose as u64, a, b] {
        h = mix(h ^ v);
    }
    Rng::seed_from_u64(h)
}

/// Identifies a neuron's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Streams {
    pub seed: u64,
    pub layer: usize,
    pub neuron: usize,
}

impl Streams {
    pub(crate) fn get(&self, purpose: Purpose, a: u64, b: u64) -> Rng {
        stream(self.seed, self.layer, self.neuron, purpose, a, b)
    }
}
