//! Validates a tree file (YAML, TOML or JSON, by extension) and prints it.
//!
//! ```text
//! cargo run -p supervisor-spec --example validate -- supervisor-spec/examples/trees/demo.yaml
//! cargo run -p supervisor-spec --example validate -- --dot supervisor-spec/examples/trees/demo.toml
//! ```

use std::process::ExitCode;

use supervisor_spec::SupervisorSpec;

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

    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parsed: Result<SupervisorSpec, String> = match file.rsplit('.').next() {
        Some("yaml" | "yml") => serde_saphyr::from_str(&text).map_err(|e| e.to_string()),
        Some("toml") => toml::from_str(&text).map_err(|e| e.to_string()),
        Some("json") => serde_json::from_str(&text).map_err(|e| e.to_string()),
        _ => Err("unknown extension; expected .yaml, .yml, .toml or .json".into()),
    };
    let spec = match parsed {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match spec.validate() {
        Ok(valid) => {
            if dot {
                print!("{}", valid.spec().to_dot());
            } else {
                print!("{valid}");
            }
            for w in valid.warnings() {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{file}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: validate [--dot] <tree.yaml|tree.toml|tree.json>");
    ExitCode::from(2)
}
