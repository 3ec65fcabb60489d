//! The motifs Tomtom compares, and how they are pseudocounted.

use neuronmotif_core::{Background, Base, Ppm};

use crate::params::{symmetrize, DEFAULT_NSITES};
use crate::TomtomError;

/// A motif as Tomtom sees it: an ID, a probability matrix, the number of sites behind it and the
/// background of the file it came from.
///
/// `nsites` and `background` only matter through the pseudocount (see
/// [`TomtomMotif::pseudocounted_columns`]): a motif written with `nsites= 20` and one written with
/// `nsites= 1000` compare differently, exactly as in MEME.
#[derive(Debug, Clone, PartialEq)]
pub struct TomtomMotif {
    /// The motif ID (`MOTIF <id>` in MEME format), printed in the `Query_ID`/`Target_ID` columns.
    pub id: String,
    /// The probabilities, `[w, 4]` in ACGT order.
    pub ppm: Ppm,
    /// Number of sites (`nsites=`); `None` or 0 means Tomtom's default of 20.
    pub nsites: Option<f64>,
    /// Background letter frequencies of the motif's file (uniform by default). Used for the
    /// query's pseudocount; made strand-symmetric first, as MEME does.
    pub background: Background,
    /// The probabilities exactly as a file wrote them (MEME-normalised, see
    /// [`TomtomMotif::from_written_rows`]), with the `ppm` they were made for: they are used
    /// only while `ppm` is still that matrix, so replacing the public `ppm` cannot leave stale
    /// rows behind.
    written: Option<(Ppm, Vec<[f64; 4]>)>,
}

/// MEME leaves a probability row alone when its total is within this of 1 (`normalize_motif`
/// with tolerance 0.00001 when it reads a motif); other rows are divided by their total.
pub const MEME_NORMALIZE_TOLERANCE: f64 = 1e-5;

impl TomtomMotif {
    /// A motif with a uniform background.
    pub fn new(id: impl Into<String>, ppm: Ppm, nsites: Option<f64>) -> TomtomMotif {
        TomtomMotif {
            id: id.into(),
            ppm,
            nsites,
            background: Background::UNIFORM,
            written: None,
        }
    }

    /// A motif from probability rows as a file wrote them (`[w, 4]`, ACGT). Like MEME's
    /// reader, rows must sum to 1 within 0.1 (the [`Ppm`] gets them renormalised), and the
    /// comparison uses each row as written when it sums to 1 within
    /// [`MEME_NORMALIZE_TOLERANCE`], renormalised otherwise. This is what makes six-decimal
    /// MEME files score exactly as in MEME.
    pub fn from_written_rows(
        id: impl Into<String>,
        rows: ndarray::ArrayView2<'_, f64>,
        nsites: Option<f64>,
    ) -> Result<TomtomMotif, TomtomError> {
        let id = id.into();
        let ppm = Ppm::with_tolerance(rows.to_owned(), 0.1).map_err(|e| match e {
            neuronmotif_core::CoreError::BadEntry { pos, base, value } => {
                TomtomError::BadProbability {
                    id: id.clone(),
                    pos,
                    base,
                    value,
                }
            }
            other => TomtomError::BadMatrix {
                id: id.clone(),
                message: other.to_string(),
            },
        })?;
        let written = rows
            .outer_iter()
            .map(|r| {
                let row = [r[0], r[1], r[2], r[3]];
                let total: f64 = ((row[0] + row[1]) + row[2]) + row[3];
                if (1.0 - total).abs() <= MEME_NORMALIZE_TOLERANCE {
                    row
                } else {
                    row.map(|v| v / total)
                }
            })
            .collect();
        Ok(TomtomMotif {
            id,
            ppm: ppm.clone(),
            nsites,
            background: Background::UNIFORM,
            written: Some((ppm, written)),
        })
    }

    /// The same motif with another matrix (forgetting any rows as written).
    pub fn with_ppm(mut self, ppm: Ppm) -> TomtomMotif {
        self.ppm = ppm;
        self.written = None;
        self
    }

    /// The columns the comparison starts from: the rows as written (see
    /// [`TomtomMotif::from_written_rows`]) when known and `ppm` has not been replaced since,
    /// else the normalised `ppm`.
    pub fn probability_columns(&self) -> Vec<[f64; 4]> {
        match &self.written {
            Some((made_for, rows)) if *made_for == self.ppm => rows.clone(),
            _ => self
                .ppm
                .view()
                .outer_iter()
                .map(|r| [r[0], r[1], r[2], r[3]])
                .collect(),
        }
    }

