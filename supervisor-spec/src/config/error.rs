//! [`ConfigError`]: why a config file did not give a valid tree, always with
//! the file and, where there is one, the place in it.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use crate::Problem;

/// A config file could not be loaded as a valid tree.
///
/// Every message starts with the file (the path, or the name given to
/// [`load_config_bytes`](crate::load_config_bytes)) and, when the problem
/// has a place, its line and column as editors and compilers write them:
/// `tree.yaml:4:5: unknown key ...`. Validation problems are placed on the
/// line of the offending key (or of the child or supervisor that has it):
/// `tree.yaml:14: error: root/jobs.children[2] (ingest).backoff: initial 5s
/// exceeds max 1s`.
///
/// # Examples
///
/// ```
/// use supervisor_spec::{ConfigError, ConfigFormat, load_config_str};
///
/// let yaml = "id: root\nchildren:\n  - id: db\n    restrat: permanent\n";
/// let err = load_config_str(yaml, ConfigFormat::Yaml).unwrap_err();
/// assert!(matches!(err, ConfigError::Parse { line: 4, column: 5, .. }));
/// assert!(err.to_string().starts_with(
///     "<string>:4:5: unknown key `restrat`, did you mean `restart`?"
/// ));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The path names a directory.
    #[error("{path}: is a directory, not a config file")]
    NotAFile {
        /// The path as given.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, I/O).
    #[error("{path}: cannot read the file")]
    Read {
        /// The path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file name does not say which format the file is in.
    #[error("{path}: unknown config format; the file name must end in .yaml, .yml or .toml")]
    UnknownFormat {
        /// The path as given.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`](crate::MAX_CONFIG_BYTES);
    /// it was not parsed.
    #[error("{file}: larger than {limit} bytes, the limit for a config file")]
    TooLarge {
        /// The file's name.
        file: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error("{file}:{line}:{column}: invalid UTF-8; a config file must be UTF-8 text")]
    NotUtf8 {
        /// The file's name.
        file: String,
        /// The line of the first invalid byte (1-based).
        line: usize,
        /// Its column, in characters (1-based).
        column: usize,
    },
    /// The file holds no tree: it is empty, blank or only comments.
    #[error(
        "{file}: the file is empty or only comments; expected the root supervisor, a map with at least `id`"
    )]
    Empty {
        /// The file's name.
        file: String,
    },
    /// Maps and lists nest deeper than
    /// [`MAX_CONFIG_DEPTH`](crate::MAX_CONFIG_DEPTH); the rest was not read.
    #[error("{file}:{line}:{column}: maps and lists nest deeper than the limit of {limit} levels")]
    TooDeep {
        /// The file's name.
        file: String,
        /// The line of the first node past the limit (1-based).
        line: usize,
        /// Its column, in characters (1-based).
        column: usize,
        /// The limit.
        limit: usize,
    },
    /// The file is not valid YAML or TOML, or does not describe a tree: a
    /// syntax error, a value of the wrong type, an unknown key or value, a
    /// malformed id or duration.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file's name.
        file: String,
        /// Where the problem was found (1-based).
        line: usize,
        /// Its column, in characters (1-based).
        column: usize,
        /// What is wrong, in one line.
        message: String,
    },
    /// The file describes a tree, but the tree failed validation. Lists
    /// every error (and the warnings), one per line.
    #[error("{}", render_invalid(file, errors, warnings))]
    Invalid {
        /// The file's name.
        file: String,
        /// Problems that make the tree invalid; never empty.
        errors: Vec<ConfigProblem>,
        /// Warnings found at the same time.
        warnings: Vec<ConfigProblem>,
    },
}

/// A validation [`Problem`] and the line of the config file it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigProblem {
    /// The line (1-based) of the key the problem is about; for a value the
    /// file leaves at its default, the line of the child or supervisor that
    /// has it.
    pub line: usize,
    /// The problem, with its place in the tree.
    pub problem: Problem,
}

fn render_invalid(file: &str, errors: &[ConfigProblem], warnings: &[ConfigProblem]) -> String {
    let mut out = format!(
        "{file}: invalid supervision tree ({} error{})",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for (kind, problems) in [("error", errors), ("warning", warnings)] {
        for p in problems {
            let _ = write!(out, "\n  {file}:{}: {kind}: {}", p.line, p.problem);
        }
    }
    out
}
