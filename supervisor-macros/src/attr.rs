//! Parsing `#[supervised(...)]` arguments into a [`Config`]: the keys and
//! value forms of a child in a config file, each key at most once, every
//! error spanned on the token that caused it.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use supervisor_spec::{Backoff, Budget, Readiness, Restart, Shutdown};
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Lit, LitBool, LitStr, Token, bracketed};

/// The keys, in the order of a child in a config file.
const KEYS: [&str; 12] = [
    "id",
    "description",
    "task",
    "restart",
    "significant",
    "shutdown",
    "backoff",
    "budget",
    "readiness",
    "liveness",
    "depends_on",
    "tags",
];

const SHUTDOWN_KEYS: [&str; 2] = ["timeout", "abort_wait"];
const BACKOFF_KEYS: [&str; 5] = ["initial", "max", "multiplier", "jitter", "reset_after"];
const BUDGET_KEYS: [&str; 4] = ["max_restarts", "window", "on_exhausted", "retry_after"];
const READINESS_KEYS: [&str; 1] = ["explicit"];

/// Where something was written: from its first token to its last.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    start: Span,
    end: Span,
}

impl Place {
    pub(crate) fn of(span: Span) -> Self {
        Self {
            start: span,
            end: span,
        }
    }

    /// From the key of `meta` to the last token parsed so far.
    fn written(meta: &ParseNestedMeta) -> Self {
        Self {
            start: key_span(meta),
            end: meta.input.cursor().prev_span(),
        }
    }

    /// From the start of `self` to the end of `other`.
    pub(crate) fn to(self, other: Self) -> Self {
        Self {
            start: self.start,
            end: other.end,
        }
    }