    /// The same motif with another background.
    pub fn with_background(mut self, bg: Background) -> TomtomMotif {
        self.background = bg;
        self
    }

    /// Motif width.
    pub fn width(&self) -> usize {
        self.ppm.width()
    }

    /// Check what [`Ppm`] cannot guarantee by itself: at least one position and a usable
    /// `nsites`.
    pub(crate) fn validate(&self) -> Result<(), TomtomError> {
        if self.ppm.width() == 0 {
            return Err(TomtomError::ZeroWidth {
                id: self.id.clone(),
            });
        }
        width_fits(&self.id, self.ppm.width())?;
        if let Some(n) = self.nsites {
            if !(n.is_finite() && n >= 0.0) {
                return Err(TomtomError::BadNsites {
                    id: self.id.clone(),
                    value: n,
                });
            }
        }
        for (pos, row) in self.ppm.view().outer_iter().enumerate() {
            for (b, &v) in row.iter().enumerate() {
                if !(v.is_finite() && (0.0..=1.0 + 1e-9).contains(&v)) {
                    return Err(TomtomError::BadProbability {
                        id: self.id.clone(),
                        pos,
                        base: Base::ALL[b].letter(),
                        value: v,
                    });
                }
            }
        }
        Ok(())
    }

    /// The site count the pseudocount uses: `nsites` truncated to an integer, or 20 when it is
    /// absent or 0. MEME stores the count in a C `int`, so `nsites= 43.9` counts as 43 and a
    /// fractional `nsites` below 1 counts as 0 (the matrix then becomes its background).
    pub fn pseudocount_sites(&self) -> f64 {
        match self.nsites {
            Some(n) if n > 0.0 => n.trunc(),
            _ => DEFAULT_NSITES,
        }
    }

    /// The columns after Tomtom's pseudocount,
    /// `p' = (p * sites + m * bg) / (sites + m)` with `sites` from
    /// [`TomtomMotif::pseudocount_sites`], `m` the pseudocount weight and `bg` the given
    /// background made strand-symmetric. A weight of 0 leaves the matrix unchanged.
    pub fn pseudocounted_columns(&self, m: f64, bg: Background) -> Vec<[f64; 4]> {
        pseudocount(
            self.probability_columns(),
            self.pseudocount_sites(),
            m,
            symmetrize(bg),
        )
    }
}

/// Widths above this are rejected: offsets and overlaps are reported in 32 bits
/// ([`crate::MatchRow`]). (A matrix that wide would not fit in memory anyway.)
const MAX_WIDTH: usize = i32::MAX as usize;

/// [`TomtomMotif::validate`]'s width limit, apart so that it can be tested without such a
/// matrix.
fn width_fits(id: &str, width: usize) -> Result<(), TomtomError> {
    if width > MAX_WIDTH {
        return Err(TomtomError::BadMatrix {
            id: id.to_string(),
            message: format!("{width} positions: at most {MAX_WIDTH} are supported"),
        });
    }
    Ok(())
}

impl From<&neuronmotif_io::Motif> for TomtomMotif {
    /// The motif's id, probabilities, `nsites` and file background (uniform when the file
    /// declares none). Probability matrices keep their rows as written (see
    /// [`TomtomMotif::from_written_rows`]); count matrices use their normalised probabilities.
    fn from(m: &neuronmotif_io::Motif) -> Self {
        let background = m.background.unwrap_or(Background::UNIFORM);
        let written = match m.matrix.kind() {
            neuronmotif_io::MatrixKind::Probabilities => {
                TomtomMotif::from_written_rows(m.id.clone(), m.matrix.values(), m.nsites).ok()
            }
            neuronmotif_io::MatrixKind::Counts => None,
        };
        written
            .unwrap_or_else(|| TomtomMotif::new(m.id.clone(), m.matrix.ppm().clone(), m.nsites))
            .with_background(background)
    }
}

impl From<neuronmotif_io::Motif> for TomtomMotif {
    fn from(m: neuronmotif_io::Motif) -> Self {
        TomtomMotif::from(&m)
    }
}

