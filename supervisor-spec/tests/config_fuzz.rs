//! Properties of the loader on hostile input: random bytes and random
//! mutations of the valid example configs (byte flips, deletions, duplicated
//! lines) never panic; each gives either an error that names its source or a
//! tree that validates.

#![cfg(feature = "config")]

use std::path::Path;

use proptest::prelude::*;
use supervisor_spec::{ConfigError, ConfigFormat, ValidatedSpec, load_config_bytes};

/// The valid configs the mutations start from.
fn seeds() -> Vec<(Vec<u8>, ConfigFormat)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        "examples/demo.yaml",
        "examples/demo.toml",
        "supervisor-spec/examples/trees/demo.yaml",
        "supervisor-spec/examples/trees/demo.toml",
    ]
    .into_iter()
    .map(|file| {
        let path = repo.join(file);
        let format = ConfigFormat::from_path(&path).unwrap();
        (std::fs::read(&path).unwrap(), format)
    })
    .collect()
}

/// One edit of a config file.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at (position modulo length) with a non-zero mask.
    Flip { at: usize, mask: u8 },
    /// Delete `len` bytes from (position modulo length).
    Delete { at: usize, len: usize },
    /// Insert one of the bytes YAML and TOML treat specially.
    Insert { at: usize, byte: u8 },
    /// Repeat the line at (index modulo line count).
    DuplicateLine { line: usize },
    /// Delete the line at (index modulo line count).
    DeleteLine { line: usize },
    /// Swap two lines.
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(b"\n\t :-[]{}#\"',=.&*!|>%@`\\\x00\xff".to_vec());
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), 1..=16usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), special).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Flip { at, mask } => bytes[at % n] ^= mask,
        Mutation::Delete { at, len } => {
            let at = at % n;
            bytes.drain(at..(at + len).min(n));
        }
        Mutation::Insert { at, byte } => bytes.insert(at % (n + 1), byte),
        Mutation::DuplicateLine { .. }
        | Mutation::DeleteLine { .. }
        | Mutation::SwapLines { .. } => {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let k = lines.len();
            match *m {
                Mutation::DuplicateLine { line } => {
                    let copy = lines[line % k].clone();
                    lines.insert(line % k, copy);
                }
                Mutation::DeleteLine { line } => {
                    lines.remove(line % k);
                }
                Mutation::SwapLines { a, b } => lines.swap(a % k, b % k),
                _ => unreachable!(),
            }
            *bytes = lines.join(&b'\n');
        }
    }
}

/// What every outcome must satisfy.
fn check(result: Result<ValidatedSpec, ConfigError>, name: &str) -> Result<(), TestCaseError> {
    match result {
        Ok(tree) => {
            let again = tree.into_inner().validate();
            prop_assert!(again.is_ok(), "a loaded tree failed validation: {again:?}");
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with(name), "{message}");
            if !matches!(e, ConfigError::Invalid { .. }) {
                prop_assert!(!message.contains('\n'), "a multi-line message: {message:?}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        yaml in any::<bool>(),
    ) {
        let format = if yaml { ConfigFormat::Yaml } else { ConfigFormat::Toml };
        check(load_config_bytes(&bytes, format, "fuzz"), "fuzz")?;
    }

    #[test]
    fn random_text_never_panics(text in "(?s).{0,256}", yaml in any::<bool>()) {
        let format = if yaml { ConfigFormat::Yaml } else { ConfigFormat::Toml };
        check(load_config_bytes(text.as_bytes(), format, "fuzz"), "fuzz")?;
    }

    #[test]
    fn mutated_examples_never_panic(
        seed in 0..4usize,
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let (mut bytes, format) = seeds().swap_remove(seed);
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(load_config_bytes(&bytes, format, "mutant"), "mutant")?;
    }
}

#[test]
fn the_seeds_load_unmutated() {
    for (bytes, format) in seeds() {
        check(load_config_bytes(&bytes, format, "seed"), "seed").unwrap();
        assert!(load_config_bytes(&bytes, format, "seed").is_ok());
    }
}
