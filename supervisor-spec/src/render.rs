//! Renderings of a tree: an indented text tree ([`Display`](std::fmt::Display))
//! and Graphviz DOT ([`SupervisorSpec::to_dot`]).

use std::fmt::{self, Write as _};

use crate::duration::format as fmt_d;
use crate::{
    AutoShutdown, ChildKind, ChildPath, ChildSpec, OnExhausted, Readiness, Restart, Shutdown,
    Strategy, SupervisorSpec,
};

impl fmt::Display for SupervisorSpec {
    /// Renders the tree one node a line, children indented below their
    /// supervisor:
    ///
    /// ```text
    /// root (supervisor, one_for_one, intensity 3 in 5s)
    /// ├── db (worker db, permanent)
    /// └── api (worker api, permanent) depends on db
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({})", self.id, supervisor_label(self))?;
        write_children(f, self, "")
    }
}

fn write_children(f: &mut fmt::Formatter<'_>, spec: &SupervisorSpec, indent: &str) -> fmt::Result {
    // An explicit stack instead of recursion keeps deep (invalid) trees safe.
    let mut stack: Vec<(&SupervisorSpec, String, usize)> = vec![(spec, indent.to_owned(), 0)];
    while let Some((sup, indent, next)) = stack.pop() {
        let Some(child) = sup.children.get(next) else {
            continue;
        };
        let last = next + 1 == sup.children.len();
        let (branch, more) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        writeln!(
            f,
            "{indent}{branch}{} ({}){}",
            child.id,
            child_label(child),
            deps(child)
        )?;
        stack.push((sup, indent.clone(), next + 1));
        if let ChildKind::Supervisor(nested) = &child.kind {
            stack.push((nested, format!("{indent}{more}"), 0));
        }
    }
    Ok(())
}

fn strategy(s: Strategy) -> &'static str {
    match s {
        Strategy::OneForOne => "one_for_one",
        Strategy::OneForAll => "one_for_all",
        Strategy::RestForOne => "rest_for_one",
    }
}

fn supervisor_label(s: &SupervisorSpec) -> String {
    let mut label = format!(
        "supervisor, {}, intensity {} in {}",
        strategy(s.strategy),
        s.intensity.max_restarts,
        fmt_d(s.intensity.period)
    );
    match s.auto_shutdown {
        AutoShutdown::Never => {}
        AutoShutdown::AnySignificant => label.push_str(", auto_shutdown any_significant"),
        AutoShutdown::AllSignificant => label.push_str(", auto_shutdown all_significant"),
    }
    if let Some(budget) = s.shutdown {
        let _ = write!(label, ", shutdown budget {}", fmt_d(budget));
    }
    label
}

fn child_label(c: &ChildSpec) -> String {
    let restart = match c.restart {
        Restart::Permanent => "permanent",
        Restart::Transient => "transient",
        Restart::Temporary => "temporary",
    };
    let mut label = match &c.kind {
        ChildKind::Worker { task } => format!("worker {task}, {restart}"),
        ChildKind::Blocking { task } => format!("blocking {task}, {restart}"),
        ChildKind::Supervisor(s) => format!("{}, {restart}", supervisor_label(s)),
    };
    if c.significant {
        label.push_str(", significant");
    }
    match c.shutdown {
        Shutdown::BrutalKill { .. } => label.push_str(", brutal_kill"),
        Shutdown::Graceful { timeout, .. } if timeout != Shutdown::DEFAULT_TIMEOUT => {
            let _ = write!(label, ", shutdown {}", fmt_d(timeout));
        }
        _ => {}
    }
    if let Readiness::Explicit { timeout } = c.readiness {
        let _ = write!(label, ", ready within {}", fmt_d(timeout));
    }
    if let Some(b) = c.budget {
        let _ = write!(label, ", budget {} in {}", b.max_restarts, fmt_d(b.window));
        if let OnExhausted::Quarantine { .. } = b.on_exhausted {
            label.push_str(" then quarantine");
        }
    }
    if let Some(d) = c.liveness {
        let _ = write!(label, ", heartbeat every {}", fmt_d(d));
    }
    if !c.tags.is_empty() {
        let _ = write!(label, ", tags {}", c.tags.join(","));
    }
    label
}

fn deps(c: &ChildSpec) -> String {
    if c.depends_on.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = c.depends_on.iter().map(|d| d.as_str()).collect();
    format!(" depends on {}", names.join(", "))
}

