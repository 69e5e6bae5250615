//! The corpus of invalid config files: every `tests/config-corpus/*.yaml`
//! and `*.toml` must fail to load with exactly the message in the `.err`
//! file next to it.
//!
//! Messages name their file by path; before comparing, the corpus
//! directory's absolute path (and the `/` after it) is dropped, so an
//! `.err` file reads `misspelt-restrat.yaml:5:5: unknown key ...`.
//!
//! `UPDATE_EXPECT=1 cargo test -p supervisor-spec --test config_corpus`
//! writes the `.err` files from what the loader says instead (review the
//! diff before committing it).

#![cfg(feature = "config")]

use std::path::{Path, PathBuf};

use supervisor_spec::load_config_file;

/// Fewer cases than this means files went missing.
const MIN_CASES: usize = 30;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config-corpus")
}

/// The config files of the corpus, sorted.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the corpus directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "toml")
            )
        })
        .collect();
    cases.sort();
    cases
}

fn expected_path(case: &Path) -> PathBuf {
    let mut name = case.as_os_str().to_owned();
    name.push(".err");
    PathBuf::from(name)
}

#[test]
fn every_invalid_config_fails_with_its_expected_message() {
    let cases = cases();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} corpus files",
        cases.len()
    );
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let prefix = format!("{}{}", corpus().display(), std::path::MAIN_SEPARATOR);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let actual = match load_config_file(case) {
            Ok(_) => {
                failures.push(format!(
                    "{name}: loaded, but it is in the corpus of invalid configs"
                ));
                continue;
            }
            Err(e) => e.to_string().replace(&prefix, ""),
        };
        let expected_path = expected_path(case);
        if update {
            std::fs::write(&expected_path, format!("{actual}\n")).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected.trim_end_matches('\n') == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}:\n  expected: {}\n  actual:   {actual}",
                expected.trim_end_matches('\n')
            )),
            Err(_) => failures.push(format!("{name}: no {name}.err file; actual: {actual}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed (UPDATE_EXPECT=1 rewrites the .err files):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_expected_message_has_its_config() {
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("err") {
            let case = path.with_extension("");
            assert!(case.is_file(), "{} has no config file", path.display());
        }
    }
}

#[test]
fn the_corpus_covers_both_formats() {
    let cases = cases();
    for ext in ["yaml", "toml"] {
        let n = cases
            .iter()
            .filter(|c| c.extension().and_then(|e| e.to_str()) == Some(ext))
            .count();
        assert!(n >= 10, "only {n} .{ext} cases");
    }
}
