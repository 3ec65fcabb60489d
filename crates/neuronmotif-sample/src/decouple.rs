//! Demixing: top-down hierarchical k-means of the samples on the feature maps of the layers
//! below the neuron, one level per max-pool, `pool^motif_nb` clusters per level.

use std::collections::HashMap;
use std::sync::OnceLock;

use ndarray::Array2;
use neuronmotif_cnn::{Batch, Substructure};
use neuronmotif_field::{ShiftId, ShiftSpace};
use rand::seq::index;
use rayon::prelude::*;

use crate::crm::binned_ppm;
use crate::kmeans;
use crate::params::ValidDecoupleParams;
use crate::rng::{Purpose, Streams};
use crate::{Crm, RouteSummary, SampleError, SampleSet};

/// Samples per feature-map evaluation (bounds memory on wide maps).
const FEATURE_CHUNK: usize = 2048;

/// The feature maps of all samples are computed once, in one forward pass, and reused by every
/// node of the tree for as many layers as fit in this many bytes together; the other layers'
/// maps are computed per node, in chunks.
const CACHE_BYTES: usize = 256 << 20;

/// Feature maps of the whole sample set, per conv layer, when small enough to keep.
struct Features<'a> {
    sub: &'a Substructure,
    samples: &'a SampleSet,
    /// The conv layers the tree clusters on.
    layers: Vec<usize>,
    /// Filled on the first request: every layer that fits, from one forward pass (`None` if
    /// that failed; each node then computes its own rows and reports the error).
    cached: OnceLock<Option<HashMap<usize, Array2<f32>>>>,
}

impl Features<'_> {
    /// Rows `idx` of conv layer `l`'s flattened feature map.
    fn rows(&self, idx: &[usize], l: usize) -> Result<Array2<f32>, SampleError> {
        let cached = self.cached.get_or_init(|| self.fill().ok());
        match cached.as_ref().and_then(|c| c.get(&l)) {
            Some(m) => Ok(m.select(ndarray::Axis(0), idx)),
            None => features(self.sub, self.samples, idx, l),
        }
    }

    /// The maps of as many layers of `layers` as fit in `CACHE_BYTES` together, deepest
    /// first (a deep map is the dearest to recompute), from one forward pass per block of
    /// samples.
    fn fill(&self) -> Result<HashMap<usize, Array2<f32>>, SampleError> {
        let n = self.samples.len();
        let mut keep = Vec::new();
        let mut widths = Vec::new();
        let mut bytes = 0usize;
        for &l in self.layers.iter().rev() {
            let len = self.sub.output_len(l, self.sub.input_len()).unwrap_or(0);
            let dim = len * self.sub.channels_of(l).unwrap_or(0);
            if bytes + n * dim * 4 <= CACHE_BYTES {
                bytes += n * dim * 4;
                keep.push(l);
                widths.push(dim);
            }
        }
        let block = FEATURE_CHUNK * 4;
        if n <= block {
            // One block (the usual sample count): its maps are the result, not copied again.
            let all = self
                .sub
                .feature_maps_of(Batch::Codes(self.samples.codes.view()), &keep)?;
            let maps = all
                .into_iter()
                .map(flatten)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(keep.into_iter().zip(maps).collect());
        }
        let mut maps: Vec<Array2<f32>> = widths.iter().map(|&w| Array2::zeros((n, w))).collect();
        for start in (0..n).step_by(block) {
            let end = (start + block).min(n);
            let codes = self.samples.codes.slice(ndarray::s![start..end, ..]);
            let part = self.sub.feature_maps_of(Batch::Codes(codes), &keep)?;
            for (dst, m) in maps.iter_mut().zip(part) {
                dst.slice_mut(ndarray::s![start..end, ..])
                    .assign(&flatten(m)?);
            }
        }
        Ok(keep.into_iter().zip(maps).collect())
    }
}

/// One leaf of the demixing tree.
#[derive(Debug, Clone)]
struct Leaf {
    idx: Vec<usize>,
    digits: Vec<u64>,
}