    /// An error covering the whole place.
    pub(crate) fn error(self, message: impl std::fmt::Display) -> syn::Error {
        // `new_spanned` spans from the first token to the last, so two
        // placeholder tokens carry the two ends (a joined span needs nightly).
        let start = Ident::new("start", self.start);
        let end = Ident::new("end", self.end);
        syn::Error::new_spanned(quote!(#start #end), message)
    }
}

/// One key's value, where it was written, and where each key of its group
/// form (`backoff(initial = ..)`) was written.
pub(crate) struct Setting<T> {
    pub(crate) value: T,
    pub(crate) place: Place,
    pub(crate) parts: Vec<(String, Place)>,
}

impl<T> Setting<T> {
    fn new(value: T, place: Place) -> Self {
        Self {
            value,
            place,
            parts: Vec::new(),
        }
    }
}

/// The arguments of one `#[supervised(...)]`, each typed and placed.
#[derive(Default)]
pub(crate) struct Config {
    pub(crate) id: Option<Setting<LitStr>>,
    pub(crate) description: Option<Setting<String>>,
    pub(crate) task: Option<Setting<LitStr>>,
    pub(crate) restart: Option<Setting<Restart>>,
    pub(crate) significant: Option<Setting<bool>>,
    pub(crate) shutdown: Option<Setting<Shutdown>>,
    pub(crate) backoff: Option<Setting<Backoff>>,
    pub(crate) budget: Option<Setting<Budget>>,
    pub(crate) readiness: Option<Setting<Readiness>>,
    pub(crate) liveness: Option<Setting<Duration>>,
    pub(crate) depends_on: Option<Setting<Vec<LitStr>>>,
    pub(crate) tags: Option<Setting<Vec<LitStr>>>,
}

impl Config {
    /// Parses the attribute's arguments.
    ///
    /// # Errors
    ///
    /// The first unknown or duplicate key, or value that is not in a form
    /// a config file accepts for that key, spanned on it.
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut config = Self::default();
        syn::meta::parser(|meta| config.key(&meta)).parse2(args)?;
        Ok(config)
    }

    /// Where the top-level key `field` was written, with its group's parts;
    /// `None` if it was not.
    pub(crate) fn place(&self, field: &str) -> Option<(Place, &[(String, Place)])> {
        fn at<T>(s: &Option<Setting<T>>) -> Option<(Place, &[(String, Place)])> {
            s.as_ref().map(|s| (s.place, s.parts.as_slice()))
        }
        match field {
            "id" => at(&self.id),
            "description" => at(&self.description),
            "task" => at(&self.task),
            "restart" => at(&self.restart),
            "significant" => at(&self.significant),
            "shutdown" => at(&self.shutdown),
            "backoff" => at(&self.backoff),
            "budget" => at(&self.budget),
            "readiness" => at(&self.readiness),
            "liveness" => at(&self.liveness),
            "depends_on" => at(&self.depends_on),
            "tags" => at(&self.tags),
            _ => None,
        }
    }

    fn key(&mut self, meta: &ParseNestedMeta) -> syn::Result<()> {
        match key_text(meta).as_str() {
            "id" => set(&mut self.id, meta, |m| {
                Ok(Setting::new(string(m)?, place(m)))
            }),
            "description" => set(&mut self.description, meta, |m| {
                Ok(Setting::new(string(m)?.value(), place(m)))
            }),
            "task" => set(&mut self.task, meta, |m| {
                Ok(Setting::new(string(m)?, place(m)))
            }),
            "restart" => set(&mut self.restart, meta, |m| {
                Ok(Setting::new(restart(&string(m)?)?, place(m)))
            }),
            "significant" => set(&mut self.significant, meta, |m| {
                Ok(Setting::new(boolean(m)?, place(m)))
            }),
            "shutdown" => set(&mut self.shutdown, meta, shutdown),
            "backoff" => set(&mut self.backoff, meta, backoff),
            "budget" => set(&mut self.budget, meta, budget),
            "readiness" => set(&mut self.readiness, meta, readiness),
            "liveness" => set(&mut self.liveness, meta, |m| {
                Ok(Setting::new(duration(&string(m)?)?, place(m)))
            }),
            "depends_on" => set(&mut self.depends_on, meta, |m| {
                Ok(Setting::new(strings(m)?, place(m)))
            }),
            "tags" => set(&mut self.tags, meta, |m| {
                Ok(Setting::new(strings(m)?, place(m)))
            }),
            _ => Err(unknown_key(meta, &KEYS, "")),
        }
    }
}

/// Stores the value `parse` reads into an empty `slot`; a second
/// occurrence of a key is an error at that occurrence.
fn set<T>(
    slot: &mut Option<Setting<T>>,
    meta: &ParseNestedMeta,
    parse: impl FnOnce(&ParseNestedMeta) -> syn::Result<Setting<T>>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key_span(meta),
            format!(
                "duplicate key `{}`: each key may be given once",
                key_text(meta)
            ),
        ));
    }
    *slot = Some(parse(meta)?);
    Ok(())
}

fn key_span(meta: &ParseNestedMeta) -> Span {
    meta.path
        .segments
        .first()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

fn key_text(meta: &ParseNestedMeta) -> String {
    let segments: Vec<String> = meta
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.join("::")
}

/// An unknown key, listing the valid `keys` (`group` names the enclosing
/// group, if any).
fn unknown_key(meta: &ParseNestedMeta, keys: &[&str], group: &str) -> syn::Error {
    let text = key_text(meta);
    let listed = keys
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = if group.is_empty() {
        format!("unknown key `{text}`; valid keys are {listed}")
    } else {
        format!("unknown key `{text}` in `{group}(...)`; valid keys are {listed}")
    };
    syn::Error::new_spanned(&meta.path, message)
}

/// The place of the key just parsed, from its name to its value.
fn place(meta: &ParseNestedMeta) -> Place {
    Place::written(meta)
}

/// Whether the key is written in group form, `key(...)`.
fn is_group(meta: &ParseNestedMeta) -> bool {
    meta.input.peek(syn::token::Paren)
}

/// Reads `= <value>` after a key, with a hint of the expected value when
/// there is no `=`.
fn value<'a>(meta: &ParseNestedMeta<'a>, expected: &str) -> syn::Result<ParseStream<'a>> {
    if !meta.input.peek(Token![=]) {
        let key = key_text(meta);
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("`{key}` takes {expected}: `{key} = ...`"),
        ));
    }
    meta.value()
}

