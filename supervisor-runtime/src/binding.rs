//! Task bindings: the implementations a tree's task names refer to.

use std::collections::BTreeMap;
use std::sync::Arc;

use supervisor_spec::{ChildKind, ChildPath, SupervisorSpec, TaskName};

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
        let mut unbound = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        let mut stack = vec![(spec, ChildPath::root(spec.id.clone()))];
        while let Some((sup, path)) = stack.pop() {
            // Siblings mostly share their task: the last answer is reused.
            let mut last: Option<(&TaskName, bool, bool)> = None;
            for child in &sup.children {
                let (task, want_async) = match &child.kind {
                    ChildKind::Supervisor(nested) => {
                        stack.push((nested, path.join(&child.id)));
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
                    unbound.push((path.join(&child.id), task.clone()));
                }
            }
        }
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
}
