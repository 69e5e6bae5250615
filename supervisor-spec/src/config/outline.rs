//! [`Node`]: the outline of a parsed config file — its maps, lists and
//! strings, each with its place — used to put validation problems on lines.
//!
//! Validation works on the typed [`SupervisorSpec`](crate::SupervisorSpec),
//! which keeps no positions; a [`Location`] names a supervisor by its path of
//! ids, a child by its index and a field by its key. The outline is walked
//! the same way to find the line of that key.

use crate::Location;

/// A node of the document, at its place.
#[derive(Debug)]
pub(crate) struct Node {
    /// 1-based line of the node's first character.
    pub(crate) line: usize,
    /// 1-based column, in characters.
    pub(crate) column: usize,
    pub(crate) kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    /// A map, its entries in the order read.
    Map(Vec<Entry>),
    /// A list.
    Seq(Vec<Node>),
    /// A scalar, as text (numbers and booleans as written back by Rust).
    Scalar(String),
    /// Null, or an empty YAML document.
    Null,
}

/// One entry of a map.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) key: String,
    /// 1-based line of the key.
    pub(crate) line: usize,
    pub(crate) value: Node,
}

impl Node {
    /// The entry under `key`, if this is a map that has one.
    fn get(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The `i`-th element of the list under `key`.
    fn item(&self, key: &str, i: usize) -> Option<&Node> {
        match &self.get(key)?.value.kind {
            Kind::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// The child of this supervisor map whose `id` is `id`.
    fn child(&self, id: &str) -> Option<&Node> {
        match &self.get("children")?.value.kind {
            Kind::Seq(items) => items.iter().find(|c| {
                c.get("id")
                    .is_some_and(|e| matches!(&e.value.kind, Kind::Scalar(s) if s == id))
            }),
            _ => None,
        }
    }

    /// What the node is, for messages: "a map", "a list"...
    pub(crate) fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Map(_) => "a map",
            Kind::Seq(_) => "a list",
            Kind::Scalar(_) => "a single value",
            Kind::Null => "nothing (null)",
        }
    }

    /// The line a validation problem at `at` is about, this node being the
    /// root supervisor's map.
    ///
    /// The most precise line the document has: the field's key; a child or
    /// supervisor whose field is left at its default (or that the outline
    /// cannot follow, as with an id YAML read as a number) falls back to the
    /// line of the nearest enclosing node.
    pub(crate) fn line_of(&self, at: &Location) -> usize {
        let mut supervisor = self;
        let mut line = self.line;
        for id in at.supervisor.segments().skip(1) {
            let Some(child) = supervisor.child(id.as_str()) else {
                return line;
            };
            line = child.line;
            let Some(nested) = child.get("supervisor") else {
                return line;
            };
            line = nested.line;
            supervisor = &nested.value;
        }
        let mut node = supervisor;
        if let Some((i, _)) = &at.child {
            let Some(child) = supervisor.item("children", *i) else {
                return line;
            };
            line = child.line;
            node = child;
        }
        if let Some(field) = at.field
            && let Some(entry) = node.get(field)
        {
            line = entry.line;
        }
        line
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// Whether `text` holds nothing but blank lines and `#` comments (the same
/// in YAML and TOML).
pub(crate) fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    })
}

/// Where the document's content starts: the first character that is
/// neither blank nor in a comment. Errors without a place of their own
/// (a missing root key) point here.
pub(crate) fn content_start(text: &str) -> (usize, usize) {
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if !t.is_empty() && !t.starts_with('#') {
            return (i + 1, l[..l.len() - t.len()].chars().count() + 1);
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let text = "a: ü\nbé: x";
        assert_eq!(position(text, 0), (1, 1));
        assert_eq!(position(text, 3), (1, 4));
        assert_eq!(position(text, 6), (2, 1));
        assert_eq!(position(text, 9), (2, 3));
        // Inside a multi-byte character, past the end: clamped.
        assert_eq!(position(text, 4), (1, 4));
        assert_eq!(position(text, 999), (2, 6));
    }

    #[test]
    fn blank_means_whitespace_and_comments() {
        assert!(is_blank(""));
        assert!(is_blank("  \n\t\n# x\n   # y\n"));
        assert!(!is_blank("# x\nid: a\n"));
        assert_eq!(content_start("# x\n\n  id: a\n"), (3, 3));
        assert_eq!(content_start(""), (1, 1));
    }
}
