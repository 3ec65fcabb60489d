//! The first convolution on base codes, as table lookups.
//!
//! On one-hot input a conv output is the bias plus one weight row per tap, chosen by the base
//! there. Taking taps `g` at a time, every combination of `g` bases can be summed once at load
//! time (4^g rows per group), so an output position costs one row addition per group instead
//! of one per tap. Rows are padded to whole 8-float vectors, which matters most for the narrow
//! first layers (5 filters in the original's demo2) where a per-tap loop over 5 floats does not
//! vectorise. The table is summed in f64 (bias folded into the first group), so each position
//! has fewer roundings than the tap-by-tap sum it replaces.

/// Largest table, in bytes, kept per layer. Wide layers read it a block of 64 channels at a
/// time, so what must stay in cache is that block's slice (a quarter of the table for
/// Basset's 300 filters, which this size lets take taps two at a time: 10 lookups per
/// position instead of 19; measured about 15 % less time in the lookup).
const TABLE_BYTES: usize = 256 << 10;

/// Largest group of taps per lookup.
const MAX_GROUP: usize = 5;

/// Lanes per vector; rows are padded to a multiple of this.
const LANES: usize = 8;

/// A run of consecutive taps looked up together.
#[derive(Debug, Clone)]
struct Group {
    /// First tap.
    tap: usize,
    /// Number of taps (≤ `MAX_GROUP`).
    len: usize,
    /// Offset of this group's `4^len × padded` rows in the table.
    offset: usize,
}

/// First-layer weights regrouped for lookups (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct OneHotTable {
    d: usize,
    s: usize,
    cout: usize,
    padded: usize,
    groups: Vec<Group>,
    table: Vec<f32>,
}

impl OneHotTable {
    /// Build from folded weights `w[t][base][cout]` (canonical ACGT) and the folded bias.
    pub(crate) fn new(w: &[f32], bias: &[f32], k: usize, d: usize, s: usize) -> Self {
        let cout = bias.len();
        let padded = cout.div_ceil(LANES).max(1) * LANES;
        // the widest grouping whose table fits
        let bytes = |g: usize| -> usize {
            let full = k / g;
            let rest = k % g;
            (full * (1 << (2 * g)) + usize::from(rest > 0) * (1 << (2 * rest))) * padded * 4
        };
        let g = (1..=MAX_GROUP.min(k.max(1)))
            .rev()
            .find(|&g| bytes(g) <= TABLE_BYTES)
            .unwrap_or(1);
        let mut groups = Vec::new();
        let mut table = Vec::new();
        let mut tap = 0;
        while tap < k {
            let len = g.min(k - tap);
            let offset = table.len();
            for idx in 0..(1usize << (2 * len)) {
                for o in 0..padded {
                    if o >= cout {
                        table.push(0.0);
                        continue;
                    }
                    let mut sum = if tap == 0 { f64::from(bias[o]) } else { 0.0 };
                    for j in 0..len {
                        let base = (idx >> (2 * j)) & 3;
                        sum += f64::from(w[((tap + j) * 4 + base) * cout + o]);
                    }
                    table.push(sum as f32);
                }
            }
            groups.push(Group { tap, len, offset });
            tap += len;
        }
        if groups.is_empty() {
            // a zero-width kernel cannot be built, but keep the bias-only output well defined
            groups.push(Group {
                tap: 0,
                len: 0,
                offset: 0,
            });
            table.extend((0..padded).map(|o| bias.get(o).copied().unwrap_or(0.0)));
        }
        OneHotTable {
            d,
            s,
            cout,
            padded,
            groups,
            table,
        }
    }

    /// `out[b, p, :]` for `n` sequences of `lin` codes each, `lout` output positions;
    /// `offsets` is scratch kept by the caller.
    pub(crate) fn apply(
        &self,
        codes: &[u8],
        (n, lin, lout): (usize, usize, usize),
        out: &mut [f32],
        offsets: &mut Vec<usize>,
    ) {
        apply_blocks(self, codes, (n, lin, lout), out, offsets);
    }

    /// Channels `c0 .. c0 + W` of every output position of one sequence (`offsets`: `ng`
    /// table offsets per position).
    #[inline(always)]
    fn block<const W: usize>(&self, offsets: &[usize], ng: usize, c0: usize, out: &mut [f32]) {
        let take = W.min(self.cout - c0);
        for (p, offs) in offsets.chunks_exact(ng).enumerate() {
            let first = offs[0] + c0;
            let mut acc: [f32; W] = self.table[first..first + W].try_into().unwrap_or([0.0; W]);
            for &at in &offs[1..] {
                let row: &[f32; W] = self.table[at + c0..at + c0 + W]
                    .try_into()
                    .unwrap_or(&[0.0; W]);
                for i in 0..W {
                    acc[i] += row[i];
                }
            }
            let at = p * self.cout + c0;
            out[at..at + take].copy_from_slice(&acc[..take]);
        }
    }