/// The background MEME's Tomtom takes from a query file: its `Background letter frequencies`,
/// else uniform. Pass it to [`crate::TomtomParams::background`].
pub fn file_background(file: &neuronmotif_io::MotifFile) -> Background {
    file.meme_header
        .as_ref()
        .and_then(|h| h.background.as_ref())
        .map_or(Background::UNIFORM, |b| b.background())
}

/// Every motif of a file read by `neuronmotif-io`, as Tomtom inputs. A MEME file that declares
/// an alphabet other than DNA (`ACGT`, `DNA`) is rejected with
/// [`TomtomError::WrongAlphabet`], naming its first motif.
pub fn motifs_from_file(file: &neuronmotif_io::MotifFile) -> Result<Vec<TomtomMotif>, TomtomError> {
    if let Some(alphabet) = file
        .meme_header
        .as_ref()
        .and_then(|h| h.alphabet.as_deref())
    {
        let a = alphabet.trim().to_ascii_uppercase();
        if a != "ACGT" && a != "DNA" {
            return Err(TomtomError::WrongAlphabet {
                id: file
                    .motifs
                    .first()
                    .map_or_else(String::new, |m| m.id.clone()),
                alphabet: alphabet.to_string(),
            });
        }
    }
    let bg = file_background(file);
    Ok(file
        .motifs
        .iter()
        .map(|m| {
            let mut t = TomtomMotif::from(m);
            if m.background.is_none() {
                t.background = bg;
            }
            t
        })
        .collect())
}

/// `(p * sites + m * bg) / (sites + m)` per cell, in MEME's order of operations.
pub(crate) fn pseudocount(
    cols: Vec<[f64; 4]>,
    sites: f64,
    m: f64,
    bg: Background,
) -> Vec<[f64; 4]> {
    let f = bg.freqs();
    let total = sites + m;
    cols.into_iter()
        .map(|mut col| {
            if m > 0.0 && total > 0.0 {
                for (b, v) in col.iter_mut().enumerate() {
                    *v = (*v * sites + m * f[b]) / total;
                }
            }
            col
        })
        .collect()
}

/// Reverse complement of a list of ACGT columns.
pub(crate) fn reverse_complement_columns(cols: &[[f64; 4]]) -> Vec<[f64; 4]> {
    cols.iter()
        .rev()
        .map(|c| [c[3], c[2], c[1], c[0]])
        .collect()
}

