//! Messages for unknown keys and values: the valid names, and the closest
//! one when the input looks like a misspelling of it.

use std::fmt::Write as _;

/// Longest name that is matched against the valid ones (and shown whole);
/// a longer one is no misspelling, and comparing it would cost time.
const MAX_COMPARED: usize = 64;

/// `unknown key `restrat`, did you mean `restart`? valid keys: id, ...`;
/// `what` is "key" or "value".
pub(crate) fn unknown(what: &str, name: &str, valid: &[&str]) -> String {
    let shown: String = if name.chars().count() > MAX_COMPARED {
        let mut s: String = name.chars().take(MAX_COMPARED).collect();
        s.push_str("...");
        s
    } else {
        name.to_owned()
    };
    let mut out = format!("unknown {what} `{}`", shown.escape_debug());
    if valid.is_empty() {
        let _ = write!(out, "; no {what}s are allowed here");
        return out;
    }
    if let Some(close) = closest(name, valid) {
        let _ = write!(out, ", did you mean `{close}`?");
    } else {
        out.push(';');
    }
    let _ = write!(out, " valid {what}s: {}", valid.join(", "));
    out
}

/// Rewrites serde's own wording of an unknown field or variant (``unknown
/// field `x`, expected one of `a`, `b` ``, as the `toml` crate passes it
/// on) into [`unknown`]'s; any other message is returned unchanged.
pub(crate) fn rewrite_serde_message(message: &str) -> String {
    for (prefix, what, none) in [
        ("unknown field `", "key", "there are no fields"),
        ("unknown variant `", "value", "there are no variants"),
    ] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        if let Some(name) = rest.strip_suffix(&format!("`, {none}")) {
            return unknown(what, name, &[]);
        }
        let Some(split) = rest.find("`, expected ") else {
            continue;
        };
        let (name, list) = (&rest[..split], &rest[split + "`, expected ".len()..]);
        let list = list.strip_prefix("one of ").unwrap_or(list);
        let valid: Vec<&str> = list
            .split([',', ' '])
            .filter(|s| !s.is_empty() && *s != "or")
            .filter_map(|s| s.strip_prefix('`')?.strip_suffix('`'))
            .collect();
        if !valid.is_empty() {
            return unknown(what, name, &valid);
        }
    }
    message.to_owned()
}

/// serde's words for the shapes of data in the words of config files:
/// `struct BudgetRepr` (a type name of this crate) is "a map", a sequence
/// "a list".
pub(crate) fn plain_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("struct ") {
        let after = &rest[at + "struct ".len()..];
        let ident = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if after.starts_with(|c: char| c.is_ascii_uppercase()) {
            out.push_str(&rest[..at]);
            out.push_str("a map");
            rest = &after[ident..];
        } else {
            out.push_str(&rest[..at + "struct ".len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    let mut out = out
        .replace("a sequence", "a list")
        .replace("invalid type: sequence", "invalid type: list");
    for ty in ["u8", "u16", "u32", "u64"] {
        if out.ends_with(&format!("expected {ty}")) {
            out.truncate(out.len() - ty.len());
            out.push_str(&format!("a whole number ({ty})"));
        }
    }
    out
}

/// The valid name closest to `name`, if close enough to be a misspelling:
/// at most a third of its letters (and at least one) edited, and not all;
/// failing that, the one it is the start of (`abort` for `abort_wait`).
fn closest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    if name.chars().count() > MAX_COMPARED {
        return None;
    }
    let name = name.to_lowercase();
    let prefix_of = || {
        (name.len() >= 3)
            .then(|| valid.iter().copied().find(|v| v.starts_with(name.as_str())))
            .flatten()
    };
    let mut best: Option<(usize, &str)> = None;
    for &candidate in valid {
        let d = distance(&name, candidate);
        let allowed = (candidate.chars().count() / 3).max(1);
        let whole = d >= name.chars().count() || d >= candidate.len();
        if d <= allowed && !whole && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c).or_else(prefix_of)
}

/// Damerau-Levenshtein distance (optimal string alignment): insertions,
/// deletions, substitutions and swaps of neighbours each cost one.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &[&str] = &["id", "restart", "significant", "shutdown", "depends_on"];

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(closest("restrat", CHILD), Some("restart"));
        assert_eq!(closest("Restart", CHILD), Some("restart"));
        assert_eq!(closest("dependson", CHILD), Some("depends_on"));
        assert_eq!(closest("ids", CHILD), Some("id"));
        assert_eq!(closest("colour", CHILD), None);
        assert_eq!(closest("depends", CHILD), Some("depends_on"));
        assert_eq!(closest("de", CHILD), None);
        assert_eq!(closest(&"x".repeat(1000), CHILD), None);
    }

    #[test]
    fn distance_counts_swaps_once() {
        assert_eq!(distance("restrat", "restart"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn rewrites_serde_wording() {
        assert_eq!(
            rewrite_serde_message("unknown field `restrat`, expected one of `id`, `restart`"),
            "unknown key `restrat`, did you mean `restart`? valid keys: id, restart"
        );
        assert_eq!(
            rewrite_serde_message("unknown variant `nevr`, expected `never` or `always`"),
            "unknown value `nevr`, did you mean `never`? valid values: never, always"
        );
        assert_eq!(
            rewrite_serde_message("unknown field `a`, expected `b`"),
            "unknown key `a`; valid keys: b"
        );
        assert_eq!(
            rewrite_serde_message("unknown field `a`, there are no fields"),
            "unknown key `a`; no keys are allowed here"
        );
        assert_eq!(rewrite_serde_message("invalid type"), "invalid type");
    }

    #[test]
    fn serde_type_names_become_plain_words() {
        assert_eq!(
            plain_words("invalid type: integer `5`, expected struct BudgetRepr"),
            "invalid type: integer `5`, expected a map"
        );
        assert_eq!(
            plain_words("invalid type: sequence, expected a sequence"),
            "invalid type: list, expected a list"
        );
        assert_eq!(plain_words("a struct field"), "a struct field");
        assert_eq!(
            plain_words("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `-1`, expected a whole number (u32)"
        );
        assert_eq!(plain_words("struct "), "struct ");
    }

    #[test]
    fn long_and_odd_names_are_cut_and_escaped() {
        let msg = unknown("key", &"y".repeat(100), &["a"]);
        assert_eq!(
            msg,
            format!("unknown key `{}...`; valid keys: a", "y".repeat(64))
        );
        let msg = unknown("key", "a\nb", &["a"]);
        assert_eq!(msg, "unknown key `a\\nb`; valid keys: a");
    }
}