    /// Where the table row of group `g` for output position `p` of `seq` starts.
    #[inline(always)]
    fn row_offset(&self, g: &Group, seq: &[u8], p: usize) -> usize {
        let mut idx = 0usize;
        for j in 0..g.len {
            idx |= usize::from(seq[p * self.s + (g.tap + j) * self.d] & 3) << (2 * j);
        }
        g.offset + idx * self.padded
    }
}

crate::elementwise::avx2_or_baseline! {
    /// [`OneHotTable::apply`], compiled for AVX2 where the CPU has it.
    fn apply_blocks(
        t: &OneHotTable,
        codes: &[u8],
        dims: (usize, usize, usize),
        out: &mut [f32],
        offsets: &mut Vec<usize>
    ) = apply_blocks_body
}

/// A block of channels at a time (64, then 32, 16 or 8 for the rest): the block's sums stay
/// in registers while every group's row is added, and only the block's slice of the table is
/// read, so it stays in L1. Sums run in group order.
#[inline(always)]
fn apply_blocks_body(
    t: &OneHotTable,
    codes: &[u8],
    (n, lin, lout): (usize, usize, usize),
    out: &mut [f32],
    offsets: &mut Vec<usize>,
) {
    let ng = t.groups.len();
    for b in 0..n {
        let seq = &codes[b * lin..(b + 1) * lin];
        offsets.clear();
        for p in 0..lout {
            for g in &t.groups {
                offsets.push(t.row_offset(g, seq, p));
            }
        }
        let out = &mut out[b * lout * t.cout..(b + 1) * lout * t.cout];
        let mut c0 = 0;
        while c0 < t.padded {
            let left = t.padded - c0;
            let w = if left >= 64 {
                t.block::<64>(offsets, ng, c0, out);
                64
            } else if left >= 32 {
                t.block::<32>(offsets, ng, c0, out);
                32
            } else if left >= 16 {
                t.block::<16>(offsets, ng, c0, out);
                16
            } else {
                t.block::<8>(offsets, ng, c0, out);
                8
            };
            c0 += w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tap by tap, in f64.
    fn naive(
        w: &[f32],
        bias: &[f32],
        k: usize,
        d: usize,
        s: usize,
        seq: &[u8],
        lout: usize,
    ) -> Vec<f64> {
        let cout = bias.len();
        let mut out = vec![0.0; lout * cout];
        for p in 0..lout {
            for o in 0..cout {
                let mut v = f64::from(bias[o]);
                for t in 0..k {
                    let base = usize::from(seq[p * s + t * d]);
                    v += f64::from(w[(t * 4 + base) * cout + o]);
                }
                out[p * cout + o] = v;
            }
        }
        out
    }

    #[test]
    fn lookups_equal_tap_by_tap_sums() {
        // widths on both sides of one vector, kernels needing 1..3 groups, strides, dilations
        for &(k, d, s, cout) in &[
            (7, 1, 1, 5),
            (19, 1, 1, 300),
            (8, 2, 1, 16),
            (3, 1, 2, 9),
            (1, 1, 1, 1),
            (11, 1, 1, 8),
        ] {
            let w: Vec<f32> = (0..k * 4 * cout)
                .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 250.0)
                .collect();
            let bias: Vec<f32> = (0..cout).map(|o| o as f32 * 0.1 - 0.3).collect();
            let lin = (k - 1) * d + 1 + 4 * s;
            let lout = (lin - (k - 1) * d - 1) / s + 1;
            let seqs: Vec<u8> = (0..3 * lin).map(|i| ((i * 13 + i / 5) % 4) as u8).collect();
            let t = OneHotTable::new(&w, &bias, k, d, s);
            let mut out = vec![0.0f32; 3 * lout * cout];
            t.apply(&seqs, (3, lin, lout), &mut out, &mut Vec::new());
            for b in 0..3 {
                let want = naive(&w, &bias, k, d, s, &seqs[b * lin..(b + 1) * lin], lout);
                for (i, (&got, &want)) in out[b * lout * cout..(b + 1) * lout * cout]
                    .iter()
                    .zip(&want)
                    .enumerate()
                {
                    assert!(
                        (f64::from(got) - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "k {k} d {d} s {s} cout {cout}: entry {i} {got} vs {want}"
                    );
                }
            }
        }
    }
}
