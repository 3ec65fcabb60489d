//! Matrices over the four bases, one row per motif position, columns in ACGT order.

mod background;
mod counts;
mod ppm;
mod pwm;

pub use background::Background;
pub use counts::CountMatrix;
pub use ppm::Ppm;
pub use pwm::Pwm;

use ndarray::ArrayView2;

use crate::{Base, CoreError, Result};

/// Check shape `[w, 4]` and that every entry is finite and non-negative.
fn check_entries(m: ArrayView2<'_, f64>) -> Result<()> {
    if m.ncols() != 4 {
        return Err(CoreError::Shape {
            expected: "[positions, 4] (columns A, C, G, T)".into(),
            found: m.shape().to_vec(),
        });
    }
    for ((pos, b), &v) in m.indexed_iter() {
        if !v.is_finite() || v < 0.0 {
            return Err(CoreError::BadEntry {
                pos,
                base: Base::ALL[b].letter(),
                value: v,
            });
        }
    }
    Ok(())
}
