//! Weighted k-means: k-means++ seeding and Lloyd iterations, both weighted by a per-sample
//! weight (NeuronMotif weights each sequence by the neuron's activation).
//!
//! linfa-clustering's `KMeans::fit` ignores sample weights, so this is our own; the
//! decision and its measured effect are in docs/algorithm.md. The loops are compiled twice,
//! once for AVX2+FMA (chosen at run time) and once for the baseline target; each row's
//! arithmetic is fixed, so labels do not depend on how work is split.

use ndarray::{Array2, ArrayView2};
use rand::Rng;

/// Cluster centres, `[k, dim]` (one row per cluster).
#[derive(Debug, Clone, PartialEq)]
pub struct Centers(pub Array2<f32>);

/// Fit `k` centres to the rows of `x` with weights `w` (all > 0), keeping the best of `runs`
/// restarts by weighted inertia.
pub fn fit(
    x: ArrayView2<'_, f32>,
    w: &[f32],
    k: usize,
    runs: usize,
    max_iter: usize,
    rng: &mut impl Rng,
) -> Centers {
    let x = x.as_standard_layout();
    let dim = x.ncols();
    let xs = x.as_slice().unwrap_or(&[]);
    let mut best: Option<(f64, Vec<f32>)> = None;
    let tol = TOL * mean_variance(xs, dim);
    let mut labels = vec![0usize; x.nrows()];
    let mut d2 = vec![0.0f32; x.nrows()];
    for _ in 0..runs.max(1) {
        let mut c = plus_plus(xs, dim, w, k, rng);
        let kk = c.len() / dim.max(1);
        let inertia = hamerly(xs, dim, w, &mut c, kk, max_iter, tol, &mut labels, &mut d2);
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, c));
        }
    }
    let (_, c) = best.unwrap_or((0.0, Vec::new()));
    let kk = c.len() / dim.max(1);
    Centers(Array2::from_shape_vec((kk, dim), c).unwrap_or_else(|_| Array2::zeros((0, dim))))
}