/// Demix `samples` of neuron `channel` into CRMs, one per non-empty shift state; `routes` are
/// the samples' strongest-route input offsets ([`Substructure::strongest_route`]), summarised
/// per CRM.
pub(crate) fn decouple(
    sub: &Substructure,
    space: &ShiftSpace,
    samples: &SampleSet,
    channel: usize,
    params: &ValidDecoupleParams,
    streams: Streams,
    routes: &[u32],
) -> Result<Vec<Crm>, SampleError> {
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let mut layers: Vec<usize> = space
        .digits()
        .iter()
        .map(|d| d.conv_layer)
        .filter(|&l| l > 0)
        .collect();
    layers.sort_unstable();
    layers.dedup();
    let feats = Features {
        sub,
        samples,
        layers,
        cached: OnceLock::new(),
    };
    let node = Node {
        depth: 0,
        key: 0,
        digits: Vec::new(),
    };
    let leaves = split(
        &feats,
        space,
        samples,
        params,
        streams,
        node,
        (0..samples.len()).collect(),
    )?;
    // CRMs, then every consensus evaluated in one batch
    let rf = samples.seq_len();
    let mut crms = Vec::with_capacity(leaves.len());
    let mut consensus = Array2::<u8>::zeros((leaves.len(), rf));
    for (leaf, mut row) in leaves.iter().zip(consensus.outer_iter_mut()) {
        let part = samples.select(&leaf.idx);
        let ppm = binned_ppm(part.codes.view(), &part.act, params.ppm_bins)?;
        row.assign(&ndarray::ArrayView1::from(ppm.consensus().codes()));
        crms.push(Crm {
            layer: sub.layer(),
            neuron: channel,
            shift: space.id_of(&leaf.digits).unwrap_or(ShiftId(0)),
            motif_nb: space.motif_nb(),
            ppm,
            n: part.len(),
            act_max: part.act.iter().copied().fold(f32::NEG_INFINITY, f32::max),
            conact: 0.0,
            route: None,
        });
    }
    let conact = sub.activations(consensus.view(), channel)?;
    for (c, &a) in crms.iter_mut().zip(conact.column(0)) {
        c.conact = a;
    }
    // where each sample's strongest route enters the input: the bp offset behind a shift state
    for (c, leaf) in crms.iter_mut().zip(&leaves) {
        c.route = route_summary(leaf.idx.iter().filter_map(|&i| routes.get(i).copied()));
    }
    Ok(crms)
}

/// Where a node sits in the demixing tree.
#[derive(Debug, Clone)]
struct Node {
    depth: usize,
    /// The digits so far read as one mixed-radix number: with `depth`, names the node, so
    /// its k-means stream does not depend on the order nodes are visited.
    key: u64,
    digits: Vec<u64>,
}

/// Cluster the samples `idx` of `node` and recurse into each non-empty cluster (in parallel),
/// returning the leaves in digit order.
fn split(
    feats: &Features<'_>,
    space: &ShiftSpace,
    samples: &SampleSet,
    params: &ValidDecoupleParams,
    streams: Streams,
    node: Node,
    idx: Vec<usize>,
) -> Result<Vec<Leaf>, SampleError> {
    let all = space.digits();
    let Node {
        depth,
        key,
        mut digits,
    } = node;
    let Some(digit) = all.get(depth) else {
        return Ok(vec![Leaf { idx, digits }]);
    };
    let k = digit.radix as usize;
    if k <= 1 || digit.conv_layer == 0 || idx.len() < k || idx.len() < params.min_cluster {
        digits.resize(all.len(), 0);
        return Ok(vec![Leaf { idx, digits }]);
    }
    let mut rng = streams.get(Purpose::KMeans, key, depth as u64);
    let weights: Vec<f32> = idx
        .iter()
        .map(|&i| {
            if params.weighted {
                samples.act[i].max(1e-12)
            } else {
                1.0
            }
        })
        .collect();
    // fit on a seeded subsample when the cluster is large
    let fit_pos: Vec<usize> = if idx.len() > params.kmeans_fit_max {
        let mut v = index::sample(&mut rng, idx.len(), params.kmeans_fit_max).into_vec();
        v.sort_unstable();
        v
    } else {
        (0..idx.len()).collect()
    };
    let fit_idx: Vec<usize> = fit_pos.iter().map(|&p| idx[p]).collect();
    let fit_w: Vec<f32> = fit_pos.iter().map(|&p| weights[p]).collect();
    let x = feats.rows(&fit_idx, digit.conv_layer)?;
    let centers = kmeans::fit(
        x.view(),
        &fit_w,
        k,
        params.kmeans_runs,
        params.kmeans_max_iter,
        params.kmeans_probe_iter,
        &mut rng,
    );
    let labels = if fit_idx.len() == idx.len() {
        kmeans::assign(x.view(), &centers)
    } else {
        let mut l = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(FEATURE_CHUNK) {
            let xc = feats.rows(chunk, digit.conv_layer)?;
            l.extend(kmeans::assign(xc.view(), &centers));
        }
        l
    };
    drop(x);
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (&i, &l) in idx.iter().zip(&labels) {
        parts[l].push(i);
    }
    let children: Vec<Vec<Leaf>> = parts
        .into_par_iter()
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(j, part)| {
            let mut d = digits.clone();
            d.push(j as u64);
            let child = Node {
                depth: depth + 1,
                key: key.wrapping_mul(digit.radix).wrapping_add(j as u64),
                digits: d,
            };
            split(feats, space, samples, params, streams, child, part)
        })
        .collect::<Result<_, _>>()?;
    Ok(children.into_iter().flatten().collect())
}