/// Consensus of pseudocounted columns: the most probable letter, ties to the earlier letter in
/// ACGT order (MEME's `get_cons`, which compares in single precision: a letter must beat the
/// current best by more than `f32` rounding to replace it).
pub(crate) fn consensus(cols: &[[f64; 4]]) -> String {
    cols.iter()
        .map(|c| {
            let mut best = 0;
            // MEME keeps the running maximum in a C float.
            let mut max = c[0] as f32;
            for (b, &v) in c.iter().enumerate().skip(1) {
                if v > f64::from(max) {
                    max = v as f32;
                    best = b;
                }
            }
            Base::ALL[best].letter()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn motif(rows: ndarray::Array2<f64>, nsites: Option<f64>) -> TomtomMotif {
        TomtomMotif::new("m", Ppm::new(rows).unwrap(), nsites)
    }

    #[test]
    fn widths_beyond_32_bit_offsets_are_rejected_by_name() {
        assert!(width_fits("m", MAX_WIDTH).is_ok());
        let e = width_fits("wide", MAX_WIDTH + 1).unwrap_err();
        assert!(matches!(&e, TomtomError::BadMatrix { id, .. } if id == "wide"));
        assert!(e.to_string().contains("2147483648 positions"), "{e}");
    }

    #[test]
    fn pseudocount_formula_and_default_sites() {
        let m = motif(array![[1.0, 0.0, 0.0, 0.0]], None);
        assert_eq!(m.pseudocount_sites(), 20.0);
        let c = m.pseudocounted_columns(0.1, Background::UNIFORM);
        // (1*20 + 0.1*0.25)/20.1 and (0 + 0.025)/20.1
        assert!((c[0][0] - 20.025 / 20.1).abs() < 1e-15);
        assert!((c[0][1] - 0.025 / 20.1).abs() < 1e-15);
        let sum: f64 = c[0].iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        // nsites is truncated like a C int; 0 means the default.
        assert_eq!(
            motif(array![[1.0, 0.0, 0.0, 0.0]], Some(43.9)).pseudocount_sites(),
            43.0
        );
        assert_eq!(
            motif(array![[1.0, 0.0, 0.0, 0.0]], Some(0.0)).pseudocount_sites(),
            20.0
        );
        assert_eq!(
            motif(array![[1.0, 0.0, 0.0, 0.0]], Some(0.5)).pseudocount_sites(),
            0.0
        );
        // A weight of zero leaves the matrix alone.
        assert_eq!(
            m.pseudocounted_columns(0.0, Background::UNIFORM)[0],
            [1.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn pseudocount_uses_symmetrized_background() {
        let m = motif(array![[0.0, 0.0, 0.0, 1.0]], Some(9.9));
        let bg = Background::new([0.4, 0.1, 0.1, 0.4]).unwrap();
        let c = m.pseudocounted_columns(1.0, bg);
        // sites = 9; A: (0 + 1*0.4)/10
        assert!((c[0][0] - 0.04).abs() < 1e-15);
        assert!((c[0][3] - 0.94).abs() < 1e-15);
    }

    #[test]
    fn validation() {
        let e = TomtomMotif::new("empty", Ppm::uniform(0), None)
            .validate()
            .unwrap_err();
        assert_eq!(e, TomtomError::ZeroWidth { id: "empty".into() });
        let e = TomtomMotif::new("n", Ppm::uniform(2), Some(f64::NAN))
            .validate()
            .unwrap_err();
        assert!(matches!(e, TomtomError::BadNsites { .. }));
        assert!(TomtomMotif::new("n", Ppm::uniform(2), Some(-1.0))
            .validate()
            .is_err());
        assert!(TomtomMotif::new("ok", Ppm::uniform(2), Some(3.0))
            .validate()
            .is_ok());
    }

    #[test]
    fn from_io_motif_and_file() {
        let text = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n\
            Background letter frequencies\nA 0.3 C 0.2 G 0.2 T 0.3\n\n\
            MOTIF M1 one\nletter-probability matrix: alength= 4 w= 2 nsites= 17 E= 0\n\
            0.1 0.2 0.3 0.4\n0.7 0.1 0.1 0.1\n\n";
        let file =
            neuronmotif_io::MotifFile::read_str(text, &neuronmotif_io::ReadOptions::default())
                .unwrap();
        let ms = motifs_from_file(&file).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].id, "M1");
        assert_eq!(ms[0].nsites, Some(17.0));
        assert_eq!(ms[0].width(), 2);
        assert!((ms[0].background.freqs()[0] - 0.3).abs() < 1e-12);
        assert!((file_background(&file).freqs()[3] - 0.3).abs() < 1e-12);
        let direct = TomtomMotif::from(file.motifs[0].clone());
        assert_eq!(direct.ppm, ms[0].ppm);
    }

    #[test]
    fn written_rows_are_kept_within_meme_tolerance() {
        let rows = array![[0.1, 0.2, 0.3, 0.400001], [0.5, 0.5, 0.05, 0.0]];
        let m = TomtomMotif::from_written_rows("w", rows.view(), None).unwrap();
        let cols = m.probability_columns();
        // Row 0 sums to 1.000001: used as written. Row 1 sums to 1.05: renormalised.
        assert_eq!(cols[0], [0.1, 0.2, 0.3, 0.400001]);
        assert!((cols[1][2] - 0.05 / 1.05).abs() < 1e-15);
        // The Ppm is renormalised either way.
        assert!((m.ppm.view().row(0).sum() - 1.0).abs() < 1e-15);
        // Replacing the matrix forgets the written rows, also through the public field.
        let n = m.clone().with_ppm(Ppm::uniform(2));
        assert_eq!(n.probability_columns()[0], [0.25; 4]);
        let mut f = m.clone();
        f.ppm = Ppm::uniform(2);
        assert_eq!(f.probability_columns()[1], [0.25; 4]);
        let e = TomtomMotif::from_written_rows("bad", array![[0.5, 0.1, 0.1, 0.1]].view(), None)
            .unwrap_err();
        assert!(e.to_string().contains("bad"));
    }

    #[test]
    fn consensus_ties_to_earlier_letter() {
        let cols = [[0.4, 0.4, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4], [0.25; 4]];
        assert_eq!(consensus(&cols), "ATA");
        let rc = reverse_complement_columns(&cols);
        assert_eq!(rc[2], [0.1, 0.1, 0.4, 0.4]);
        assert_eq!(consensus(&rc), "AAG");
    }
}
