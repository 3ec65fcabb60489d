//! Synthetic run directories written by the contract of `docs/run-directory.md`, for the
//! integration tests and the `render_run` example. Deterministic (SplitMix64 from a seed).
#![allow(dead_code)]

pub mod chromium;

use std::fmt::Write as _;
use std::path::Path;

/// One layer of a synthetic run.
#[derive(Debug, Clone)]
pub struct SynthLayer {
    pub layer: u32,
    pub neurons: u32,
    pub shifts: u32,
    pub rf: usize,
}

/// What to write.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    pub layers: Vec<SynthLayer>,
    pub segments: bool,
    pub matches: bool,
    /// Write `routes.tsv` (offset 2 bp per shift, purity 0.9).
    pub routes: bool,
    pub seed: u64,
}

impl SynthSpec {
    /// The run both report tests use: a 5-neuron layer 1 (RF 19) and a 30-neuron layer 2
    /// with 4 shift states (RF 51), with segments, matches and routes.
    pub fn two_layers(seed: u64) -> SynthSpec {
        let layer = |layer, neurons, shifts, rf| SynthLayer {
            layer,
            neurons,
            shifts,
            rf,
        };
        SynthSpec {
            layers: vec![layer(1, 5, 1, 19), layer(2, 30, 4, 51)],
            segments: true,
            matches: true,
            routes: true,
            seed,
        }
    }
}

/// What was written, for the checks.
#[derive(Debug, Clone, Default)]
pub struct SynthRun {
    /// Per layer: every CRM id.
    pub crm_ids: Vec<(u32, Vec<String>)>,
    /// Per layer: every segment id.
    pub segment_ids: Vec<(u32, Vec<String>)>,
    /// Per layer: segments with at least one match.
    pub matched_segments: Vec<(u32, usize)>,
    /// Every `matches.tsv` row: (layer, segment id, target id, offset, strand).
    pub matches: Vec<(u32, String, String, i64, char)>,
}

/// Synthetic database motifs: id, name, consensus.
pub const DB: [(&str, &str, &str); 6] = [
    ("SX0001.1", "Alpha", "CACGTG"),
    ("SX0002.1", "Beta", "TGACTCA"),
    ("SX0003.1", "Gamma", "CCGCGAGGGCGC"),
    ("SX0004.1", "Delta", "GATAAG"),
    ("SX0005.1", "Epsilon", "TTGCGCAA"),
    ("SX0006.1", "Zeta", "CAGGTG"),
];

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

fn base_index(c: char) -> usize {
    match c {
        'A' => 0,
        'C' => 1,
        'G' => 2,
        _ => 3,
    }
}

/// A database motif's rows: 0.85 on the consensus base.
pub fn db_rows(consensus: &str) -> Vec<[f64; 4]> {
    consensus
        .chars()
        .map(|c| {
            let mut r = [0.05; 4];
            r[base_index(c)] = 0.85;
            r
        })
        .collect()
}

fn rc_rows(rows: &[[f64; 4]]) -> Vec<[f64; 4]> {
    rows.iter()
        .rev()
        .map(|r| [r[3], r[2], r[1], r[0]])
        .collect()
}

fn consensus(rows: &[[f64; 4]]) -> String {
    rows.iter()
        .map(|r| {
            let mut best = 0;
            for b in 1..4 {
                if r[b] > r[best] {
                    best = b;
                }
            }
            ['A', 'C', 'G', 'T'][best]
        })
        .collect()
}

/// One motif for [`meme_text`]: id, alternate name, nsites, rows (A, C, G, T).
pub type MemeMotif = (String, Option<String>, u64, Vec<[f64; 4]>);