fn string(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    let input = value(meta, "a string")?;
    match input.parse::<Lit>() {
        Ok(Lit::Str(s)) => Ok(s),
        Ok(other) => Err(syn::Error::new(
            other.span(),
            format!("`{}` takes a string", key_text(meta)),
        )),
        Err(e) => Err(syn::Error::new(
            e.span(),
            format!("`{}` takes a string", key_text(meta)),
        )),
    }
}

fn boolean(meta: &ParseNestedMeta) -> syn::Result<bool> {
    let input = value(meta, "`true` or `false`")?;
    let lit: LitBool = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{}` takes `true` or `false`", key_text(meta)),
        )
    })?;
    Ok(lit.value)
}

/// A number, written as an integer or a float, with an optional minus sign
/// (so that `jitter = -0.5` reaches validation's message).
fn number(meta: &ParseNestedMeta) -> syn::Result<f64> {
    let input = value(meta, "a number")?;
    let negative = input.parse::<Option<Token![-]>>()?.is_some();
    let n = match input.parse::<Lit>() {
        Ok(Lit::Float(f)) => f.base10_parse::<f64>()?,
        Ok(Lit::Int(i)) => i.base10_parse::<f64>()?,
        Ok(other) => {
            return Err(syn::Error::new(
                other.span(),
                format!("`{}` takes a number", key_text(meta)),
            ));
        }
        Err(e) => {
            return Err(syn::Error::new(
                e.span(),
                format!("`{}` takes a number", key_text(meta)),
            ));
        }
    };
    Ok(if negative { -n } else { n })
}

fn count(meta: &ParseNestedMeta) -> syn::Result<u32> {
    let input = value(meta, "a whole number")?;
    match input.parse::<Lit>() {
        Ok(Lit::Int(i)) => i.base10_parse::<u32>(),
        Ok(other) => Err(syn::Error::new(
            other.span(),
            format!("`{}` takes a whole number", key_text(meta)),
        )),
        Err(e) => Err(syn::Error::new(
            e.span(),
            format!("`{}` takes a whole number", key_text(meta)),
        )),
    }
}

/// `["a", "b"]`.
fn strings(meta: &ParseNestedMeta) -> syn::Result<Vec<LitStr>> {
    let input = value(meta, "a list of strings")?;
    let hint = || {
        format!(
            "`{}` takes a list of strings: [\"a\", \"b\"]",
            key_text(meta)
        )
    };
    if !input.peek(syn::token::Bracket) {
        return Err(syn::Error::new(input.span(), hint()));
    }
    let content;
    bracketed!(content in input);
    let mut out = Vec::new();
    while !content.is_empty() {
        match content.parse::<Lit>() {
            Ok(Lit::Str(s)) => out.push(s),
            Ok(other) => return Err(syn::Error::new(other.span(), hint())),
            Err(e) => return Err(syn::Error::new(e.span(), hint())),
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(out)
}

/// Parses a duration as the spec does (`supervisor_spec`'s `duration::parse`:
/// humantime on the trimmed text), with the spec's message, at the literal.
pub(crate) fn duration(lit: &LitStr) -> syn::Result<Duration> {
    parse_duration(&lit.value()).map_err(|e| syn::Error::new(lit.span(), e))
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

fn restart(lit: &LitStr) -> syn::Result<Restart> {
    match lit.value().trim() {
        "permanent" => Ok(Restart::Permanent),
        "transient" => Ok(Restart::Transient),
        "temporary" => Ok(Restart::Temporary),
        other => Err(syn::Error::new(
            lit.span(),
            format!(
                "unknown restart {other:?}; expected \"permanent\", \"transient\" or \"temporary\""
            ),
        )),
    }
}

/// `shutdown = "5s" | "brutal_kill" | "infinity"` or
/// `shutdown(timeout = .., abort_wait = "1s")`.
fn shutdown(meta: &ParseNestedMeta) -> syn::Result<Setting<Shutdown>> {
    if !is_group(meta) {
        let mode = string(meta)?;
        return Ok(Setting::new(shutdown_mode(&mode, None)?, place(meta)));
    }
    let mut timeout: Option<LitStr> = None;
    let mut abort_wait: Option<(Duration, Place)> = None;
    let mut parts = Vec::new();
    meta.parse_nested_meta(|inner| {
        let key = once(&parts, &inner)?;
        match key.as_str() {
            "timeout" => timeout = Some(string(&inner)?),
            "abort_wait" => {
                let d = duration(&string(&inner)?)?;
                abort_wait = Some((d, place(&inner)));
            }
            _ => return Err(unknown_key(&inner, &SHUTDOWN_KEYS, "shutdown")),
        }
        parts.push((key, place(&inner)));
        Ok(())
    })?;
    let Some(timeout) = timeout else {
        return Err(place(meta).error(
            "`shutdown(...)` needs `timeout`: a duration such as \"5s\", \"brutal_kill\" or \"infinity\"",
        ));
    };
    let value = shutdown_mode(&timeout, abort_wait)?;
    Ok(Setting {
        value,
        place: place(meta),
        parts,
    })
}

/// A shutdown mode, as the spec's `Shutdown::from_mode` reads it.
fn shutdown_mode(mode: &LitStr, abort_wait: Option<(Duration, Place)>) -> syn::Result<Shutdown> {
    let wait = abort_wait.map_or(Shutdown::DEFAULT_ABORT_WAIT, |(d, _)| d);
    match mode.value().trim() {
        "brutal_kill" => Ok(Shutdown::BrutalKill { abort_wait: wait }),
        "infinity" => match abort_wait {
            Some((_, at)) => Err(at.error("infinity waits forever, so abort_wait does not apply")),
            None => Ok(Shutdown::Infinity),
        },
        text => parse_duration(text)
            .map(|timeout| Shutdown::Graceful {
                timeout,
                abort_wait: wait,
            })
            .map_err(|e| {
                syn::Error::new(
                    mode.span(),
                    format!("expected a duration, \"brutal_kill\" or \"infinity\"; {e}"),
                )
            }),
    }
}

/// `backoff = "none"` or `backoff(initial = .., max = .., multiplier = ..,
/// jitter = .., reset_after = ..)`, each part optional with the spec's
/// default.
fn backoff(meta: &ParseNestedMeta) -> syn::Result<Setting<Backoff>> {
    if !is_group(meta) {
        let lit = string(meta)?;
        if lit.value().trim() != "none" {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "expected \"none\" or a group: backoff(initial = \"100ms\", max = \"30s\", ...); found {:?}",
                    lit.value()
                ),
            ));
        }
        return Ok(Setting::new(Backoff::none(), place(meta)));
    }
    let mut b = Backoff::default();
    let mut parts = Vec::new();
    meta.parse_nested_meta(|inner| {
        let key = once(&parts, &inner)?;
        match key.as_str() {
            "initial" => b.initial = duration(&string(&inner)?)?,
            "max" => b.max = duration(&string(&inner)?)?,
            "multiplier" => b.multiplier = number(&inner)?,
            "jitter" => b.jitter = number(&inner)?,
            "reset_after" => b.reset_after = duration(&string(&inner)?)?,
            _ => return Err(unknown_key(&inner, &BACKOFF_KEYS, "backoff")),
        }
        parts.push((key, place(&inner)));
        Ok(())
    })?;
    Ok(Setting {
        value: b,
        place: place(meta),
        parts,
    })
}

