//! `cargo xtask <task>`: the project's automation, written in Rust instead of shell scripts.

fn main() {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        None | Some("help") | Some("--help") => {
            println!("cargo xtask <task>\n\ntasks:\n  help    this text");
        }
        Some(other) => {
            eprintln!("unknown task {other:?}; run `cargo xtask help`");
            std::process::exit(2);
        }
    }
}
