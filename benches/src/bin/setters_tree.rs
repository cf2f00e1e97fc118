//! Write the setters benchmark tree to disk.
//!
//! `cargo run -p gitops-benches --release --bin setters_tree -- DIR [FILES] [MARKERS_PER_FILE] [SEED]`
//! (defaults: 10000 files, 5 markers per file, seed 1).

use std::path::PathBuf;
use std::process::ExitCode;

use gitops_benches::setters_tree::{Shape, write_tree};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: setters_tree DIR [FILES] [MARKERS_PER_FILE] [SEED]");
        return ExitCode::from(2);
    };
    let mut shape = Shape::default();
    let nums: Result<Vec<u64>, _> = args.map(|a| a.parse::<u64>()).collect();
    let Ok(nums) = nums else {
        eprintln!("FILES, MARKERS_PER_FILE and SEED are numbers");
        return ExitCode::from(2);
    };
    if let Some(&n) = nums.first() {
        shape.files = n as usize;
    }
    if let Some(&n) = nums.get(1) {
        shape.markers_per_file = n as usize;
    }
    if let Some(&n) = nums.get(2) {
        shape.seed = n;
    }
    match write_tree(&dir, shape) {
        Ok(n) => {
            println!(
                "wrote {n} files with {} markers under {}",
                n * shape.markers_per_file,
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