/// `budget(max_restarts = 5, window = "1m", on_exhausted = "quarantine",
/// retry_after = "5m")`.
fn budget(meta: &ParseNestedMeta) -> syn::Result<Setting<Budget>> {
    if !is_group(meta) {
        return Err(syn::Error::new_spanned(
            &meta.path,
            "`budget` takes a group: budget(max_restarts = 5, window = \"1m\", on_exhausted = \"quarantine\", retry_after = \"5m\")",
        ));
    }
    let mut max_restarts = None;
    let mut window = None;
    let mut quarantine = None;
    let mut retry_after: Option<(Duration, Place)> = None;
    let mut parts = Vec::new();
    meta.parse_nested_meta(|inner| {
        let key = once(&parts, &inner)?;
        match key.as_str() {
            "max_restarts" => max_restarts = Some(count(&inner)?),
            "window" => window = Some(duration(&string(&inner)?)?),
            "on_exhausted" => {
                let lit = string(&inner)?;
                quarantine = Some(match lit.value().trim() {
                    "escalate" => false,
                    "quarantine" => true,
                    other => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!(
                                "unknown on_exhausted {other:?}; expected \"escalate\" or \"quarantine\""
                            ),
                        ));
                    }
                });
            }
            "retry_after" => {
                let d = duration(&string(&inner)?)?;
                retry_after = Some((d, place(&inner)));
            }
            _ => return Err(unknown_key(&inner, &BUDGET_KEYS, "budget")),
        }
        parts.push((key, place(&inner)));
        Ok(())
    })?;
    let whole = place(meta);
    let (Some(max_restarts), Some(window)) = (max_restarts, window) else {
        return Err(whole.error(
            "`budget(...)` needs `max_restarts` and `window`: budget(max_restarts = 5, window = \"1m\")",
        ));
    };
    let budget = Budget::new(max_restarts, window);
    let value = match (quarantine.unwrap_or(false), retry_after) {
        (true, retry) => budget.quarantine(retry.map(|(d, _)| d)),
        (false, None) => budget,
        (false, Some((_, at))) => {
            return Err(at.error("retry_after applies only with on_exhausted = \"quarantine\""));
        }
    };
    Ok(Setting {
        value,
        place: whole,
        parts,
    })
}

