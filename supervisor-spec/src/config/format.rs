//! [`ConfigFormat`]: the languages a config file may be written in.

use std::fmt;
use std::path::Path;

/// The language of a config file.
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use supervisor_spec::ConfigFormat;
///
/// assert_eq!(ConfigFormat::from_path(Path::new("tree.yml")), Some(ConfigFormat::Yaml));
/// assert_eq!(ConfigFormat::from_path(Path::new("tree.TOML")), Some(ConfigFormat::Toml));
/// assert_eq!(ConfigFormat::from_path(Path::new("tree.json")), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigFormat {
    /// YAML 1.2 (`.yaml`, `.yml`), one document.
    Yaml,
    /// TOML (`.toml`).
    Toml,
}

impl ConfigFormat {
    /// The format a file name's extension names (`.yaml`, `.yml`, `.toml`,
    /// in any case), or `None`.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") {
            Some(Self::Yaml)
        } else if ext.eq_ignore_ascii_case("toml") {
            Some(Self::Toml)
        } else {
            None
        }
    }

    /// The format's name: `YAML` or `TOML`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yaml => "YAML",
            Self::Toml => "TOML",
        }
    }
}

impl fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
