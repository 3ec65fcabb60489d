//! Layer tables round-trip, and corrupt ones are refused with a message naming the problem.
#![allow(clippy::unwrap_used)]

use neuronmotif_core::Ppm;
use neuronmotif_field::ShiftId;
use neuronmotif_sample::*;
use proptest::prelude::*;

fn table(ppms: Vec<Ppm>) -> LayerTable {
    let crms = ppms
        .into_iter()
        .enumerate()
        .map(|(i, ppm)| Crm {
            layer: 2,
            neuron: i % 3,
            shift: ShiftId(i as u64),
            motif_nb: 1 + (i % 2) as u32,
            ppm,
            n: 10 * i,
            act_max: i as f32 * 0.5,
            conact: i as f32 * 0.25,
            route: (i % 2 == 0).then_some(RouteSummary {
                offset_bp: i,
                purity: 0.5,
            }),
        })
        .collect();
    LayerTable {
        layer: 2,
        rf: 12,
        neurons: 3,
        crms,
    }
}

proptest! {
    #[test]
    fn round_trip(ppms in proptest::collection::vec(neuronmotif_core::testing::ppm(12..13), 0..8)) {
        let t = table(ppms);
        let back = LayerTable::from_bytes(&t.to_bytes().unwrap(), "t").unwrap();
        prop_assert_eq!(back.crms.len(), t.crms.len());
        for (a, b) in back.crms.iter().zip(&t.crms) {
            // PPMs are stored as f32
            prop_assert!(a.ppm.view().iter().zip(b.ppm.view()).all(|(x, y)| (x - y).abs() < 1e-6));
            prop_assert_eq!((a.neuron, a.shift, a.n, a.motif_nb, a.act_max, a.conact), (b.neuron, b.shift, b.n, b.motif_nb, b.act_max, b.conact));
            prop_assert_eq!(&a.route, &b.route);
        }
    }
}

#[test]
fn corrupt_tables_are_refused() {
    let t = table(vec![Ppm::uniform(12); 3]);
    let bytes = t.to_bytes().unwrap();
    let e = LayerTable::from_bytes(&bytes[..bytes.len() - 10], "layer2/table.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("layer table layer2/table.safetensors: not a safetensors file"),
        "{e}"
    );
    let e = LayerTable::from_bytes(b"garbage", "x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a safetensors file"), "{e}");
    // a neuron index beyond the layer
    let mut bad = t.clone();
    bad.crms[1].neuron = 7;
    let e = LayerTable::from_bytes(&bad.to_bytes().unwrap(), "x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("entry 1 is out of range"), "{e}");
    let dir = std::env::temp_dir().join(format!("nm-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("t.safetensors");
    t.save(&p).unwrap();
    assert_eq!(LayerTable::load(&p).unwrap().crms.len(), 3);
    assert!(LayerTable::load(&dir.join("missing"))
        .unwrap_err()
        .to_string()
        .contains("missing"));
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A damaged table (byte flips, truncation) is an error or a table, never a panic; a table
    /// that still loads keeps every invariant `from_bytes` promises (PPM widths = rf).
    #[test]
    fn damaged_tables_never_panic(
        flips in proptest::collection::vec((0.0..1.0f64, any::<u8>()), 1..8),
        keep in prop_oneof![Just(1.0), 0.0..1.0f64],
    ) {
        let mut bytes = table(vec![Ppm::uniform(12); 4]).to_bytes().unwrap();
        let n = bytes.len();
        for (at, v) in flips {
            bytes[((at * n as f64) as usize).min(n - 1)] = v;
        }
        bytes.truncate(((keep * n as f64) as usize).max(1));
        if let Ok(t) = LayerTable::from_bytes(&bytes, "damaged") {
            prop_assert!(t.crms.iter().all(|c| c.ppm.width() == t.rf));
        }
    }
}