/// Lloyd's iterations accelerated with Hamerly's bounds: each row keeps an upper bound on the
/// distance to its centre and a lower bound on the distance to any other; rows whose bounds
/// prove the assignment cannot change skip the distance computations. The assignments are
/// those of plain Lloyd iterations; only work is saved. Returns the weighted inertia.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn hamerly_generic(
    x: &[f32],
    dim: usize,
    w: &[f32],
    c: &mut [f32],
    k: usize,
    max_iter: usize,
    tol: f64,
    labels: &mut [usize],
    d2: &mut [f32],
) -> f64 {
    let n = x.len().checked_div(dim).unwrap_or(0);
    if n == 0 || k == 0 {
        return 0.0;
    }
    // exact first assignment with both bounds
    let mut upper = vec![0.0f32; n];
    let mut lower = vec![0.0f32; n];
    all_distances_generic(x, dim, c, k, labels, &mut upper, &mut lower);
    let mut sep = vec![0.0f32; k];
    // per-cluster weighted sums, kept current as rows change cluster
    let mut sums = vec![0.0f64; k * dim];
    let mut mass = vec![0.0f64; k];
    for (i, row) in x.chunks_exact(dim).enumerate() {
        move_row(
            &mut sums,
            &mut mass,
            row,
            f64::from(w[i]),
            labels[i],
            dim,
            1.0,
        );
    }
    for _ in 0..max_iter {
        // Lloyd's update for the current assignment, then tighten the bounds by the moves
        let old = c.to_vec();
        for j in 0..k {
            if mass[j] > 0.0 {
                for (dst, &sv) in c[j * dim..(j + 1) * dim]
                    .iter_mut()
                    .zip(&sums[j * dim..(j + 1) * dim])
                {
                    *dst = (sv / mass[j]) as f32;
                }
            }
        }
        let moves: Vec<f32> = (0..k)
            .map(|j| dist(&old[j * dim..(j + 1) * dim], &c[j * dim..(j + 1) * dim]))
            .collect();
        let shift: f64 = moves.iter().map(|&m| f64::from(m) * f64::from(m)).sum();
        let max_move = moves.iter().copied().fold(0.0f32, f32::max);
        for i in 0..n {
            upper[i] += moves[labels[i]];
            lower[i] -= max_move;
        }
        if shift <= tol {
            break;
        }
        // half the distance from each centre to its nearest other centre
        for j in 0..k {
            let mut m = f32::INFINITY;
            for j2 in 0..k {
                if j2 != j {
                    m = m.min(dist(
                        &c[j * dim..(j + 1) * dim],
                        &c[j2 * dim..(j2 + 1) * dim],
                    ));
                }
            }
            sep[j] = if k > 1 { m / 2.0 } else { f32::INFINITY };
        }
        // reassign the rows whose bounds allow a change
        let mut changed = 0usize;
        for i in 0..n {
            let bound = sep[labels[i]].max(lower[i]);
            if upper[i] <= bound {
                continue;
            }
            let row = &x[i * dim..(i + 1) * dim];
            upper[i] = dist(row, &c[labels[i] * dim..(labels[i] + 1) * dim]);
            if upper[i] <= bound {
                continue;
            }
            let prev = labels[i];
            let (l, u, lo) = nearest_two(row, dim, c, k);
            labels[i] = l;
            upper[i] = u;
            lower[i] = lo;
            if l != prev {
                changed += 1;
                move_row(&mut sums, &mut mass, row, f64::from(w[i]), prev, dim, -1.0);
                move_row(&mut sums, &mut mass, row, f64::from(w[i]), l, dim, 1.0);
            }
        }
        if changed == 0 {
            break;
        }
    }
    // exact costs of the final assignment
    for (i, d) in d2.iter_mut().enumerate().take(n) {
        let v = dist(
            &x[i * dim..(i + 1) * dim],
            &c[labels[i] * dim..(labels[i] + 1) * dim],
        );
        *d = v * v;
    }
    d2.iter()
        .zip(w)
        .map(|(&d, &wi)| f64::from(d) * f64::from(wi))
        .sum()
}

#[inline(always)]
fn all_distances_generic(
    x: &[f32],
    dim: usize,
    c: &[f32],
    k: usize,
    labels: &mut [usize],
    upper: &mut [f32],
    lower: &mut [f32],
) {
    for (i, row) in x.chunks_exact(dim).enumerate() {
        let (l, u, lo) = nearest_two(row, dim, c, k);
        labels[i] = l;
        upper[i] = u;
        lower[i] = lo;
    }
}

/// Add (`sign` 1) or remove (`sign` −1) a weighted row from cluster `j`'s sums.
#[inline(always)]
fn move_row(
    sums: &mut [f64],
    mass: &mut [f64],
    row: &[f32],
    w: f64,
    j: usize,
    dim: usize,
    sign: f64,
) {
    let sw = sign * w;
    mass[j] += sw;
    for (s, &v) in sums[j * dim..(j + 1) * dim].iter_mut().zip(row) {
        *s += sw * f64::from(v);
    }
}

/// Nearest centre, its distance, and the distance to the second nearest.
#[inline(always)]
fn nearest_two(row: &[f32], dim: usize, c: &[f32], k: usize) -> (usize, f32, f32) {
    let (mut best, mut b1, mut b2) = (0, f32::INFINITY, f32::INFINITY);
    for j in 0..k {
        let d = dist(row, &c[j * dim..(j + 1) * dim]);
        if d < b1 {
            b2 = b1;
            b1 = d;
            best = j;
        } else if d < b2 {
            b2 = d;
        }
    }
    (best, b1, b2)
}

/// Euclidean distance with eight partial sums in a fixed order.
#[inline(always)]
fn dist(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            let t = x[i] - y[i];
            acc[i] += t * t;
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y) * (x - y);
    }
    s.sqrt()
}