/// The most common route start of a cluster and the fraction of its samples that share it
/// (ties to the smaller offset).
fn route_summary(starts: impl Iterator<Item = u32>) -> Option<RouteSummary> {
    let mut counts = std::collections::BTreeMap::<u32, usize>::new();
    let mut n = 0usize;
    for s in starts {
        *counts.entry(s).or_default() += 1;
        n += 1;
    }
    let (&offset, &c) = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    Some(RouteSummary {
        offset_bp: offset as usize,
        purity: c as f32 / n as f32,
    })
}

/// Conv layer `l`'s feature map (post-batchnorm, pre-activation) of the samples `idx`,
/// flattened to `[n, positions × channels]`.
fn features(
    sub: &Substructure,
    samples: &SampleSet,
    idx: &[usize],
    l: usize,
) -> Result<Array2<f32>, SampleError> {
    let codes = samples.select(idx).codes;
    flatten(sub.feature_map(Batch::Codes(codes.view()), l)?)
}

/// `[n, positions, channels]` as `[n, positions × channels]`.
fn flatten(map: ndarray::Array3<f32>) -> Result<Array2<f32>, SampleError> {
    let (n, len, ch) = map.dim();
    map.into_shape_with_order((n, len * ch))
        .map_err(|e| SampleError::Param {
            name: "feature map",
            value: e.to_string(),
            expected: "a contiguous array",
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuronmotif_cnn::testing::random_model;
    use rand::{Rng, SeedableRng};

    /// The cached maps, whether made in one block or several, are the rows a node would
    /// compute for itself.
    #[test]
    fn cached_feature_maps_equal_per_node_maps() {
        let model = random_model(&[(5, 4, 2), (3, 3, 2), (3, 2, 1)], 3);
        let sub = model.substructure(3).unwrap();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9);
        for n in [37, FEATURE_CHUNK * 4 + 300] {
            let len = sub.input_len();
            let codes = Array2::from_shape_fn((n, len), |_| rng.gen_range(0..4u8));
            let samples = SampleSet {
                codes,
                act: vec![0.0; n],
            };
            let feats = Features {
                sub: &sub,
                samples: &samples,
                layers: vec![1, 2],
                cached: OnceLock::new(),
            };
            let idx: Vec<usize> = (0..n).step_by(7).chain([n - 1]).collect();
            for l in [1, 2] {
                let got = feats.rows(&idx, l).unwrap();
                let want = features(&sub, &samples, &idx, l).unwrap();
                assert_eq!(got, want, "n = {n}, layer {l}");
            }
            let cached = feats.cached.get().unwrap().as_ref().unwrap();
            assert_eq!(cached.len(), 2, "both layers fit the cache");
        }
    }
}
