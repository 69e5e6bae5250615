//! Loading a tree from a YAML or TOML file ([`load_config_file`]), with
//! every error placed in the file ([`ConfigError`]).
//!
//! A file goes through these steps; each can only fail with the error
//! named, so that a broken file always gets the most precise message:
//!
//! 1. the size limit, [`MAX_CONFIG_BYTES`], before anything is parsed
//!    ([`ConfigError::TooLarge`]);
//! 2. UTF-8 ([`ConfigError::NotUtf8`]), then "is there anything at all"
//!    ([`ConfigError::Empty`]);
//! 3. parsing into an *outline* — every map, list and key with its line —
//!    which catches syntax errors ([`ConfigError::Parse`]) and nesting beyond
//!    [`MAX_CONFIG_DEPTH`] ([`ConfigError::TooDeep`]);
//! 4. deserializing into a [`SupervisorSpec`](crate::SupervisorSpec):
//!    wrong types, unknown keys and values (with the valid ones and the
//!    closest match), malformed ids and durations ([`ConfigError::Parse`],
//!    at the offending node);
//! 5. [validation](crate::SupervisorSpec::validate), whose problems are
//!    placed on lines by walking the outline ([`ConfigError::Invalid`]).
//!
//! Parsing runs on a thread of its own with a large stack, so a document at
//! the depth limit is safe whatever thread loads it (a test thread has 2 MiB,
//! and debug builds of the deserializers spend about 20 KiB per level).

mod error;
mod format;
mod outline;
mod suggest;
mod toml;
mod yaml;

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

pub use error::{ConfigError, ConfigProblem};
pub use format::ConfigFormat;

use crate::{Problem, ValidatedSpec, ValidationError};
use outline::{Node, is_blank, position};

/// Largest config file accepted: 1 MiB, a hundred times a large real tree.
/// Larger files are refused before they are parsed.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Deepest nesting of maps and lists accepted in a config file (the root
/// map being level 1). The deepest valid tree,
/// [`limits::MAX_DEPTH`](crate::limits::MAX_DEPTH) nested supervisors with
/// a map inside a worker of the last one, needs 100.
pub const MAX_CONFIG_DEPTH: usize = 128;

/// The stack the parsing thread runs on: room for [`MAX_CONFIG_DEPTH`]
/// levels several times over, even in a debug build. Only the pages used
/// are ever touched.
const PARSE_STACK: usize = 16 << 20;

/// Loads the tree in the YAML or TOML file at `path` (by its extension:
/// `.yaml`, `.yml` or `.toml`) and validates it.
///
/// One file holds one tree: the root supervisor's map, as the types of
/// this crate document it. Unknown keys are errors.
///
/// # Errors
///
/// A [`ConfigError`] naming the file and, for anything about its content,
/// the line and column: a missing or unreadable file, a directory, an
/// unknown extension, a file over [`MAX_CONFIG_BYTES`], invalid UTF-8, an
/// empty file, nesting beyond [`MAX_CONFIG_DEPTH`], a syntax or type error,
/// an unknown key or value, or every validation error of the tree.
///
/// # Examples
///
/// ```no_run
/// let tree = supervisor_spec::load_config_file("examples/demo.yaml")?;
/// for warning in tree.warnings() {
///     eprintln!("warning: {warning}");
/// }
/// println!("{tree}");
/// # Ok::<(), supervisor_spec::ConfigError>(())
/// ```
pub fn load_config_file(path: impl AsRef<Path>) -> Result<ValidatedSpec, ConfigError> {
    let path = path.as_ref();
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => ConfigError::NotFound {
            path: path.to_owned(),
        },
        _ => ConfigError::Read {
            path: path.to_owned(),
            source,
        },
    };
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if meta.is_dir() {
        return Err(ConfigError::NotAFile {
            path: path.to_owned(),
        });
    }
    let Some(format) = ConfigFormat::from_path(path) else {
        return Err(ConfigError::UnknownFormat {
            path: path.to_owned(),
        });
    };
    let file = path.display().to_string();
    let too_large = || ConfigError::TooLarge {
        file: file.clone(),
        limit: MAX_CONFIG_BYTES,
    };
    if meta.len() > MAX_CONFIG_BYTES as u64 {
        return Err(too_large());
    }
    // Read at most one byte more than the limit: the length in the metadata
    // is not the last word (a pipe, a file that grows).
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    load(&bytes, format, &file)
}

/// Loads the tree written in `text` in `format` and validates it.
/// Messages name the source `<string>`.
///
/// # Errors
///
/// As [`load_config_file`], except for the errors about the file itself.
///
/// # Examples
///
/// ```
/// use supervisor_spec::{ConfigFormat, load_config_str};
///
/// let toml = r#"
/// id = "root"
///
/// [[children]]
/// id = "db"
/// readiness = { explicit = "5s" }
/// "#;
/// let tree = load_config_str(toml, ConfigFormat::Toml)?;
/// assert_eq!(tree.spec().children[0].id, "db");
/// # Ok::<(), supervisor_spec::ConfigError>(())
/// ```
pub fn load_config_str(text: &str, format: ConfigFormat) -> Result<ValidatedSpec, ConfigError> {
    load(text.as_bytes(), format, "<string>")
}

