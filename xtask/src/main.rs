//! `cargo xtask`: project automation.
//!
//! - `cargo xtask tidy`: checks the workspace's dependency direction
//!   (spec <- policy <- runtime <- observe, no tokio below the runtime).
//! - `cargo xtask schema [--check]`: writes (or checks) the JSON Schema of
//!   the config format, `schema/supervisor.schema.json`.

mod schema;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tidy") => match tidy::check_workspace() {
            Ok(()) => {
                println!("tidy: dependency direction ok");
                ExitCode::SUCCESS
            }
            Err(problems) => {
                for p in problems {
                    eprintln!("tidy: {p}");
                }
                ExitCode::FAILURE
            }
        },
        Some("schema") => {
            let check = match args.get(1).map(String::as_str) {
                None => false,
                Some("--check") => true,
                Some(other) => {
                    eprintln!(
                        "schema: unknown argument {other:?}; usage: cargo xtask schema [--check]"
                    );
                    return ExitCode::from(2);
                }
            };
            match schema::run(check) {
                Ok(msg) => {
                    println!("schema: {msg}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("schema: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: cargo xtask tidy | cargo xtask schema [--check]");
            ExitCode::from(2)
        }
    }
}