/// `readiness = "immediate" | "explicit"` or `readiness(explicit = "10s")`.
fn readiness(meta: &ParseNestedMeta) -> syn::Result<Setting<Readiness>> {
    if !is_group(meta) {
        let lit = string(meta)?;
        let value = match lit.value().trim() {
            "immediate" => Readiness::Immediate,
            "explicit" => Readiness::explicit(Readiness::DEFAULT_TIMEOUT),
            other => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown readiness {other:?}; expected \"immediate\", \"explicit\" or readiness(explicit = \"10s\")"
                    ),
                ));
            }
        };
        return Ok(Setting::new(value, place(meta)));
    }
    let mut timeout = None;
    let mut parts = Vec::new();
    meta.parse_nested_meta(|inner| {
        let key = once(&parts, &inner)?;
        if key != "explicit" {
            return Err(unknown_key(&inner, &READINESS_KEYS, "readiness"));
        }
        timeout = Some(duration(&string(&inner)?)?);
        parts.push((key, place(&inner)));
        Ok(())
    })?;
    let whole = place(meta);
    let Some(timeout) = timeout else {
        return Err(whole.error("`readiness(...)` needs `explicit`: readiness(explicit = \"10s\")"));
    };
    Ok(Setting {
        value: Readiness::explicit(timeout),
        place: whole,
        parts,
    })
}

