//! Validates a tree file (YAML or TOML, by extension) and prints it.
//!
//! ```text
//! cargo run -p supervisor-spec --example validate -- examples/demo.yaml
//! cargo run -p supervisor-spec --example validate -- --dot examples/demo.toml
//! ```
//!
//! Errors are printed as the loader words them, placed in the file
//! (`tree.yaml:4:5: unknown key ...`), and the exit status is 1.

use std::error::Error as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut dot = false;
    let mut file = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--dot" => dot = true,
            _ if file.is_none() => file = Some(arg),
            _ => return usage(),
        }
    }
    let Some(file) = file else { return usage() };

    match supervisor_spec::load_config_file(&file) {
        Ok(valid) => {
            if dot {
                print!("{}", valid.spec().to_dot());
            } else {
                print!("{valid}");
            }
            for w in valid.warnings() {
                eprintln!("{file}: warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprint!(": {s}");
                source = s.source();
            }
            eprintln!();
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: validate [--dot] <tree.yaml|tree.yml|tree.toml>");
    ExitCode::from(2)
}
