//! The markdown table: medians over the rounds, the ratio to raw tokio, and
//! a cell's reason where a contender has no value.

use std::fmt::Write as _;

use crate::Results;
use crate::contenders::Contender;
use crate::scenarios::{Row, Unit};

/// A value in its row's unit, for people.
pub fn format(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Time => {
            let (x, u) = if v < 1e3 {
                (v, "ns")
            } else if v < 1e6 {
                (v / 1e3, "µs")
            } else if v < 1e9 {
                (v / 1e6, "ms")
            } else {
                (v / 1e9, "s")
            };
            if x < 10.0 {
                format!("{x:.2} {u}")
            } else if x < 100.0 {
                format!("{x:.1} {u}")
            } else {
                format!("{x:.0} {u}")
            }
        }
        Unit::Bytes => format!("{} B", thousands(v.round() as i64)),
        Unit::Count => {
            if v.fract() == 0.0 {
                thousands(v as i64)
            } else {
                format!("{v:.1}")
            }
        }
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("x{r:.0}")
    } else {
        format!("x{r:.1}")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of a row for one contender, or why there is none; with a
/// note when only some rounds gave a value.
fn summary(
    results: &Results,
    row: Row,
    key: &str,
) -> Option<Result<(f64, Option<String>), String>> {
    let values = results.get(&(row, key))?;
    let oks: Vec<f64> = values
        .iter()
        .filter_map(|v| v.as_ref().ok().copied())
        .collect();
    let errs: Vec<&String> = values.iter().filter_map(|v| v.as_ref().err()).collect();
    if oks.is_empty() {
        return Some(Err(errs.first().map(|e| (*e).clone()).unwrap_or_default()));
    }
    let note = errs
        .first()
        .map(|e| format!("{} of {} rounds: {e}", errs.len(), values.len()));
    Some(Ok((median(oks), note)))
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs ({model})")
}

fn date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Whose values a column shows in `row`: the sequential row compares ours
/// (sequential) with raw tokio's one-token shutdown; the peers have no
/// such mode.
fn column_key(row: Row, c: &dyn Contender, sequential: &dyn Contender) -> Option<&'static str> {
    if row != Row::Shutdown10kSequential {
        return Some(c.key());
    }
    match c.key() {
        "ours" => Some(sequential.key()),
        "raw tokio" => Some(c.key()),
        _ => None,
    }
}

/// The whole report: a header line, the table, and its footnotes.
pub fn render(
    results: &Results,
    columns: &[&'static dyn Contender],
    sequential: &'static dyn Contender,
    rounds: usize,
    heavy_rounds: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Medians over {rounds} rounds ({heavy_rounds} for the 10,000-child scenarios), {}, {}.",
        machine(),
        date()
    );
    let versions: Vec<&str> = columns.iter().map(|c| c.version()).collect();
    let _ = writeln!(out, "Versions: {}.\n", versions.join(", "));

    let _ = write!(out, "| scenario |");
    for c in columns {
        let _ = write!(out, " {} |", c.key());
    }
    let _ = write!(out, "\n|---|");
    for _ in columns {
        let _ = write!(out, "---:|");
    }
    out.push('\n');

    let mut notes: Vec<String> = Vec::new();
    for row in Row::ALL {
        let raw_row = if row == Row::Shutdown10kSequential {
            Row::Shutdown10k
        } else {
            row
        };
        let key_of = |c: &dyn Contender| column_key(row, c, sequential);
        if results.keys().all(|(r, _)| *r != row) {
            continue;
        }
        let raw = summary(results, raw_row, "raw tokio")
            .and_then(|s| s.ok())
            .map(|s| s.0);
        // The best (lowest) median among the libraries, set in bold where
        // at least two libraries have a value.
        let medians: Vec<f64> = columns
            .iter()
            .filter(|c| c.key() != "raw tokio")
            .filter_map(|c| key_of(*c))
            .filter_map(|k| summary(results, row, k).and_then(|s| s.ok()).map(|s| s.0))
            .collect();
        let best = if medians.len() >= 2 {
            medians.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            f64::NAN
        };
        let _ = write!(out, "| {} |", row.title());
        for c in columns {
            let cell = match key_of(*c) {
                None => "—".to_owned(),
                Some(key) => {
                    let looked_up = if c.key() == "raw tokio" {
                        summary(results, raw_row, key)
                    } else {
                        summary(results, row, key)
                    };
                    let note = c.note(row);
                    match looked_up {
                        None => "not run".to_owned(),
                        Some(Err(e)) => match note {
                            Some(n) => format!("{e} ({n})"),
                            None => e,
                        },
                        Some(Ok((v, partial))) => {
                            let mut cell = format(row.unit(), v);
                            if c.key() != "raw tokio" {
                                if row.has_ratio()
                                    && let Some(raw) = raw.filter(|r| *r > 0.0)
                                {
                                    cell = format!("{cell} ({})", ratio(v / raw));
                                }
                                if v == best && row.has_ratio() {
                                    cell = format!("**{cell}**");
                                }
                            }
                            if let Some(n) = note {
                                cell = format!("{cell}; {n}");
                            }
                            if let Some(note) = partial {
                                notes.push(format!("{} / {}: {note}", row.title(), c.key()));
                                cell.push_str(&format!(" [{}]", notes.len()));
                            }
                            cell
                        }
                    }
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push('\n');
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(out, "[{}] {n}", i + 1);
        }
    }
    out.push_str(
        "\nIn brackets: the median over the median of raw tokio. Bold: the lowest among the libraries.\n",
    );
    out
}
