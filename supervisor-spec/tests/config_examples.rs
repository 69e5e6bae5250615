//! The example configs: every one loads, and the demo's tree files load to
//! exactly the spec the demo builds in Rust.

#![cfg(feature = "config")]

use std::path::{Path, PathBuf};

use supervisor_spec::{ConfigFormat, load_config_file};

#[path = "../../examples/demo_tree.rs"]
mod demo_tree;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every YAML and TOML file in the example directories.
fn example_configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples", "supervisor-spec/examples/trees"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if ConfigFormat::from_path(&path).is_some() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_example_config_loads() {
    let files = example_configs();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        if let Err(e) = load_config_file(&file) {
            panic!("{e}");
        }
    }
}

#[test]
fn the_demo_config_files_are_the_demo_tree() {
    let built = demo_tree::spec().unwrap();
    for file in ["examples/demo.yaml", "examples/demo.toml"] {
        let loaded = load_config_file(repo().join(file)).unwrap().into_inner();
        assert_eq!(loaded, built, "{file}");
    }
}

#[test]
fn yaml_and_toml_versions_of_an_example_are_the_same_tree() {
    let trees = repo().join("supervisor-spec/examples/trees");
    let yaml = load_config_file(trees.join("demo.yaml")).unwrap();
    let toml = load_config_file(trees.join("demo.toml")).unwrap();
    assert_eq!(yaml, toml);
}
