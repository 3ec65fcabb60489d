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

/// Fit `k` centres to the rows of `x` with weights `w` (all > 0) from `runs` k-means++
/// initialisations: each is refined for `probe` Lloyd iterations (0: only its weighted inertia
/// is measured, as scikit-learn's `MiniBatchKMeans(n_init)` chooses among initialisations),
/// then the one with the lowest weighted inertia is refined to convergence (at most
/// `max_iter` iterations). `probe >= max_iter` refines every initialisation fully and keeps
/// the best result, as scikit-learn's `KMeans(n_init)` does.
pub fn fit(
    x: ArrayView2<'_, f32>,
    w: &[f32],
    k: usize,
    runs: usize,
    max_iter: usize,
    probe: usize,
    rng: &mut impl Rng,
) -> Centers {
    let x = x.as_standard_layout();
    let dim = x.ncols();
    let xs = x.as_slice().unwrap_or(&[]);
    let mut best: Option<(f64, Vec<f32>)> = None;
    let tol = TOL * mean_variance(xs, dim);
    let mut labels = vec![0usize; x.nrows()];
    let mut d2 = vec![0.0f32; x.nrows()];
    let probe = probe.min(max_iter);
    for _ in 0..runs.max(1) {
        let mut c = plus_plus(xs, dim, w, k, rng);
        let kk = c.len() / dim.max(1);
        let inertia = if probe == 0 {
            assign_into(xs, dim, &c, kk, &mut labels, &mut d2);
            d2.iter()
                .zip(w)
                .map(|(&d, &wi)| f64::from(d) * f64::from(wi))
                .sum()
        } else {
            elkan(xs, dim, w, &mut c, kk, probe, tol, &mut labels, &mut d2)
        };
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, c));
        }
    }
    let (_, mut c) = best.unwrap_or((0.0, Vec::new()));
    let kk = c.len() / dim.max(1);
    if probe < max_iter {
        elkan(
            xs,
            dim,
            w,
            &mut c,
            kk,
            max_iter - probe,
            tol,
            &mut labels,
            &mut d2,
        );
    }
    Centers(Array2::from_shape_vec((kk, dim), c).unwrap_or_else(|_| Array2::zeros((0, dim))))
}