/// Convergence: stop when the centres moved (total squared shift) less than this fraction of
/// the mean per-feature variance, scikit-learn's rule and default.
const TOL: f64 = 1e-4;

fn mean_variance(x: &[f32], dim: usize) -> f64 {
    let n = x.len().checked_div(dim).unwrap_or(0);
    if n == 0 {
        return 0.0;
    }
    let mut mean = vec![0.0f64; dim];
    let mut sq = vec![0.0f64; dim];
    for row in x.chunks_exact(dim) {
        for ((m, s), &v) in mean.iter_mut().zip(sq.iter_mut()).zip(row) {
            *m += f64::from(v);
            *s += f64::from(v) * f64::from(v);
        }
    }
    let nf = n as f64;
    mean.iter()
        .zip(&sq)
        .map(|(&m, &s)| (s / nf - (m / nf) * (m / nf)).max(0.0))
        .sum::<f64>()
        / dim as f64
}

/// Index of the nearest centre of every row (ties to the lower index).
pub fn assign(x: ArrayView2<'_, f32>, c: &Centers) -> Vec<usize> {
    let x = x.as_standard_layout();
    let (n, dim) = x.dim();
    let cs = c.0.as_standard_layout();
    let mut labels = vec![0; n];
    let mut d2 = vec![0.0; n];
    assign_into(
        x.as_slice().unwrap_or(&[]),
        dim,
        cs.as_slice().unwrap_or(&[]),
        c.0.nrows(),
        &mut labels,
        &mut d2,
    );
    labels
}

fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

