//! Reading a run directory (`docs/run-directory.md`) into one [`RunReport`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use neuronmotif_core::Ppm;
use neuronmotif_io::{Format, IoError, Motif};

use crate::crm_table::{parse_crms_tsv, parse_routes_tsv, CrmId};
use crate::matches::{parse_matches_tsv, MatchRow};
use crate::summary::RunSummary;
use crate::{ReportError, Result, Strand};

/// Everything the report shows, read from a run directory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunReport {
    /// The run directory it was read from.
    pub dir: PathBuf,
    /// `run.json`.
    pub summary: RunSummary,
    /// Every finished layer (its `crms.meme` exists), by layer number.
    pub layers: Vec<LayerReport>,
    /// `layer<L>` directories without `crms.meme` yet (a run still going or interrupted).
    pub unfinished_layers: Vec<u32>,
}

/// One conv layer of the run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LayerReport {
    /// Conv layer, 1-based.
    pub layer: u32,
    /// Neurons with at least one CRM, by neuron index.
    pub neurons: Vec<NeuronReport>,
    /// Whether `segments.meme` was present.
    pub has_segments: bool,
    /// Whether `matches.tsv` was present.
    pub has_matches: bool,
    /// The database motifs of `matched.meme`, by id (empty without it).
    pub targets: BTreeMap<String, TargetMotif>,
}

/// A database motif that some segment matched (from `matched.meme`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TargetMotif {
    /// Database id (`MA0139.1`).
    pub id: String,
    /// Its name (`CTCF`), when the file has one.
    pub name: Option<String>,
    /// Its matrix.
    pub ppm: Ppm,
    /// Its database page, when the file has one.
    pub url: Option<String>,
}

/// One neuron: its CRMs, highest `act_max` first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NeuronReport {
    /// Channel, 0-based.
    pub neuron: u32,
    /// CRMs sorted by `act_max`, descending (ties by shift id).
    pub crms: Vec<CrmReport>,
}

/// One CRM with its statistics, segments and their matches.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CrmReport {
    /// `L<layer>_N<neuron>_S<shift>`.
    pub id: String,
    /// Shift id.
    pub shift: u64,
    /// Sequences in the CRM.
    pub n_samples: u64,
    /// Largest activation among them.
    pub act_max: f64,
    /// Activation of the consensus sequence (`conact`).
    pub consensus_act: f64,
    /// Argmax consensus.
    pub consensus: String,
    /// The receptive-field-long PPM.
    pub ppm: Ppm,
    /// Where the strongest route of the CRM's samples enters the receptive field (bp), from
    /// `routes.tsv` when the run wrote it.
    pub route_offset_bp: Option<u64>,
    /// The share of the CRM's samples whose route starts there (0 to 1), from `routes.tsv`.
    pub route_purity: Option<f64>,
    /// Informative segments, by start; a segment that only appears in `matches.tsv` (no
    /// `segments.meme`) is cut from the CRM by the range in its id.
    pub segments: Vec<SegmentReport>,
}

/// An informative segment of a CRM and its database matches.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentReport {
    /// `<crm id>_<start>-<end>`, or the CRM id when the whole CRM was matched.
    pub id: String,
    /// First position in the CRM (receptive-field coordinates, 0-based).
    pub start: usize,
    /// One past the last position.
    pub end: usize,
    /// The segment's PPM.
    pub ppm: Ppm,
    /// Matches, smallest p-value first (ties: smaller q, then the order of `matches.tsv`,
    /// which is Tomtom's: the larger overlap, then `+` before `-`, then the target id).
    pub matches: Vec<MatchReport>,
}

/// One Tomtom row of `matches.tsv`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MatchReport {
    /// Database motif id; look it up in [`LayerReport::targets`].
    pub target_id: String,
    /// `Optimal_offset`: query column 0 sits at column `offset` of the target on `strand`.
    pub offset: i64,
    /// p-value.
    pub p_value: f64,
    /// E-value.
    pub e_value: f64,
    /// q-value (`None` when the table says `NA`).
    pub q_value: Option<f64>,
    /// Aligned columns.
    pub overlap: u64,
    /// Query consensus as Tomtom printed it.
    pub query_consensus: String,
    /// Target consensus (of the aligned strand) as Tomtom printed it.
    pub target_consensus: String,
    /// `Orientation`.
    pub strand: Strand,
}

