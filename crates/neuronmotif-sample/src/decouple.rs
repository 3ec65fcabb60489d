//! Demixing: top-down hierarchical k-means of the samples on the feature maps of the layers
//! below the neuron, one level per max-pool, `pool^motif_nb` clusters per level.

use ndarray::Array2;
use neuronmotif_cnn::{Batch, Substructure};
use neuronmotif_field::{ShiftId, ShiftSpace};
use rand::seq::index;

use crate::crm::binned_ppm;
use crate::kmeans;
use crate::params::ValidDecoupleParams;
use crate::rng::{Purpose, Streams};
use crate::{Crm, RouteSummary, SampleError, SampleSet};

/// Samples per feature-map evaluation (bounds memory on wide maps).
const FEATURE_CHUNK: usize = 2048;

/// A layer's feature map is computed once for all samples and reused by every node of the
/// tree when it fits in this many bytes; wider maps are recomputed per node, in chunks.
const CACHE_BYTES: usize = 256 << 20;

/// Feature maps of the whole sample set, per conv layer, when small enough to keep.
struct Features<'a> {
    sub: &'a Substructure,
    samples: &'a SampleSet,
    cached: std::collections::HashMap<usize, Option<Array2<f32>>>,
}

impl Features<'_> {
    /// Rows `idx` of conv layer `l`'s flattened feature map.
    fn rows(&mut self, idx: &[usize], l: usize) -> Result<Array2<f32>, SampleError> {
        if !self.cached.contains_key(&l) {
            let len = self.sub.output_len(l, self.sub.input_len()).unwrap_or(0);
            let dim = len * self.sub.channels_of(l).unwrap_or(0);
            let whole = if self.samples.len() * dim * 4 <= CACHE_BYTES {
                let all: Vec<usize> = (0..self.samples.len()).collect();
                Some(features(self.sub, self.samples, &all, l)?)
            } else {
                None
            };
            self.cached.insert(l, whole);
        }
        match self.cached.get(&l).and_then(Option::as_ref) {
            Some(m) => Ok(m.select(ndarray::Axis(0), idx)),
            None => features(self.sub, self.samples, idx, l),
        }
    }
}

/// One leaf of the demixing tree.
#[derive(Debug, Clone)]
struct Leaf {
    idx: Vec<usize>,
    digits: Vec<u64>,
}

/// Demix `samples` of neuron `channel` into CRMs, one per non-empty shift state.
pub(crate) fn decouple(
    sub: &Substructure,
    space: &ShiftSpace,
    samples: &SampleSet,
    channel: usize,
    params: &ValidDecoupleParams,
    streams: Streams,
) -> Result<Vec<Crm>, SampleError> {
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let mut leaves = Vec::new();
    let mut node = 0u64;
    let mut feats = Features {
        sub,
        samples,
        cached: Default::default(),
    };
    split(
        &mut feats,
        space,
        samples,
        params,
        streams,
        0,
        (0..samples.len()).collect(),
        Vec::new(),
        &mut node,
        &mut leaves,
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
    let routes = sub.strongest_route(Batch::Codes(samples.codes.view()), channel)?;
    for (c, leaf) in crms.iter_mut().zip(&leaves) {
        c.route = route_summary(leaf.idx.iter().map(|&i| routes[i]));
    }
    Ok(crms)
}

#[allow(clippy::too_many_arguments)]
fn split(
    feats: &mut Features<'_>,
    space: &ShiftSpace,
    samples: &SampleSet,
    params: &ValidDecoupleParams,
    streams: Streams,
    depth: usize,
    idx: Vec<usize>,
    mut digits: Vec<u64>,
    node: &mut u64,
    leaves: &mut Vec<Leaf>,
) -> Result<(), SampleError> {
    let all = space.digits();
    let stop = |d: &mut Vec<u64>| d.resize(all.len(), 0);
    let Some(digit) = all.get(depth) else {
        leaves.push(Leaf { idx, digits });
        return Ok(());
    };
    let k = digit.radix as usize;
    if k <= 1 || digit.conv_layer == 0 || idx.len() < k || idx.len() < params.min_cluster {
        stop(&mut digits);
        leaves.push(Leaf { idx, digits });
        return Ok(());
    }
    *node += 1;
    let mut rng = streams.get(Purpose::KMeans, *node, depth as u64);
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
    for j in 0..k {
        let part: Vec<usize> = idx
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == j)
            .map(|(&i, _)| i)
            .collect();
        if part.is_empty() {
            continue;
        }
        let mut d = digits.clone();
        d.push(j as u64);
        split(
            feats,
            space,
            samples,
            params,
            streams,
            depth + 1,
            part,
            d,
            node,
            leaves,
        )?;
    }
    Ok(())
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
    let map = sub.feature_map(Batch::Codes(codes.view()), l)?;
    let (n, len, ch) = map.dim();
    map.into_shape_with_order((n, len * ch))
        .map_err(|e| SampleError::Param {
            name: "feature map",
            value: e.to_string(),
            expected: "a contiguous array",
        })
}