macro_rules! dispatch {
    ($name:ident, $fast:ident, $generic:ident, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                if avx2() {
                    // SAFETY: the CPU supports the features the fast copy is compiled for.
                    return unsafe { $fast($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $fast($($arg: $ty),*) $(-> $ret)? {
            $generic($($arg),*)
        }
    };
}

dispatch!(hamerly, hamerly_fast, hamerly_generic, (x: &[f32], dim: usize, w: &[f32], c: &mut [f32], k: usize, max_iter: usize, tol: f64, labels: &mut [usize], d2: &mut [f32]) -> f64);
dispatch!(assign_into, assign_fast, assign_generic, (x: &[f32], dim: usize, c: &[f32], k: usize, labels: &mut [usize], d2: &mut [f32]));
dispatch!(nearest_d2, nearest_fast, nearest_generic, (x: &[f32], dim: usize, center: &[f32], d2: &mut [f64]));

/// Dot product with eight partial sums in a fixed order.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline(always)]
fn assign_generic(
    x: &[f32],
    dim: usize,
    c: &[f32],
    k: usize,
    labels: &mut [usize],
    d2: &mut [f32],
) {
    if dim == 0 || k == 0 {
        labels.fill(0);
        d2.fill(0.0);
        return;
    }
    let cn: Vec<f32> = c.chunks_exact(dim).map(|r| dot(r, r)).collect();
    for ((row, l), d) in x
        .chunks_exact(dim)
        .zip(labels.iter_mut())
        .zip(d2.iter_mut())
    {
        let mut best = 0;
        let mut bd = f32::INFINITY;
        for (j, cj) in c.chunks_exact(dim).enumerate() {
            let v = cn[j] - 2.0 * dot(row, cj);
            if v < bd {
                bd = v;
                best = j;
            }
        }
        *l = best;
        *d = (bd + dot(row, row)).max(0.0);
    }
}

/// `d2[i] = min(d2[i], |x_i − center|²)`.
#[inline(always)]
fn nearest_generic(x: &[f32], dim: usize, center: &[f32], d2: &mut [f64]) {
    for (row, d) in x.chunks_exact(dim).zip(d2.iter_mut()) {
        let mut acc = [0.0f32; 8];
        let (ca, cb) = (row.chunks_exact(8), center.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (a, b) in ca.zip(cb) {
            for i in 0..8 {
                let t = a[i] - b[i];
                acc[i] += t * t;
            }
        }
        let mut s = acc.iter().sum::<f32>();
        for (a, b) in ra.iter().zip(rb) {
            s += (a - b) * (a - b);
        }
        let s = f64::from(s);
        if s < *d {
            *d = s;
        }
    }
}

/// k-means++ seeding with weights: the first centre is drawn ∝ w, each next one ∝ w·D², D the
/// distance to the nearest centre chosen so far.
fn plus_plus(x: &[f32], dim: usize, w: &[f32], k: usize, rng: &mut impl Rng) -> Vec<f32> {
    let n = x.len().checked_div(dim).unwrap_or(0);
    let k = k.min(n);
    let mut c = Vec::with_capacity(k * dim);
    if k == 0 {
        return c;
    }
    let draw = |weights: &mut dyn Iterator<Item = f64>,
                total: f64,
                rng: &mut dyn rand::RngCore|
     -> usize {
        if total <= 0.0 {
            return 0;
        }
        let u = rand::Rng::gen::<f64>(rng) * total;
        let mut acc = 0.0;
        let mut last = 0;
        for (i, v) in weights.enumerate() {
            acc += v;
            last = i;
            if u < acc {
                return i;
            }
        }
        last
    };
    let total: f64 = w.iter().map(|&v| f64::from(v)).sum();
    let first = draw(&mut w.iter().map(|&v| f64::from(v)), total, rng);
    c.extend_from_slice(&x[first * dim..(first + 1) * dim]);
    let mut d2 = vec![f64::INFINITY; n];
    nearest_d2(x, dim, &c[..dim], &mut d2);
    for j in 1..k {
        let total: f64 = d2.iter().zip(w).map(|(&d, &wi)| d * f64::from(wi)).sum();
        let pick = draw(
            &mut d2.iter().zip(w).map(|(&d, &wi)| d * f64::from(wi)),
            total,
            rng,
        );
        c.extend_from_slice(&x[pick * dim..(pick + 1) * dim]);
        nearest_d2(x, dim, &c[j * dim..(j + 1) * dim], &mut d2);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn separates_two_blobs_and_weights_pull_centres() {
        let mut rng = crate::rng::Rng::seed_from_u64(5);
        let x = Array2::from_shape_fn((200, 11), |(i, j)| {
            let centre = if i < 100 { 0.0 } else { 10.0 };
            centre + ((i * 7 + j * 13) % 11) as f32 / 11.0
        });
        let w = vec![1.0f32; 200];
        let c = fit(x.view(), &w, 2, 3, 100, &mut rng);
        let l = assign(x.view(), &c);
        assert!(l[..100].iter().all(|&v| v == l[0]));
        assert!(l[100..].iter().all(|&v| v == l[100]));
        assert_ne!(l[0], l[100]);
        // one cluster: the centre is the weighted mean
        let x1 = ndarray::array![[0.0f32], [10.0]];
        let c1 = fit(x1.view(), &[3.0, 1.0], 1, 1, 10, &mut rng);
        assert!((c1.0[[0, 0]] - 2.5).abs() < 1e-6);
    }

    #[test]
    fn fast_and_generic_paths_agree() {
        let x: Vec<f32> = (0..300 * 13)
            .map(|i| ((i * 37 % 101) as f32) / 10.0)
            .collect();
        let c: Vec<f32> = x[..3 * 13].to_vec();
        let (mut l1, mut l2) = (vec![0; 300], vec![0; 300]);
        let (mut d1, mut d2) = (vec![0.0; 300], vec![0.0; 300]);
        assign_generic(&x, 13, &c, 3, &mut l1, &mut d1);
        assign_into(&x, 13, &c, 3, &mut l2, &mut d2);
        assert_eq!(l1, l2);
        for (a, b) in d1.iter().zip(&d2) {
            assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()));
        }
    }
}