impl LayerReport {
    /// Number of CRMs in the layer.
    pub fn crm_count(&self) -> usize {
        self.neurons.iter().map(|n| n.crms.len()).sum()
    }

    /// Number of segments in the layer, and how many of them have at least one match.
    pub fn segment_counts(&self) -> (usize, usize) {
        let segs = self
            .neurons
            .iter()
            .flat_map(|n| &n.crms)
            .flat_map(|c| &c.segments);
        segs.fold((0, 0), |(all, matched), s| {
            (all + 1, matched + usize::from(!s.matches.is_empty()))
        })
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        error: source,
    })
}

/// Read a MEME file; a file with a header but no motif is an empty list.
fn read_meme(path: &Path) -> Result<Vec<Motif>> {
    match neuronmotif_io::read_path(path, Some(Format::Meme)) {
        Ok(m) => Ok(m),
        Err(IoError::NoMotifs { .. } | IoError::EmptyInput { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

fn motif_line(m: &Motif) -> usize {
    m.source.as_ref().map_or(0, |s| s.line)
}

impl RunReport {
    /// Read a run directory: `run.json`, then every `layer<L>/` with its `crms.meme` and
    /// `crms.tsv`, and, when present, `routes.tsv`, `segments.meme`, `matches.tsv` and
    /// `matched.meme`.
    ///
    /// Absent optional files leave their sections out; a `layer<L>/` without `crms.meme` is
    /// listed as unfinished. Any malformed file, or files of one layer that disagree (a
    /// `crms.tsv` row without its matrix, a match of an unknown segment, a Tomtom offset that
    /// leaves no overlap) is an error naming the file and line.
    pub fn load(dir: impl AsRef<Path>) -> Result<RunReport> {
        let dir = dir.as_ref().to_path_buf();
        let run_json = dir.join("run.json");
        if !run_json.is_file() {
            return Err(ReportError::Missing {
                path: run_json,
                what: "run.json, written by `neuronmotif run` (is this a run directory?)",
            });
        }
        let summary = RunSummary::parse(&read_text(&run_json)?, &run_json)?;
        let mut layer_dirs = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(|source| ReportError::Io {
            path: dir.clone(),
            error: source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ReportError::Io {
                path: dir.clone(),
                error: source,
            })?;
            let name = entry.file_name();
            let Some(num) = name.to_str().and_then(|n| n.strip_prefix("layer")) else {
                continue;
            };
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let (Ok(layer), true) = (num.parse::<u32>(), entry.path().is_dir()) {
                layer_dirs.push((layer, entry.path()));
            }
        }
        layer_dirs.sort();
        let mut layers = Vec::new();
        let mut unfinished_layers = Vec::new();
        for (layer, path) in layer_dirs {
            if path.join("crms.meme").is_file() {
                layers.push(load_layer(&path, layer)?);
            } else {
                unfinished_layers.push(layer);
            }
        }
        Ok(RunReport {
            dir,
            summary,
            layers,
            unfinished_layers,
        })
    }
}

fn load_layer(dir: &Path, layer: u32) -> Result<LayerReport> {
    let meme_path = dir.join("crms.meme");
    let tsv_path = dir.join("crms.tsv");
    if !tsv_path.is_file() {
        return Err(ReportError::Missing {
            path: tsv_path,
            what: "crms.tsv, written with crms.meme",
        });
    }
    let malformed = |path: &Path, line: usize, message: String| ReportError::Malformed {
        path: path.to_path_buf(),
        line,
        message,
    };

    // CRM matrices by id.
    let mut ppms: HashMap<CrmId, (Ppm, usize)> = HashMap::new();
    for m in read_meme(&meme_path)? {
        let id = CrmId::parse(&m.id)
            .filter(|id| id.layer == layer)
            .ok_or_else(|| {
                malformed(
                    &meme_path,
                    motif_line(&m),
                    format!(
                        "motif id {:?} is not a CRM id L{layer}_N<neuron>_S<shift>",
                        m.id
                    ),
                )
            })?;
        let line = motif_line(&m);
        ppms.insert(id, (m.ppm(), line));
    }

    // Rows, joined with their matrices.
    let rows = parse_crms_tsv(&read_text(&tsv_path)?, &tsv_path, layer)?;
    let mut crms: BTreeMap<CrmId, CrmReport> = BTreeMap::new();
    for row in rows {
        let Some((ppm, _)) = ppms.remove(&row.id) else {
            let message = if crms.contains_key(&row.id) {
                format!("CRM {} appears twice", row.id)
            } else {
                format!("CRM {} has no matrix in crms.meme", row.id)
            };
            return Err(malformed(&tsv_path, row.line, message));
        };
        crms.insert(
            row.id,
            CrmReport {
                id: row.id.to_string(),
                shift: row.id.shift,
                n_samples: row.n_samples,
                act_max: row.act_max,
                consensus_act: row.consensus_act,
                consensus: row.consensus,
                ppm,
                route_offset_bp: None,
                route_purity: None,
                segments: Vec::new(),
            },
        );
    }
    if let Some((id, (_, line))) = ppms.iter().min_by_key(|(_, (_, line))| *line) {
        return Err(malformed(
            &meme_path,
            *line,
            format!("CRM {id} has no row in crms.tsv"),
        ));
    }

    // Routes.
    let routes_path = dir.join("routes.tsv");
    if routes_path.is_file() {
        for route in parse_routes_tsv(&read_text(&routes_path)?, &routes_path, layer)? {
            let crm = crms.get_mut(&route.id).ok_or_else(|| {
                malformed(
                    &routes_path,
                    route.line,
                    format!("route of unknown CRM {}", route.id),
                )
            })?;
            if crm.route_offset_bp.is_some() {
                return Err(malformed(
                    &routes_path,
                    route.line,
                    format!("CRM {} appears twice", route.id),
                ));
            }
            crm.route_offset_bp = Some(route.offset_bp);
            crm.route_purity = Some(route.purity);
        }
    }

    // Segments: segment id -> (crm, index in its list).
    let seg_path = dir.join("segments.meme");
    let has_segments = seg_path.is_file();
    let mut seg_index: HashMap<String, (CrmId, usize)> = HashMap::new();
    if has_segments {
        for m in read_meme(&seg_path)? {
            let line = motif_line(&m);
            let (crm_id, start, end) = CrmId::parse_segment(&m.id).ok_or_else(|| {
                malformed(
                    &seg_path,
                    line,
                    format!(
                        "motif id {:?} is not a segment id <crm id>_<start>-<end>",
                        m.id
                    ),
                )
            })?;
            let crm = crms.get_mut(&crm_id).ok_or_else(|| {
                malformed(&seg_path, line, format!("segment of unknown CRM {crm_id}"))
            })?;
            if end > crm.ppm.width() || end - start != m.width() {
                return Err(malformed(
                    &seg_path,
                    line,
                    format!(
                        "segment {start}-{end} of width {} does not fit CRM {crm_id} of width {}",
                        m.width(),
                        crm.ppm.width()
                    ),
                ));
            }
            seg_index.insert(m.id.clone(), (crm_id, crm.segments.len()));
            crm.segments.push(SegmentReport {
                id: m.id.clone(),
                start,
                end,
                ppm: m.ppm(),
                matches: Vec::new(),
            });
        }
    }

    // Database motifs.
    let matched_path = dir.join("matched.meme");
    let mut targets = BTreeMap::new();
    let has_targets = matched_path.is_file();
    if has_targets {
        for m in read_meme(&matched_path)? {
            let ppm = m.ppm();
            targets.insert(
                m.id.clone(),
                TargetMotif {
                    id: m.id,
                    name: m.name,
                    ppm,
                    url: m.url,
                },
            );
        }
    }

    // Matches.
    let matches_path = dir.join("matches.tsv");
    let has_matches = matches_path.is_file();
    if has_matches {
        for row in parse_matches_tsv(&read_text(&matches_path)?, &matches_path)? {
            let at = |message: String| malformed(&matches_path, row.line, message);
            let (crm_id, seg) = match seg_index.get(&row.query) {
                Some(&found) => found,
                None => {
                    let found = segment_from_id(&row, &mut crms, has_segments).map_err(&at)?;
                    seg_index.insert(row.query.clone(), found);
                    found
                }
            };
            let Some(segment) = crms.get_mut(&crm_id).and_then(|c| c.segments.get_mut(seg)) else {
                return Err(at(format!("query {} lost its segment", row.query)));
            };
            let qw = segment.ppm.width() as i64;
            if row.report.offset <= -qw {
                return Err(at(format!(
                    "offset {} leaves no overlap with the query of width {qw}",
                    row.report.offset
                )));
            }
            if has_targets {
                let target = targets.get(&row.report.target_id).ok_or_else(|| {
                    at(format!(
                        "target {} is not in matched.meme",
                        row.report.target_id
                    ))
                })?;
                let tw = target.ppm.width() as i64;
                if row.report.offset >= tw {
                    return Err(at(format!(
                        "offset {} leaves no overlap with target {} of width {tw}",
                        row.report.offset, row.report.target_id
                    )));
                }
            }
            segment.matches.push(row.report);
        }
    }

    // Assemble neurons.
    let mut neurons: BTreeMap<u32, Vec<CrmReport>> = BTreeMap::new();
    for (id, mut crm) in crms {
        crm.segments.sort_by_key(|s| (s.start, s.end));
        for s in &mut crm.segments {
            s.matches.sort_by(|a, b| {
                a.p_value.total_cmp(&b.p_value).then(
                    a.q_value
                        .unwrap_or(f64::INFINITY)
                        .total_cmp(&b.q_value.unwrap_or(f64::INFINITY)),
                )
            });
        }
        neurons.entry(id.neuron).or_default().push(crm);
    }
    let neurons = neurons
        .into_iter()
        .map(|(neuron, mut crms)| {
            crms.sort_by(|a, b| b.act_max.total_cmp(&a.act_max).then(a.shift.cmp(&b.shift)));
            NeuronReport { neuron, crms }
        })
        .collect();
    Ok(LayerReport {
        layer,
        neurons,
        has_segments,
        has_matches,
        targets,
    })
}

/// Find or make the segment a match's query names when `segments.meme` does not list it: the
/// whole CRM (query = CRM id) or, without `segments.meme`, the range in a segment id.
fn segment_from_id(
    row: &MatchRow,
    crms: &mut BTreeMap<CrmId, CrmReport>,
    has_segments: bool,
) -> std::result::Result<(CrmId, usize), String> {
    let (crm_id, range) = if let Some(id) = CrmId::parse(&row.query) {
        (id, None)
    } else if let Some((id, start, end)) = CrmId::parse_segment(&row.query) {
        if has_segments {
            return Err(format!("query {} is not in segments.meme", row.query));
        }
        (id, Some((start, end)))
    } else {
        return Err(format!(
            "query {:?} is neither a CRM id nor a segment id <crm id>_<start>-<end>",
            row.query
        ));
    };
    let crm = crms
        .get_mut(&crm_id)
        .ok_or_else(|| format!("query {} belongs to unknown CRM {crm_id}", row.query))?;
    let (start, end) = range.unwrap_or((0, crm.ppm.width()));
    let ppm = crm.ppm.slice(start..end).map_err(|_| {
        format!(
            "segment {start}-{end} does not fit CRM {crm_id} of width {}",
            crm.ppm.width()
        )
    })?;
    crm.segments.push(SegmentReport {
        id: row.query.clone(),
        start,
        end,
        ppm,
        matches: Vec::new(),
    });
    Ok((crm_id, crm.segments.len() - 1))
}
