//! Reading a TOML config with the `toml` crate: its document (with spans)
//! checked for depth, its outline, then the tree; errors turned into
//! [`ConfigError`]s.

use ::toml::Spanned;
use ::toml::de::{DeTable, DeValue, Deserializer, Error};
use serde::Deserialize;

use super::error::ConfigError;
use super::outline::{Entry, Kind, Node, content_start, position};
use super::{MAX_CONFIG_DEPTH, one_line, suggest};
use crate::SupervisorSpec;

/// Parses `text` (not blank) into the tree and its outline.
pub(super) fn parse(text: &str, file: &str) -> Result<(SupervisorSpec, Node), ConfigError> {
    let root = DeTable::parse(text).map_err(|e| convert(&e, text, file))?;
    // The parser bounds its own recursion, but dotted keys inside nested
    // inline tables still build documents thousands of levels deep, which
    // deserializing (recursive) would overflow the stack on. Checked
    // without recursion before anything recurses.
    if let Some(offset) = too_deep(root.get_ref()) {
        let (line, column) = position(text, offset);
        return Err(ConfigError::TooDeep {
            file: file.to_owned(),
            line,
            column,
            limit: MAX_CONFIG_DEPTH,
        });
    }
    let (line, column) = content_start(text);
    let outline = Node {
        line,
        column,
        kind: table(text, root.get_ref()),
    };
    let spec = SupervisorSpec::deserialize(Deserializer::from(root))
        .map_err(|e| convert(&e, text, file))?;
    Ok((spec, outline))
}

/// The start of the first table or array nested deeper than
/// [`MAX_CONFIG_DEPTH`] (the root table being level 1), if any.
fn too_deep(root: &DeTable<'_>) -> Option<usize> {
    let mut stack: Vec<(&Spanned<DeValue<'_>>, usize)> = root.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Spanned<DeValue<'_>>>> = match value.get_ref() {
            DeValue::Table(t) => Box::new(t.values()),
            DeValue::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        if depth > MAX_CONFIG_DEPTH {
            return Some(value.span().start);
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    None
}

/// The outline of a table; recursive, so only for documents [`too_deep`]
/// passed.
fn table(text: &str, t: &DeTable<'_>) -> Kind {
    Kind::Map(
        t.iter()
            .map(|(key, value)| Entry {
                key: key.get_ref().to_string(),
                line: position(text, key.span().start).0,
                value: node(text, value),
            })
            .collect(),
    )
}

fn node(text: &str, value: &Spanned<DeValue<'_>>) -> Node {
    let (line, column) = position(text, value.span().start);
    let kind = match value.get_ref() {
        DeValue::Table(t) => table(text, t),
        DeValue::Array(a) => Kind::Seq(a.iter().map(|v| node(text, v)).collect()),
        DeValue::String(s) => Kind::Scalar(s.to_string()),
        DeValue::Integer(i) => Kind::Scalar(i.to_string()),
        DeValue::Float(f) => Kind::Scalar(f.to_string()),
        DeValue::Boolean(b) => Kind::Scalar(b.to_string()),
        DeValue::Datetime(d) => Kind::Scalar(d.to_string()),
    };
    Node { line, column, kind }
}

fn convert(e: &Error, text: &str, file: &str) -> ConfigError {
    let (line, column) = match e.span() {
        Some(span) => position(text, span.start),
        // An error about the root table (a missing `id`) has no span.
        None => content_start(text),
    };
    let mut message = suggest::rewrite_serde_message(e.message());
    // The parser's own bound on nested inline arrays and tables, and on
    // the keys of a dotted key.
    if message.contains("max recursion depth met") || message == "recursion limit" {
        message = "maps, lists or dotted keys nest deeper than the TOML parser allows".to_owned();
    }
    // The parser does not name the key it found twice; its span does.
    if message == "duplicate key"
        && let Some(key) = e.span().and_then(|s| text.get(s)).filter(|k| k.len() <= 64)
    {
        message = format!("duplicate key `{}`", key.trim());
    }
    ConfigError::Parse {
        file: file.to_owned(),
        line,
        column,
        message: one_line(&suggest::plain_words(&message)),
    }
}