impl SupervisorSpec {
    /// Renders the tree as a Graphviz DOT digraph: one cluster per
    /// supervisor, an edge from each supervisor to its children, and a
    /// dashed edge from each child to every sibling it depends on.
    ///
    /// # Examples
    ///
    /// ```
    /// use supervisor_spec::{ChildSpec, SupervisorSpec};
    ///
    /// let spec = SupervisorSpec::new("root")?
    ///     .with_child(ChildSpec::worker("db")?)
    ///     .with_child(ChildSpec::worker("api")?.with_depends_on(["db"])?);
    /// let dot = spec.to_dot();
    /// assert!(dot.starts_with("digraph supervision {"));
    /// assert!(dot.contains("\"root/api\" -> \"root/db\" [style=dashed"));
    /// # Ok::<(), supervisor_spec::IdError>(())
    /// ```
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph supervision {\n  rankdir=TB;\n  node [fontname=\"monospace\"];\n",
        );
        let root = ChildPath::root(self.id.clone());
        let _ = writeln!(
            out,
            "  {} [shape=box, style=bold, label={}];",
            quote(&root.to_string()),
            quote(&format!("{}\\n{}", self.id, supervisor_label(self)))
        );
        let mut stack = vec![(self, root)];
        while let Some((sup, path)) = stack.pop() {
            let _ = writeln!(out, "  subgraph {} {{", quote(&format!("cluster_{path}")));
            let _ = writeln!(out, "    label={};", quote(&path.to_string()));
            for child in &sup.children {
                let child_path = path.join(&child.id);
                let shape = match child.kind {
                    ChildKind::Supervisor(_) => "box, style=bold",
                    ChildKind::Blocking { .. } => "box, style=rounded",
                    ChildKind::Worker { .. } => "ellipse",
                };
                let _ = writeln!(
                    out,
                    "    {} [shape={shape}, label={}];",
                    quote(&child_path.to_string()),
                    quote(&format!("{}\\n{}", child.id, child_label(child)))
                );
            }
            out.push_str("  }\n");
            for child in &sup.children {
                let child_path = path.join(&child.id);
                let _ = writeln!(
                    out,
                    "  {} -> {};",
                    quote(&path.to_string()),
                    quote(&child_path.to_string())
                );
                for dep in &child.depends_on {
                    let _ = writeln!(
                        out,
                        "  {} -> {} [style=dashed, label=\"depends on\"];",
                        quote(&child_path.to_string()),
                        quote(&path.join(dep).to_string())
                    );
                }
                if let ChildKind::Supervisor(nested) = &child.kind {
                    stack.push((nested, child_path));
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A DOT string literal. Ids and paths are plain ASCII, but descriptions and
/// tags are free text, so quotes and backslashes are escaped (a literal `\n`
/// in labels is kept as DOT's line break).
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' if chars.peek() == Some(&'n') => {
                chars.next();
                q.push_str("\\n");
            }
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use crate::{ChildSpec, Strategy, SupervisorSpec};

    fn tree() -> SupervisorSpec {
        SupervisorSpec::new("root")
            .unwrap()
            .with_child(ChildSpec::worker("db").unwrap())
            .with_child(ChildSpec::supervisor(
                SupervisorSpec::new("jobs")
                    .unwrap()
                    .with_strategy(Strategy::OneForAll)
                    .with_child(ChildSpec::blocking("writer").unwrap())
                    .with_child(ChildSpec::worker("ingest").unwrap()),
            ))
            .with_child(
                ChildSpec::worker("api")
                    .unwrap()
                    .with_depends_on(["db"])
                    .unwrap(),
            )
    }

    #[test]
    fn displays_an_indented_tree() {
        let text = tree().to_string();
        let expected = "\
root (supervisor, one_for_one, intensity 3 in 5s)
├── db (worker db, permanent)
├── jobs (supervisor, one_for_all, intensity 3 in 5s, permanent)
│   ├── writer (blocking writer, permanent)
│   └── ingest (worker ingest, permanent)
└── api (worker api, permanent) depends on db
";
        assert_eq!(text, expected);
    }

    #[test]
    fn dot_has_clusters_and_dependency_edges() {
        let dot = tree().to_dot();
        assert!(dot.contains("subgraph \"cluster_root/jobs\""), "{dot}");
        assert!(
            dot.contains("\"root/jobs\" -> \"root/jobs/writer\";"),
            "{dot}"
        );
        assert!(
            dot.contains("\"root/api\" -> \"root/db\" [style=dashed"),
            "{dot}"
        );
        assert!(dot.trim_end().ends_with('}'));
    }

    #[test]
    fn dot_escapes_free_text() {
        let spec = SupervisorSpec::new("root")
            .unwrap()
            .with_child(ChildSpec::worker("a").unwrap().with_tag("say \"hi\""));
        assert!(spec.to_dot().contains("say \\\"hi\\\""));
    }
}