/// Lloyd's iterations accelerated with Elkan's bounds: each row keeps an upper bound on the
/// distance to its centre and a lower bound on its distance to every other centre; with the
/// half-distances between centres these prove most assignments unchanged without computing a
/// distance. The assignments are those of plain Lloyd iterations (ties kept with the current
/// centre); only work is saved. With the 2-64 clusters of a demixing level and feature maps
/// of tens to thousands of values, this prunes far more than a single lower bound per row.
/// Returns the weighted inertia.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn elkan_generic<L: Lanes>(
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
    // exact first assignment: every distance is a tight lower bound
    let mut upper = vec![0.0f32; n];
    let mut lower = vec![0.0f32; n * k];
    for (i, row) in x.chunks_exact(dim).enumerate() {
        let lb = &mut lower[i * k..(i + 1) * k];
        all_to::<L>(row, dim, c, k, lb);
        let (mut best, mut bd) = (0, f32::INFINITY);
        for (j, &d) in lb.iter().enumerate() {
            if d < bd {
                bd = d;
                best = j;
            }
        }
        labels[i] = best;
        upper[i] = bd;
    }
    // per-cluster weighted sums, kept current as rows change cluster
    let mut sums = vec![0.0f64; k * dim];
    let mut mass = vec![0.0f64; k];
    // exact member counts: an emptied cluster is known to be empty, whatever rounding is
    // left in its running sums
    let mut members = vec![0usize; k];
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
        members[labels[i]] += 1;
    }
    let mut half = vec![0.0f32; k * k];
    let mut sep = vec![0.0f32; k];
    let mut old = vec![0.0f32; k * dim];
    for _ in 0..max_iter {
        // Lloyd's update for the current assignment, then loosen the bounds by the moves
        old.copy_from_slice(c);
        for j in 0..k {
            if members[j] == 0 {
                // empty: keep the centre, restart the sums from exact zeros
                mass[j] = 0.0;
                sums[j * dim..(j + 1) * dim].fill(0.0);
            } else if mass[j] > 0.0 {
                for (dst, &sv) in c[j * dim..(j + 1) * dim]
                    .iter_mut()
                    .zip(&sums[j * dim..(j + 1) * dim])
                {
                    *dst = (sv / mass[j]) as f32;
                }
            }
        }
        let moves: Vec<f32> = (0..k)
            .map(|j| dist::<L>(&old[j * dim..(j + 1) * dim], &c[j * dim..(j + 1) * dim]))
            .collect();
        let shift: f64 = moves.iter().map(|&m| f64::from(m) * f64::from(m)).sum();
        for i in 0..n {
            upper[i] += moves[labels[i]];
            for (lb, &m) in lower[i * k..(i + 1) * k].iter_mut().zip(&moves) {
                *lb = (*lb - m).max(0.0);
            }
        }
        if shift <= tol {
            break;
        }
        // half the distances between centres, and to each centre's nearest other
        for j in 0..k {
            for j2 in j + 1..k {
                let h = dist::<L>(&c[j * dim..(j + 1) * dim], &c[j2 * dim..(j2 + 1) * dim]) / 2.0;
                half[j * k + j2] = h;
                half[j2 * k + j] = h;
            }
        }
        for j in 0..k {
            sep[j] = (0..k)
                .filter(|&j2| j2 != j)
                .map(|j2| half[j * k + j2])
                .fold(f32::INFINITY, f32::min);
        }
        // reassign the rows whose bounds allow a change
        let mut changed = 0usize;
        for i in 0..n {
            let prev = labels[i];
            if upper[i] <= sep[prev] {
                continue;
            }
            let row = &x[i * dim..(i + 1) * dim];
            let lb = &mut lower[i * k..(i + 1) * k];
            let mut a = prev;
            let mut tight = false;
            for j in 0..k {
                if j == a {
                    continue;
                }
                let z = lb[j].max(half[a * k + j]);
                if upper[i] <= z {
                    continue;
                }
                if !tight {
                    let d = dist::<L>(row, &c[a * dim..(a + 1) * dim]);
                    upper[i] = d;
                    lb[a] = d;
                    tight = true;
                    if d <= z {
                        continue;
                    }
                }
                let d = dist::<L>(row, &c[j * dim..(j + 1) * dim]);
                lb[j] = d;
                if d < upper[i] {
                    a = j;
                    upper[i] = d;
                }
            }
            if a != prev {
                labels[i] = a;
                changed += 1;
                members[prev] -= 1;
                members[a] += 1;
                move_row(&mut sums, &mut mass, row, f64::from(w[i]), prev, dim, -1.0);
                move_row(&mut sums, &mut mass, row, f64::from(w[i]), a, dim, 1.0);
            }
        }
        if changed == 0 {
            break;
        }
    }
    // exact costs of the final assignment
    for (i, d) in d2.iter_mut().enumerate().take(n) {
        let v = dist::<L>(
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

/// Distances from `row` to each of the `k` centres, four at a time.
#[inline(always)]
fn all_to<L: Lanes>(row: &[f32], dim: usize, c: &[f32], k: usize, out: &mut [f32]) {
    let mut j = 0;
    while j + 4 <= k {
        let d = L::sq_dist4(row, &c[j * dim..(j + 4) * dim], dim);
        for (o, v) in d.into_iter().enumerate() {
            out[j + o] = v.sqrt();
        }
        j += 4;
    }
    while j < k {
        out[j] = L::sq_dist(row, &c[j * dim..(j + 1) * dim]).sqrt();
        j += 1;
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

/// Euclidean distance.
#[inline(always)]
fn dist<L: Lanes>(a: &[f32], b: &[f32]) -> f32 {
    L::sq_dist(a, b).sqrt()
}

/// The reductions k-means needs, in fixed orders. [`Avx2`] performs the same operations in the
/// same order as [`Portable`], so both give the same bits and labels do not depend on the CPU
/// (a CPU without FMA computes `mul_add` in software: slower, same result).
///
/// `sq_dist` spreads the elements over four accumulators of eight lanes (element `e` of the
/// whole 8-blocks goes to accumulator `(e / 8) % 4`, lane `e % 8`, products fused into the
/// sums), adds the accumulators as `(0+1)+(2+3)`, combines the lanes as
/// `((0+4)+(1+5))+((2+6)+(3+7))` and adds the tail in order: four independent chains keep a
/// single distance from waiting on each sum. `sq_dist4` computes four distances with one chain
/// each (element `e` to lane `e % 8`), already four chains together. `dot` uses one chain.
trait Lanes {
    fn sq_dist(a: &[f32], b: &[f32]) -> f32;
    fn dot(a: &[f32], b: &[f32]) -> f32;
    /// Squared distances from `a` to the four consecutive rows of `c` (each `dim` long).
    fn sq_dist4(a: &[f32], c: &[f32], dim: usize) -> [f32; 4];
}

/// Plain Rust.
struct Portable;

impl Portable {
    /// One chain of eight lanes: `step(acc, x, y)` folds element pairs into lane `e % 8`, the
    /// lanes are combined, the tail is folded in order (the per-centre order of `sq_dist4`
    /// and the order of `dot`).
    #[inline(always)]
    fn one_chain(a: &[f32], b: &[f32], step: impl Fn(f32, f32, f32) -> f32) -> f32 {
        debug_assert_eq!(
            a.len(),
            b.len(),
            "equal lengths: both paths read the same elements"
        );
        let mut acc = [0.0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..8 {
                acc[i] = step(acc[i], x[i], y[i]);
            }
        }
        let mut s = lanes_sum(&acc);
        for (&x, &y) in ra.iter().zip(rb) {
            s = step(s, x, y);
        }
        s
    }
}

/// `acc + (x − y)²`, fused.
#[inline(always)]
fn sq_step(acc: f32, x: f32, y: f32) -> f32 {
    (x - y).mul_add(x - y, acc)
}

/// `((0+4)+(1+5))+((2+6)+(3+7))`.
#[inline(always)]
fn lanes_sum(acc: &[f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

impl Lanes for Portable {
    #[inline(always)]
    fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        let mut acc = [[0.0f32; 8]; 4];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (blk, (x, y)) in ca.zip(cb).enumerate() {
            let q = &mut acc[blk % 4];
            for i in 0..8 {
                let t = x[i] - y[i];
                q[i] = t.mul_add(t, q[i]);
            }
        }
        let mut v = [0.0f32; 8];
        for i in 0..8 {
            v[i] = (acc[0][i] + acc[1][i]) + (acc[2][i] + acc[3][i]);
        }
        let mut s = lanes_sum(&v);
        for (x, y) in ra.iter().zip(rb) {
            s = (x - y).mul_add(x - y, s);
        }
        s
    }

    #[inline(always)]
    fn sq_dist4(a: &[f32], c: &[f32], dim: usize) -> [f32; 4] {
        debug_assert_eq!(a.len(), dim);
        [0, 1, 2, 3].map(|j| Self::one_chain(a, &c[j * dim..(j + 1) * dim], sq_step))
    }

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        Self::one_chain(a, b, |acc, x, y| x.mul_add(y, acc))
    }
}

/// AVX2 intrinsics; only used inside functions compiled with `target_feature(enable = "avx2")`
/// after the CPU was checked, where these `inline(always)` bodies are inlined.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// `((v0+v4)+(v1+v5))+((v2+v6)+(v3+v7))` of a vector of eight lanes.
    #[inline(always)]
    fn combine(v: std::arch::x86_64::__m256) -> f32 {
        use std::arch::x86_64::*;
        // SAFETY: only reached from code compiled with AVX enabled on a CPU that has it.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let mut l = [0.0f32; 4];
            _mm_storeu_ps(l.as_mut_ptr(), s);
            (l[0] + l[1]) + (l[2] + l[3])
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    #[inline(always)]
    fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
        use std::arch::x86_64::*;
        let n = a.len().min(b.len());
        let n8 = n - n % 8;
        // SAFETY: every load reads 8 floats at i < n8 <= len of both slices; AVX is present.
        let mut s = unsafe {
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let step = |acc: __m256, i: usize| {
                let t = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                _mm256_fmadd_ps(t, t, acc)
            };
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i + 32 <= n8 {
                acc[0] = step(acc[0], i);
                acc[1] = step(acc[1], i + 8);
                acc[2] = step(acc[2], i + 16);
                acc[3] = step(acc[3], i + 24);
                i += 32;
            }
            let mut q = 0;
            while i < n8 {
                acc[q] = step(acc[q], i);
                q += 1;
                i += 8;
            }
            Self::combine(_mm256_add_ps(
                _mm256_add_ps(acc[0], acc[1]),
                _mm256_add_ps(acc[2], acc[3]),
            ))
        };
        for (x, y) in a[n8..n].iter().zip(&b[n8..n]) {
            s = (x - y).mul_add(x - y, s);
        }
        s
    }

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        use std::arch::x86_64::*;
        let n = a.len().min(b.len());
        let n8 = n - n % 8;
        // SAFETY: as in sq_dist.
        let mut s = unsafe {
            let mut acc = _mm256_setzero_ps();
            let mut i = 0;
            while i < n8 {
                acc = _mm256_fmadd_ps(
                    _mm256_loadu_ps(a.as_ptr().add(i)),
                    _mm256_loadu_ps(b.as_ptr().add(i)),
                    acc,
                );
                i += 8;
            }
            Self::combine(acc)
        };
        for (x, y) in a[n8..n].iter().zip(&b[n8..n]) {
            s = x.mul_add(*y, s);
        }
        s
    }

    #[inline(always)]
    fn sq_dist4(a: &[f32], c: &[f32], dim: usize) -> [f32; 4] {
        use std::arch::x86_64::*;
        let n = a.len().min(dim);
        assert!(c.len() >= 4 * dim);
        let n8 = n - n % 8;
        // SAFETY: loads at i < n8 <= dim within `a` and within each of the four rows of `c`.
        let mut s = unsafe {
            let (c0, c1, c2, c3) = (
                c.as_ptr(),
                c.as_ptr().add(dim),
                c.as_ptr().add(2 * dim),
                c.as_ptr().add(3 * dim),
            );
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i < n8 {
                let x = _mm256_loadu_ps(a.as_ptr().add(i));
                let t0 = _mm256_sub_ps(x, _mm256_loadu_ps(c0.add(i)));
                let t1 = _mm256_sub_ps(x, _mm256_loadu_ps(c1.add(i)));
                let t2 = _mm256_sub_ps(x, _mm256_loadu_ps(c2.add(i)));
                let t3 = _mm256_sub_ps(x, _mm256_loadu_ps(c3.add(i)));
                acc[0] = _mm256_fmadd_ps(t0, t0, acc[0]);
                acc[1] = _mm256_fmadd_ps(t1, t1, acc[1]);
                acc[2] = _mm256_fmadd_ps(t2, t2, acc[2]);
                acc[3] = _mm256_fmadd_ps(t3, t3, acc[3]);
                i += 8;
            }
            [
                Self::combine(acc[0]),
                Self::combine(acc[1]),
                Self::combine(acc[2]),
                Self::combine(acc[3]),
            ]
        };
        for (j, sj) in s.iter_mut().enumerate() {
            let row = &c[j * dim..(j + 1) * dim];
            for (x, y) in a[n8..n].iter().zip(&row[n8..n]) {
                *sj = (x - y).mul_add(x - y, *sj);
            }
        }
        s
    }
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
            $generic::<Portable>($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $fast($($arg: $ty),*) $(-> $ret)? {
            $generic::<Avx2>($($arg),*)
        }
    };
}

dispatch!(elkan, elkan_fast, elkan_generic, (x: &[f32], dim: usize, w: &[f32], c: &mut [f32], k: usize, max_iter: usize, tol: f64, labels: &mut [usize], d2: &mut [f32]) -> f64);
dispatch!(assign_into, assign_fast, assign_generic, (x: &[f32], dim: usize, c: &[f32], k: usize, labels: &mut [usize], d2: &mut [f32]));
dispatch!(nearest_d2, nearest_fast, nearest_generic, (x: &[f32], dim: usize, center: &[f32], d2: &mut [f64]));

#[inline(always)]
fn assign_generic<L: Lanes>(
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
    let cn: Vec<f32> = c.chunks_exact(dim).map(|r| L::dot(r, r)).collect();
    for ((row, l), d) in x
        .chunks_exact(dim)
        .zip(labels.iter_mut())
        .zip(d2.iter_mut())
    {
        let mut best = 0;
        let mut bd = f32::INFINITY;
        for (j, cj) in c.chunks_exact(dim).enumerate() {
            let v = cn[j] - 2.0 * L::dot(row, cj);
            if v < bd {
                bd = v;
                best = j;
            }
        }
        *l = best;
        *d = (bd + L::dot(row, row)).max(0.0);
    }
}

/// `d2[i] = min(d2[i], |x_i − center|²)`.
#[inline(always)]
fn nearest_generic<L: Lanes>(x: &[f32], dim: usize, center: &[f32], d2: &mut [f64]) {
    for (row, d) in x.chunks_exact(dim).zip(d2.iter_mut()) {
        let s = f64::from(L::sq_dist(row, center));
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
        let c = fit(x.view(), &w, 2, 3, 100, 0, &mut rng);
        let l = assign(x.view(), &c);
        assert!(l[..100].iter().all(|&v| v == l[0]));
        assert!(l[100..].iter().all(|&v| v == l[100]));
        assert_ne!(l[0], l[100]);
        // one cluster: the centre is the weighted mean
        let x1 = ndarray::array![[0.0f32], [10.0]];
        let c1 = fit(x1.view(), &[3.0, 1.0], 1, 1, 10, 5, &mut rng);
        assert!((c1.0[[0, 0]] - 2.5).abs() < 1e-6);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_give_the_portable_bits() {
        if !avx2() {
            eprintln!("no AVX2+FMA on this CPU: nothing to compare");
            return;
        }
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 20.0
        };
        for dim in 1..70 {
            let a: Vec<f32> = (0..dim).map(|_| next()).collect();
            let c: Vec<f32> = (0..4 * dim).map(|_| next()).collect();
            // SAFETY: AVX2 and FMA were detected above.
            let (d, p, d4) = unsafe { avx2_lanes(&a, &c, dim) };
            assert_eq!(
                d.to_bits(),
                Portable::sq_dist(&a, &c[..dim]).to_bits(),
                "dim {dim}"
            );
            assert_eq!(
                p.to_bits(),
                Portable::dot(&a, &c[..dim]).to_bits(),
                "dim {dim}"
            );
            let want = Portable::sq_dist4(&a, &c, dim);
            for j in 0..4 {
                assert_eq!(d4[j].to_bits(), want[j].to_bits(), "dim {dim} centre {j}");
            }
        }
    }

    /// The AVX2 reductions, compiled with the features they need.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2_lanes(a: &[f32], c: &[f32], dim: usize) -> (f32, f32, [f32; 4]) {
        (
            Avx2::sq_dist(a, &c[..dim]),
            Avx2::dot(a, &c[..dim]),
            Avx2::sq_dist4(a, c, dim),
        )
    }

    /// Plain weighted Lloyd iterations in f64, the same stopping rule, no bounds.
    fn naive_lloyd(x: &[f32], dim: usize, w: &[f32], c0: &[f32], k: usize, tol: f64) -> Vec<usize> {
        let n = x.len() / dim;
        let mut c: Vec<f64> = c0.iter().map(|&v| f64::from(v)).collect();
        let assign = |c: &[f64]| -> Vec<usize> {
            (0..n)
                .map(|i| {
                    let row = &x[i * dim..(i + 1) * dim];
                    (0..k)
                        .map(|j| {
                            row.iter()
                                .zip(&c[j * dim..(j + 1) * dim])
                                .map(|(&a, &b)| (f64::from(a) - b).powi(2))
                                .sum::<f64>()
                        })
                        .enumerate()
                        .fold(
                            (0, f64::INFINITY),
                            |b, (j, d)| if d < b.1 { (j, d) } else { b },
                        )
                        .0
                })
                .collect()
        };
        let mut labels = assign(&c);
        loop {
            let mut next = c.clone();
            for j in 0..k {
                let m: f64 = (0..n)
                    .filter(|&i| labels[i] == j)
                    .map(|i| f64::from(w[i]))
                    .sum();
                if m > 0.0 {
                    for t in 0..dim {
                        next[j * dim + t] = (0..n)
                            .filter(|&i| labels[i] == j)
                            .map(|i| f64::from(w[i]) * f64::from(x[i * dim + t]))
                            .sum::<f64>()
                            / m;
                    }
                }
            }
            let shift: f64 = c.iter().zip(&next).map(|(a, b)| (a - b).powi(2)).sum();
            c = next;
            if shift <= tol {
                return labels;
            }
            let again = assign(&c);
            if again == labels {
                return labels;
            }
            labels = again;
        }
    }

    #[test]
    fn elkan_bounds_give_plain_lloyd_assignments() {
        let mut state = 99u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        for &(n, dim, k) in &[
            (300, 7, 2),
            (500, 33, 8),
            (400, 180, 8),
            (200, 12, 16),
            (150, 5, 3),
        ] {
            // blobs around k random centres plus noise, so clusters move over many iterations
            let centres: Vec<f32> = (0..k * dim).map(|_| next() * 4.0).collect();
            let x: Vec<f32> = (0..n)
                .flat_map(|i| {
                    let j = i % k;
                    (0..dim)
                        .map(|t| centres[j * dim + t] + (next() - 0.5) * 6.0)
                        .collect::<Vec<_>>()
                })
                .collect();
            let w: Vec<f32> = (0..n).map(|_| 0.1 + next()).collect();
            let c0: Vec<f32> = x[..k * dim].to_vec();
            let tol = TOL * mean_variance(&x, dim);
            let want = naive_lloyd(&x, dim, &w, &c0, k, tol);
            let mut c = c0.clone();
            let (mut labels, mut d2) = (vec![0; n], vec![0.0; n]);
            elkan(&x, dim, &w, &mut c, k, 1000, tol, &mut labels, &mut d2);
            let agree = labels.iter().zip(&want).filter(|(a, b)| a == b).count();
            assert_eq!(agree, n, "n {n} dim {dim} k {k}: {agree} of {n} rows agree");
        }
    }

    #[test]
    fn fast_and_generic_paths_agree() {
        let x: Vec<f32> = (0..300 * 13)
            .map(|i| ((i * 37 % 101) as f32) / 10.0)
            .collect();
        let c: Vec<f32> = x[..3 * 13].to_vec();
        let (mut l1, mut l2) = (vec![0; 300], vec![0; 300]);
        let (mut d1, mut d2) = (vec![0.0; 300], vec![0.0; 300]);
        assign_generic::<Portable>(&x, 13, &c, 3, &mut l1, &mut d1);
        assign_into(&x, 13, &c, 3, &mut l2, &mut d2);
        assert_eq!(l1, l2);
        for (a, b) in d1.iter().zip(&d2) {
            assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()));
        }
    }
}
