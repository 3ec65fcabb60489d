//! Portable micro-kernel (the compiler vectorises the inner loops for the baseline target).

use super::{Init, Tile, MR, NR};

/// # Safety
/// See [`super::Kernel`]: row pointers plus run offsets stay inside the lhs buffer, `panel`
/// holds every packed row the runs name, and the `mr × nr` tile at `out` (stride `ldc`) is
/// writable.
pub(super) unsafe fn kernel(tile: &Tile<'_>) {
    let Tile {
        rows,
        runs,
        panel,
        bias,
        init,
        out,
        ldc,
        mr,
        nr,
    } = *tile;
    let mut acc = [[0.0f32; NR]; MR];
    match init {
        Init::Bias => {
            for row in acc.iter_mut() {
                *row = *bias;
            }
        }
        Init::Accumulate => {
            for (r, row) in acc.iter_mut().enumerate().take(mr) {
                for (j, v) in row.iter_mut().enumerate().take(nr) {
                    // SAFETY: inside the tile (caller contract).
                    *v = unsafe { *out.add(r * ldc + j) };
                }
            }
        }
    }
    for run in runs {
        for t in 0..run.len {
            // SAFETY: caller contract.
            let b: &[f32; NR] = unsafe { &*(panel.add((run.b_row + t) * NR) as *const [f32; NR]) };
            for (r, row) in acc.iter_mut().enumerate() {
                let a = unsafe { *rows[r].add(run.a_off + t) };
                for j in 0..NR {
                    row[j] += a * b[j];
                }
            }
        }
    }
    for (r, row) in acc.iter().enumerate().take(mr) {
        for (j, &v) in row.iter().enumerate().take(nr) {
            // SAFETY: inside the tile.
            unsafe { *out.add(r * ldc + j) = v };
        }
    }
}
