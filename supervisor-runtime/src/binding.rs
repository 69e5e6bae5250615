//! Task bindings: the implementations a tree's task names refer to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use supervisor_spec::{ChildKind, ChildPath, ChildSpec, SupervisorSpec, TaskName};

use crate::{BlockingTask, StartError, Task};

/// One bound implementation.
#[derive(Clone)]
pub(crate) enum Binding {
    Async(Arc<dyn Task>),
    Blocking(Arc<dyn BlockingTask>),
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Async(_) => "Async",
            Self::Blocking(_) => "Blocking",
        })
    }
}

/// Every binding of one tree, by task name. Each is behind one more `Arc`,
/// so that a child's record holds a thin pointer to its binding (8 bytes
/// instead of a tagged fat pointer's 24).
#[derive(Debug, Default, Clone)]
pub(crate) struct Bindings(BTreeMap<TaskName, Arc<Binding>>);

impl Bindings {
    pub(crate) fn insert(&mut self, name: TaskName, binding: Binding) {
        self.0.insert(name, Arc::new(binding));
    }

    pub(crate) fn get(&self, name: &TaskName) -> Option<Arc<Binding>> {
        self.0.get(name).cloned()
    }

    /// Checks that every worker's task is bound with the right kind (async
    /// or blocking) and every binding is used.
    pub(crate) fn check(&self, spec: &SupervisorSpec) -> Result<(), StartError> {
        let mut used = BTreeSet::new();
        let mut unbound: Vec<(ChildPath, TaskName)> = self
            .unbound(&spec.children, ChildPath::root(spec.id.clone()), &mut used)
            .into_iter()
            .map(|(path, task, _)| (path, task))
            .collect();
        let unused: Vec<TaskName> = self
            .0
            .keys()
            .filter(|name| !used.contains(*name))
            .cloned()
            .collect();
        if unbound.is_empty() && unused.is_empty() {
            Ok(())
        } else {
            unbound.sort();
            Err(StartError::Binding { unbound, unused })
        }
    }

    /// Checks a child added at run time under the supervisor at `parent`
    /// as `check` checks a tree: every worker in it, and in the
    /// supervisors nested in it, must have its task bound with the right
    /// kind. Returns what is missing, for the command's answer.
    pub(crate) fn check_added(&self, parent: &ChildPath, child: &ChildSpec) -> Result<(), String> {
        let unbound = self.unbound(
            std::slice::from_ref(child),
            parent.clone(),
            &mut BTreeSet::new(),
        );
        if unbound.is_empty() {
            return Ok(());
        }
        let needs: Vec<String> = unbound
            .iter()
            .map(|(path, task, want_async)| {
                let kind = if *want_async {
                    "an async"
                } else {
                    "a blocking"
                };
                format!("{path} needs `{task}` bound as {kind} task")
            })
            .collect();
        Err(format!("task bindings do not match: {}", needs.join(", ")))
    }

    /// The workers among `children` (of the supervisor at `path`) and the
    /// supervisors nested in them whose task is not bound with the right
    /// kind, each with whether it wants an async task; the names looked up
    /// go into `used`.
    fn unbound(
        &self,
        children: &[ChildSpec],
        path: ChildPath,
        used: &mut BTreeSet<TaskName>,
    ) -> Vec<(ChildPath, TaskName, bool)> {
        let mut unbound = Vec::new();
        let mut stack = vec![(children, path)];
        while let Some((children, path)) = stack.pop() {
            // Siblings mostly share their task: the last answer is reused.
            let mut last: Option<(&TaskName, bool, bool)> = None;
            for child in children {
                let (task, want_async) = match &child.kind {
                    ChildKind::Supervisor(nested) => {
                        stack.push((&nested.children, path.join(&child.id)));
                        continue;
                    }
                    ChildKind::Worker { task } => (task, true),
                    ChildKind::Blocking { task } => (task, false),
                    _ => continue,
                };
                let bound = match last {
                    Some((name, kind, bound)) if name == task && kind == want_async => bound,
                    _ => {
                        used.insert(task.clone());
                        let bound = matches!(
                            (self.0.get(task).map(|b| &**b), want_async),
                            (Some(Binding::Async(_)), true) | (Some(Binding::Blocking(_)), false)
                        );
                        last = Some((task, want_async, bound));
                        bound
                    }
                };
                if !bound {
                    unbound.push((path.join(&child.id), task.clone(), want_async));
                }
            }
        }
        unbound
    }
}