/// MEME minimal format text.
pub fn meme_text(motifs: &[MemeMotif]) -> String {
    let mut out = String::from(
        "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n",
    );
    for (id, name, nsites, rows) in motifs {
        let _ = write!(out, "MOTIF {id}");
        if let Some(n) = name {
            let _ = write!(out, " {n}");
        }
        let _ = writeln!(
            out,
            "\nletter-probability matrix: alength= 4 w= {} nsites= {nsites} E= 0",
            rows.len()
        );
        for r in rows {
            let s: f64 = r.iter().sum();
            let _ = writeln!(
                out,
                " {:.6}  {:.6}  {:.6}  {:.6}",
                r[0] / s,
                r[1] / s,
                r[2] / s,
                r[3] / s
            );
        }
        out.push('\n');
    }
    out
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Write a run directory into `dir`.
pub fn write_run_dir(dir: &Path, spec: &SynthSpec) -> SynthRun {
    let mut rng = Rng::new(spec.seed);
    let mut run = SynthRun::default();
    let mut model_layers = Vec::new();
    let mut results = Vec::new();
    for l in &spec.layers {
        let mut crm_motifs = Vec::new();
        let mut seg_motifs = Vec::new();
        let mut tsv =
            String::from("layer\tneuron\tshift\tn_samples\tact_max\tconsensus_act\tconsensus\n");
        let mut matches = String::from(
            "Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\tTarget_consensus\tOrientation\n",
        );
        let mut crm_ids = Vec::new();
        let mut seg_ids = Vec::new();
        let mut matched = 0;
        let mut used_targets = [false; DB.len()];
        for k in 0..l.neurons {
            for s in 0..l.shifts {
                let id = format!("L{}_N{k}_S{s}", l.layer);
                // Near-uniform background columns.
                let mut rows: Vec<[f64; 4]> = (0..l.rf)
                    .map(|_| {
                        let mut r = [0.0; 4];
                        for v in &mut r {
                            *v = 0.25 + 0.12 * (rng.f64() - 0.5);
                        }
                        r
                    })
                    .collect();
                // Every 7th neuron has no motif at all.
                let planted = k % 7 != 3;
                let t = (k as usize + s as usize) % DB.len();
                let (tid, _, tcons) = DB[t];
                let trows = db_rows(tcons);
                let strand = if (k + s) % 2 == 0 { '+' } else { '-' };
                let w = trows.len();
                let mut pos = 0;
                if planted && l.rf >= w + 4 {
                    pos = 2 + (s as usize * 3 + k as usize) % (l.rf - w - 3);
                    let emb = if strand == '+' {
                        trows.clone()
                    } else {
                        rc_rows(&trows)
                    };
                    for (j, r) in emb.iter().enumerate() {
                        let sharpen = 0.9 + 0.1 * rng.f64();
                        for b in 0..4 {
                            rows[pos + j][b] = r[b] * sharpen + 0.25 * (1.0 - sharpen);
                        }
                    }
                }
                let n_samples = 100 + rng.below(5000) as u64;
                let act = 1.0 + 9.0 * rng.f64();
                let conact = act * (0.5 + 0.4 * rng.f64());
                let alt = format!("n{n_samples}_act{act:.4}_con{conact:.4}");
                let _ = writeln!(
                    tsv,
                    "{}\t{k}\t{s}\t{n_samples}\t{act:.4}\t{conact:.4}\t{}",
                    l.layer,
                    consensus(&rows)
                );
                crm_ids.push(id.clone());
                if planted && l.rf >= w + 4 {
                    let start = pos - 2;
                    let end = (pos + w + 2).min(l.rf);
                    let seg_id = format!("{id}_{start}-{end}");
                    let seg_rows = rows[start..end].to_vec();
                    if spec.matches && (k + s) % 5 != 4 {
                        used_targets[t] = true;
                        matched += 1;
                        let offset = -((pos - start) as i64);
                        let p = 10f64.powf(-4.0 - 6.0 * rng.f64());
                        let aligned = if strand == '+' {
                            trows.clone()
                        } else {
                            rc_rows(&trows)
                        };
                        let _ = writeln!(
                            matches,
                            "{seg_id}\t{tid}\t{offset}\t{p:e}\t{:e}\t{:e}\t{w}\t{}\t{}\t{strand}",
                            p * DB.len() as f64,
                            p * 3.0,
                            consensus(&seg_rows),
                            consensus(&aligned)
                        );
                        run.matches
                            .push((l.layer, seg_id.clone(), tid.to_owned(), offset, strand));
                        // A weaker second match, overlapping by at least one column.
                        let t2 = (t + 1) % DB.len();
                        let (tid2, _, tcons2) = DB[t2];
                        let w2 = tcons2.len() as i64;
                        let qw = seg_rows.len() as i64;
                        let offset2 = -(qw - 1) + (rng.below((qw + w2 - 1) as usize) as i64);
                        let p2 = (p * 1e3).min(0.01);
                        used_targets[t2] = true;
                        let strand2 = if rng.below(2) == 0 { '+' } else { '-' };
                        let _ = writeln!(
                            matches,
                            "{seg_id}\t{tid2}\t{offset2}\t{p2:e}\t{:e}\t{:e}\t{}\t{}\t{}\t{strand2}",
                            p2 * DB.len() as f64,
                            (p2 * 3.0).min(0.5),
                            w2.min(qw),
                            consensus(&seg_rows),
                            tcons2
                        );
                        run.matches.push((
                            l.layer,
                            seg_id.clone(),
                            tid2.to_owned(),
                            offset2,
                            strand2,
                        ));
                    }
                    seg_ids.push(seg_id.clone());
                    seg_motifs.push((seg_id, Some(alt.clone()), n_samples, seg_rows));
                }
                crm_motifs.push((id, Some(alt), n_samples, rows));
            }
        }
        let ldir = dir.join(format!("layer{}", l.layer));
        write(&ldir.join("crms.meme"), &meme_text(&crm_motifs));
        write(&ldir.join("crms.tsv"), &tsv);
        if spec.segments {
            write(&ldir.join("segments.meme"), &meme_text(&seg_motifs));
        }
        if spec.matches {
            matches.push_str("\n# Tomtom-compatible output of a synthetic test run\n");
            write(&ldir.join("matches.tsv"), &matches);
            let targets: Vec<_> = DB
                .iter()
                .zip(used_targets)
                .filter(|(_, used)| *used)
                .map(|((id, name, cons), _)| {
                    (id.to_string(), Some(name.to_string()), 20, db_rows(cons))
                })
                .collect();
            write(&ldir.join("matched.meme"), &meme_text(&targets));
        }
        if spec.routes {
            let mut routes = String::from("id\toffset_bp\tpurity\n");
            for id in &crm_ids {
                let shift: u32 = id.rsplit_once("_S").unwrap().1.parse().unwrap();
                let _ = writeln!(routes, "{id}\t{}\t0.9000", shift * 2);
            }
            write(&ldir.join("routes.tsv"), &routes);
        }
        run.crm_ids.push((l.layer, crm_ids));
        run.segment_ids.push((l.layer, seg_ids));
        run.matched_segments.push((l.layer, matched));
        model_layers.push(format!(
            "{{\"layer\": {}, \"name\": \"conv{}\", \"neurons\": {}, \"rf\": {}, \"shifts\": {}}}",
            l.layer, l.layer, l.neurons, l.rf, l.shifts
        ));
        results.push(format!(
            "{{\"layer\": {}, \"rf\": {}, \"neurons\": {}, \"crms\": {}, \"motif_nb\": 1, \
             \"motif_nb_tried\": [[1, 1.0, true]], \"samples\": {}, \"sampling_s\": 1.5, \
             \"decoupling_s\": 0.25, \"matching_s\": 0.5, \"wall_s\": 2.25}}",
            l.layer,
            l.rf,
            l.neurons,
            l.neurons * l.shifts,
            1000 * l.neurons
        ));
    }
    let run_json = format!(
        "{{\n  \"neuronmotif_version\": \"0.1.0\",\n  \"status\": \"complete\",\n  \
         \"model\": {{\"path\": \"synthetic.safetensors\", \"alphabet\": \"ACGT\", \"conv_layers\": {},\n    \
         \"layers\": [{}]}},\n  \"seed\": {}, \"threads\": 2,\n  \"layers\": [{}], \"neurons\": \"all\", \
         \"motif_nb\": \"auto\", \"db\": {},\n  \"sampler\": {{\"population\": 1000, \"generations\": 20}},\n  \
         \"decouple\": {{\"min_samples\": 30}},\n  \"results\": [{}],\n  \"total_s\": 12.3\n}}\n",
        spec.layers.len(),
        model_layers.join(", "),
        spec.seed,
        spec.layers
            .iter()
            .map(|l| l.layer.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        if spec.matches { "\"synthetic-db.meme\"" } else { "null" },
        results.join(", ")
    );
    write(&dir.join("run.json"), &run_json);
    run
}

/// Every `<svg ...>...</svg>` fragment of a page (logos are never nested).
pub fn svg_fragments(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<svg") {
        let Some(j) = rest[i..].find("</svg>") else {
            break;
        };
        out.push(&rest[i..i + j + 6]);
        rest = &rest[i + j + 6..];
    }
    out
}