/// The key of `meta` inside a group, rejected if the group already has it.
fn once(parts: &[(String, Place)], meta: &ParseNestedMeta) -> syn::Result<String> {
    let key = key_text(meta);
    if parts.iter().any(|(k, _)| *k == key) {
        return Err(syn::Error::new(
            key_span(meta),
            format!("duplicate key `{key}`: each key may be given once"),
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: TokenStream) -> Config {
        Config::parse(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(args: TokenStream) -> String {
        match Config::parse(args) {
            Ok(_) => panic!("parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_every_key() {
        let c = parse(quote! {
            id = "ingest-1", description = "reads", task = "jobs::ingest",
            restart = "transient", significant = true,
            shutdown(timeout = "brutal_kill", abort_wait = "2s"),
            backoff(initial = "1s", max = "1m", multiplier = 3, jitter = 0.5, reset_after = "2m"),
            budget(max_restarts = 5, window = "1m", on_exhausted = "quarantine", retry_after = "5m"),
            readiness(explicit = "10s"), liveness = "2s",
            depends_on = ["db", "cache"], tags = ["http"],
        });
        assert_eq!(c.id.unwrap().value.value(), "ingest-1");
        assert_eq!(c.restart.unwrap().value, Restart::Transient);
        assert_eq!(
            c.shutdown.unwrap().value,
            Shutdown::BrutalKill {
                abort_wait: Duration::from_secs(2)
            }
        );
        let b = c.backoff.unwrap();
        assert_eq!(b.value.multiplier, 3.0);
        assert_eq!(b.parts.len(), 5);
        assert_eq!(
            c.budget.unwrap().value,
            Budget::new(5, Duration::from_secs(60)).quarantine(Some(Duration::from_secs(300)))
        );
        assert_eq!(c.depends_on.unwrap().value.len(), 2);
    }

    #[test]
    fn empty_arguments_are_the_defaults() {
        let c = parse(TokenStream::new());
        assert!(c.id.is_none() && c.backoff.is_none());
    }

    #[test]
    fn unknown_key_lists_the_valid_keys() {
        let err = error(quote!(restrat = "transient"));
        assert!(err.starts_with("unknown key `restrat`; valid keys are `id`, `description`"));
        let err = error(quote!(backoff(initail = "1s")));
        assert_eq!(
            err,
            "unknown key `initail` in `backoff(...)`; valid keys are `initial`, `max`, `multiplier`, `jitter`, `reset_after`"
        );
    }

    #[test]
    fn rejects_duplicates_at_any_level() {
        let err = error(quote!(restart = "transient", restart = "temporary"));
        assert_eq!(err, "duplicate key `restart`: each key may be given once");
        let err = error(quote!(backoff(max = "1s", max = "2s")));
        assert_eq!(err, "duplicate key `max`: each key may be given once");
    }

    #[test]
    fn rejects_values_of_the_wrong_form() {
        for (args, want) in [
            (
                quote!(significant = "yes"),
                "`significant` takes `true` or `false`",
            ),
            (quote!(restart), "`restart` takes a string: `restart = ...`"),
            (quote!(liveness = 2), "`liveness` takes a string"),
            (
                quote!(tags = "http"),
                "`tags` takes a list of strings: [\"a\", \"b\"]",
            ),
            (quote!(backoff = "fast"), "expected \"none\" or a group"),
            (quote!(readiness = "soon"), "unknown readiness \"soon\""),
            (
                quote!(budget(window = "1m")),
                "`budget(...)` needs `max_restarts` and `window`",
            ),
            (
                quote!(budget(max_restarts = 1, window = "1m", retry_after = "1s")),
                "retry_after applies only with on_exhausted = \"quarantine\"",
            ),
            (
                quote!(shutdown(timeout = "infinity", abort_wait = "1s")),
                "infinity waits forever, so abort_wait does not apply",
            ),
            (
                quote!(shutdown(abort_wait = "1s")),
                "`shutdown(...)` needs `timeout`",
            ),
        ] {
            let err = error(args.clone());
            assert!(err.starts_with(want), "{args}: {err}");
        }
    }

    #[test]
    fn durations_read_as_the_spec_reads_them() {
        // The spec's parser is private; its public readers must agree with
        // this one on every input, valid or not.
        for text in [
            "5s",
            " 250ms ",
            "1h 30m",
            "0s",
            "5 parsecs",
            "",
            "1.5s",
            "-1s",
        ] {
            let json = format!(r#"{{"id":"x","liveness":{text:?}}}"#);
            let spec = serde_json::from_str::<supervisor_spec::ChildSpec>(&json);
            match (parse_duration(text), spec) {
                (Ok(d), Ok(spec)) => assert_eq!(spec.liveness, Some(d), "{text:?}"),
                (Err(ours), Err(theirs)) => {
                    assert!(theirs.to_string().starts_with(&ours), "{ours} / {theirs}")
                }
                (ours, theirs) => panic!("{text:?}: {ours:?} / {theirs:?}"),
            }
        }
    }
}
