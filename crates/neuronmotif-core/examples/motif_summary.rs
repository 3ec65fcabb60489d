//! Summarise aligned sites as a motif: consensus, IUPAC consensus, information content.
//!
//! `cargo run -p neuronmotif-core --example motif_summary -- CAGGTG CAGGTA CAGGTG`
//! (with no arguments it uses a few ZEB1-like sites).

use neuronmotif_core::{CountMatrix, DnaSeq};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sites: Vec<String> = if args.is_empty() {
        ["CAGGTG", "CAGGTA", "CAGGTG", "CACCTG", "CAGGTG"]
            .map(String::from)
            .to_vec()
    } else {
        args
    };
    let seqs = sites
        .iter()
        .map(|s| DnaSeq::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let ppm = CountMatrix::from_seqs(&seqs)?.to_ppm()?;
    println!("sites      {}", seqs.len());
    println!("consensus  {}", ppm.consensus());
    println!("IUPAC      {}", ppm.iupac_consensus());
    println!("revcomp    {}", ppm.reverse_complement().consensus());
    let ic: Vec<String> = ppm.ic_bits().iter().map(|v| format!("{v:.2}")).collect();
    println!(
        "IC (bits)  {}  total {:.2}",
        ic.join(" "),
        ppm.total_ic_bits()
    );
    Ok(())
}
