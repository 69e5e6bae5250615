//! Reading a YAML config with `serde-saphyr`: its outline, then the tree,
//! and its errors turned into [`ConfigError`]s.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DefaultMessageFormatter, Error, MessageFormatter, Spanned};

use super::error::ConfigError;
use super::outline::{Entry, Kind, Node, content_start};
use super::{MAX_CONFIG_DEPTH, one_line, suggest};
use crate::SupervisorSpec;

/// Parses `text` (not blank) into the tree and its outline.
pub(super) fn parse(text: &str, file: &str) -> Result<(SupervisorSpec, Node), ConfigError> {
    let located = |e: Error| convert(&e, text, file);
    let outline: OutlineNode =
        serde_saphyr::from_str_with_options(text, options()).map_err(located)?;
    let outline = outline.0;
    if !matches!(outline.kind, Kind::Map(_)) {
        return Err(ConfigError::Parse {
            file: file.to_owned(),
            line: outline.line,
            column: outline.column,
            message: format!(
                "expected the root supervisor, a map with at least `id`; found {}",
                outline.describe()
            ),
        });
    }
    let spec = serde_saphyr::from_str_with_options(text, options()).map_err(located)?;
    Ok((spec, outline))
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_depth: MAX_CONFIG_DEPTH },
        // Tags (`!include`, `!env`) mean nothing here: an error, not a
        // silently ignored annotation.
        reject_unsupported_tags: true,
        reject_tagged_field_names: true,
        with_snippet: false,
    }
}

fn convert(e: &Error, text: &str, file: &str) -> ConfigError {
    // The error itself, out of the wrappers that carry snippets and alias
    // definitions; its location is the outermost one (where it is used).
    let mut inner = e;
    while let Error::WithSnippet { error, .. } | Error::AliasError { error, .. } = inner {
        inner = error;
    }
    let (line, column) = match e.location() {
        Some(l) if l.line() > 0 => (to_usize(l.line()), to_usize(l.column()).max(1)),
        _ => content_start(text),
    };
    let file = file.to_owned();
    let message = match inner {
        Error::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => {
            return ConfigError::TooDeep {
                file,
                line,
                column,
                limit: MAX_CONFIG_DEPTH,
            };
        }
        Error::Budget { breach, .. } => budget_message(breach),
        Error::SerdeUnknownField {
            field, expected, ..
        } => suggest::unknown("key", field, expected),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => suggest::unknown("value", variant, expected),
        Error::InvalidScalar { ty, location } => match source_text(text, location) {
            Some(found) => format!("expected {}, found `{found}`", describe_scalar(ty)),
            None => format!("expected {}", describe_scalar(ty)),
        },
        Error::Unexpected { expected, location } => {
            let expected = match *expected {
                "sequence start" => "a list",
                "mapping start" => "a map",
                other => other,
            };
            match source_text(text, location) {
                Some(f) if f.starts_with('{') => format!("expected {expected}, found a map"),
                Some(f) if f.starts_with('[') => format!("expected {expected}, found a list"),
                Some(found) => format!("expected {expected}, found `{found}`"),
                None => format!("expected {expected}"),
            }
        }
        Error::DuplicateMappingKey { key: Some(key), .. } => format!("duplicate key `{key}`"),
        Error::DuplicateMappingKey { key: None, .. } => "duplicate key".to_owned(),
        Error::MultipleDocuments { .. } => {
            "a second YAML document starts here; a config file holds one tree".to_owned()
        }
        Error::UnsupportedTag { tag, .. } | Error::TaggedStructFieldName { tag, .. } => {
            format!("unsupported tag `{tag}`; config files use no YAML tags")
        }
        other => DefaultMessageFormatter.format_message(other).into_owned(),
    };
    ConfigError::Parse {
        file,
        line,
        column,
        message: one_line(&suggest::plain_words(&message)),
    }
}

/// A breach of `serde-saphyr`'s budget (other than depth), which bounds
/// the work a document may cause: far beyond any real tree.
fn budget_message(breach: &BudgetBreach) -> String {
    let what = match breach {
        BudgetBreach::Nodes { nodes } => format!("{nodes} values"),
        BudgetBreach::Events { events } => format!("{events} parser events"),
        BudgetBreach::Aliases { aliases } => format!("{aliases} aliases"),
        BudgetBreach::Anchors { anchors } => format!("{anchors} anchors"),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases of {anchors} anchors")
        }
        other => format!("{other:?}"),
    };
    format!("the document is too complex for a config file: {what} exceed the YAML reader's limits")
}

/// What a scalar type `serde-saphyr` names in an error stands for.
fn describe_scalar(ty: &str) -> String {
    match ty {
        "boolean" => "true or false".to_owned(),
        "floating point" | "f32" | "f64" => "a number".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "u128" => format!("a whole number ({ty})"),
        "i8" | "i16" | "i32" | "i64" | "i128" => format!("an integer ({ty})"),
        other => other.to_owned(),
    }
}

/// The source text of the node at `location`, if short enough to quote.
fn source_text<'t>(text: &'t str, location: &serde_saphyr::Location) -> Option<&'t str> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let found = text.get(start..start.checked_add(len)?)?.trim();
    (!found.is_empty() && found.len() <= 64 && !found.contains(char::is_control)).then_some(found)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A YAML node read into the outline, with the place `serde-saphyr`
/// reports for it (where it is used, for an alias).
struct OutlineNode(Node);

impl<'de> Deserialize<'de> for OutlineNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<OutlineKind>::deserialize(d)?;
        Ok(Self(Node {
            line: to_usize(s.referenced.line()),
            column: to_usize(s.referenced.column()),
            kind: s.value.0,
        }))
    }
}

struct OutlineKind(Kind);

impl<'de> Deserialize<'de> for OutlineKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor).map(Self)
    }
}

/// A map key as text; a key that is itself a map or list (YAML allows
/// them) becomes `""`, which matches no field.
struct OutlineKey(String);

impl<'de> Deserialize<'de> for OutlineKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kind = d.deserialize_any(KindVisitor)?;
        Ok(Self(match kind {
            Kind::Scalar(s) => s,
            _ => String::new(),
        }))
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Scalar(v.to_owned()))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Scalar(String::new()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(OutlineNode(node)) = seq.next_element()? {
            items.push(node);
        }
        Ok(Kind::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<OutlineKey>>()? {
            let OutlineNode(value) = map.next_value()?;
            entries.push(Entry {
                key: key.value.0,
                line: to_usize(key.referenced.line()),
                value,
            });
        }
        Ok(Kind::Map(entries))
    }
}
