//! What the loader says about the file itself: a missing file, a
//! directory, an unknown extension, a file over the size limit.

#![cfg(feature = "config")]

use std::path::{Path, PathBuf};

use supervisor_spec::{
    ConfigError, ConfigFormat, MAX_CONFIG_BYTES, limits, load_config_bytes, load_config_file,
};

/// A fresh directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("config_files")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_missing_file_is_named() {
    let path = scratch("missing").join("tree.yaml");
    let err = load_config_file(&path).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("{}: no such file", path.display()));
}

#[test]
fn a_directory_is_not_a_config_file() {
    let dir = scratch("directory").join("tree.yaml");
    std::fs::create_dir(&dir).unwrap();
    let err = load_config_file(&dir).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: is a directory, not a config file", dir.display())
    );
}

#[test]
fn the_extension_must_name_the_format() {
    let path = scratch("extension").join("tree.json");
    std::fs::write(&path, r#"{"id": "root"}"#).unwrap();
    let err = load_config_file(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unknown config format; the file name must end in .yaml, .yml or .toml",
            path.display()
        )
    );
    assert_eq!(
        ConfigFormat::from_path(Path::new("a/b.Yml")),
        Some(ConfigFormat::Yaml)
    );
    assert_eq!(ConfigFormat::from_path(Path::new("toml")), None);
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_parsing() {
    let dir = scratch("huge");
    // Valid YAML all the way, so only the size can be the problem.
    let mut text = String::from("id: root\n");
    while text.len() <= MAX_CONFIG_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    for name in ["huge.yaml", "huge.toml"] {
        let path = dir.join(name);
        std::fs::write(&path, &text).unwrap();
        let err = load_config_file(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: larger than 1048576 bytes, the limit for a config file",
                path.display()
            )
        );
    }
    let err = load_config_bytes(text.as_bytes(), ConfigFormat::Yaml, "huge").unwrap_err();
    assert!(matches!(err, ConfigError::TooLarge { limit, .. } if limit == MAX_CONFIG_BYTES));
}

#[test]
fn a_file_just_under_the_size_limit_loads() {
    let path = scratch("large").join("large.yaml");
    let mut text = String::from("id: root\nshutdown_order: parallel\nchildren:\n");
    let description = "x".repeat(limits::MAX_DESCRIPTION_LEN);
    let mut i = 0;
    loop {
        let child = format!("  - id: w{i}\n    description: {description}\n");
        if text.len() + child.len() > MAX_CONFIG_BYTES {
            break;
        }
        text.push_str(&child);
        i += 1;
    }
    std::fs::write(&path, &text).unwrap();
    let tree = load_config_file(&path).unwrap();
    assert_eq!(tree.spec().children.len(), i);
}

#[test]
fn the_error_can_cross_threads() {
    fn check<E: std::error::Error + Send + Sync + 'static>() {}
    check::<ConfigError>();
}
