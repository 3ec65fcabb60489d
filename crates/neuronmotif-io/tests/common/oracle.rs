// The round-trip oracle shared by the fuzz targets (`fuzz/src/lib.rs` includes this file) and
// the regression test that replays their crashes: parsing arbitrary bytes never panics, and
// whatever parses can be written in every format that accepts it and read back to the same
// motifs (the same text, when written again in its own format).

use neuronmotif_io::{write_string, Format, IoError, MotifFile, ReadOptions, WriteOptions};

/// Parse `data` as `format` (or detect it), then check the write/read round trip.
pub fn check_round_trip(data: &[u8], format: Option<Format>) {
    let mut options = ReadOptions::default();
    options.format = format;
    let Ok(file) = MotifFile::from_reader(data, "<fuzz>", &options) else {
        return;
    };
    for motif in &file.motifs {
        let ppm = motif.ppm();
        for row in ppm.view().outer_iter() {
            let total: f64 = row.sum();
            assert!(
                (total - 1.0).abs() < 1e-9,
                "{}: row total {total}",
                motif.id
            );
        }
    }
    for target in Format::ALL {
        let mut write_options = WriteOptions::default();
        if target == file.format {
            write_options.meme_header = file.meme_header.clone();
        }
        let text = match write_string(target, &file.motifs, &write_options) {
            Ok(text) => text,
            Err(IoError::Unwritable { .. }) if target != file.format => continue,
            Err(e) => panic!("writing {} as {target}: {e}", file.format),
        };
        let back =
            MotifFile::read_str(&text, &ReadOptions::with_format(target)).unwrap_or_else(|e| {
                panic!(
                    "{} -> {target} does not read back: {e}\n{text}",
                    file.format
                )
            });
        assert_eq!(back.motifs.len(), file.motifs.len());
        for (a, b) in file.motifs.iter().zip(&back.motifs) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.width(), b.width());
            let tolerance = if target == Format::Meme { 1e-5 } else { 1e-9 };
            let diff = (&a.ppm().into_array() - &b.ppm().into_array())
                .mapv(f64::abs)
                .fold(0.0f64, |m, &d| m.max(d));
            assert!(
                diff <= tolerance,
                "{} -> {target}: {} differs by {diff}",
                file.format,
                a.id
            );
        }
        if target == file.format && target != Format::Pfm {
            // Same format: the text must be stable from now on.
            let again = write_string(target, &back.motifs, &write_options).unwrap();
            assert_eq!(again, text);
        }
    }
}