/// Loads the tree in `bytes` (UTF-8 text in `format`) and validates it.
/// Messages name the source `name`.
///
/// # Errors
///
/// As [`load_config_file`], except for the errors about the file itself.
pub fn load_config_bytes(
    bytes: &[u8],
    format: ConfigFormat,
    name: &str,
) -> Result<ValidatedSpec, ConfigError> {
    load(bytes, format, name)
}

fn load(bytes: &[u8], format: ConfigFormat, file: &str) -> Result<ValidatedSpec, ConfigError> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            file: file.to_owned(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            // Lossless up to the first invalid byte.
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
            let (line, column) = position(&valid, valid.len());
            return Err(ConfigError::NotUtf8 {
                file: file.to_owned(),
                line,
                column,
            });
        }
    };
    if is_blank(text) {
        return Err(ConfigError::Empty {
            file: file.to_owned(),
        });
    }
    let (spec, outline) = on_large_stack(|| match format {
        ConfigFormat::Yaml => yaml::parse(text, file),
        ConfigFormat::Toml => toml::parse(text, file),
    })?;
    spec.validate().map_err(|e| invalid(e, &outline, file))
}

fn invalid(e: ValidationError, outline: &Node, file: &str) -> ConfigError {
    let place = |problems: Vec<Problem>| {
        problems
            .into_iter()
            .map(|problem| ConfigProblem {
                line: outline.line_of(&problem.location),
                problem,
            })
            .collect()
    };
    ConfigError::Invalid {
        file: file.to_owned(),
        errors: place(e.errors),
        warnings: place(e.warnings),
    }
}

/// Runs `f` on a scoped thread with a [`PARSE_STACK`] stack, or on this
/// thread if no thread can be started. A panic in `f` is passed on.
fn on_large_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let slot = Mutex::new(Some(f));
    let take = || slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let ran = std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("config-parse".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(s, || take().map(|f| f()));
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => None,
        }
    });
    match ran {
        Some(out) => out,
        // The thread did not start, so `f` is still in the slot.
        None => match take() {
            Some(f) => f(),
            None => unreachable!("the parse closure ran but returned nothing"),
        },
    }
}

/// `message` on one line: control characters (a newline in a quoted key)
/// escaped, so that a message cannot forge lines of output.
fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChildId, Location};

    fn at(path: &str, child: Option<(usize, &str)>, field: Option<&'static str>) -> Location {
        Location {
            supervisor: std::sync::Arc::new(path.parse().unwrap()),
            child: child.map(|(i, id)| (i, ChildId::new(id).unwrap())),
            field,
        }
    }

    const YAML: &str = "\
# comment
id: root
intensity: { max_restarts: 5, period: 10s }
children:
  - id: a
  - { id: b, restart: transient }
  - id: jobs
    supervisor:
      children:
        - id: w
          tags: [x]
";

    const TOML: &str = r#"
# comment
id = "root"
intensity = { max_restarts = 5, period = "10s" }

[[children]]
id = "a"

[[children]]
id = "b"
restart = "transient"

[[children]]
id = "jobs"

[children.supervisor]

[[children.supervisor.children]]
id = "w"
tags = ["x"]
"#;

    #[test]
    fn problems_are_placed_on_the_line_of_their_key_or_node() {
        for (text, format, lines) in [
            (YAML, ConfigFormat::Yaml, [11, 10, 8, 3, 2, 6, 6, 2]),
            (TOML, ConfigFormat::Toml, [20, 18, 16, 4, 3, 11, 9, 3]),
        ] {
            let (_, outline) = match format {
                ConfigFormat::Yaml => yaml::parse(text, "t"),
                ConfigFormat::Toml => toml::parse(text, "t"),
            }
            .unwrap();
            let cases = [
                at("root/jobs", Some((0, "w")), Some("tags")),
                // Left at its default: the child's line.
                at("root/jobs", Some((0, "w")), Some("backoff")),
                // A nested supervisor without the field: its `supervisor` key.
                at("root/jobs", None, Some("intensity")),
                at("root", None, Some("intensity")),
                // The root without the field: where the document starts.
                at("root", None, Some("shutdown")),
                at("root", Some((1, "b")), Some("restart")),
                at("root", Some((1, "b")), None),
                // A path the document does not have: the last node found.
                at("root/nowhere", Some((0, "x")), Some("tags")),
            ];
            for (case, line) in cases.iter().zip(lines) {
                assert_eq!(outline.line_of(case), line, "{format}: {case}");
            }
        }
    }

    #[test]
    fn a_yaml_alias_is_placed_where_it_is_used() {
        let text = "id: root\nchildren:\n  - &w { id: w }\n  - id: v\n  - *w\n";
        let (_, outline) = yaml::parse(text, "t").unwrap();
        assert_eq!(outline.line_of(&at("root", Some((2, "w")), Some("id"))), 5);
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        assert_eq!(one_line("a\nb\tc\u{1b}[31m"), "a\\nb\\tc\\u{1b}[31m");
    }
}
