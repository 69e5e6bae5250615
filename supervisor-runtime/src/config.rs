//! [`Supervisor::from_config_file`]: a tree declared in a YAML or TOML file.

use std::path::Path;

use supervisor_spec::{ConfigError, ConfigFormat};

use crate::Supervisor;

impl Supervisor {
    /// A tree from the YAML or TOML file at `path` (by its extension), loaded
    /// and validated by [`supervisor_spec::load_config_file`]; bind its
    /// workers' tasks by name before starting it.
    ///
    /// Warnings of the tree are logged when it starts, as for any spec.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file and the line (and column) of the
    /// problem: a missing or unreadable file, a syntax or type error, an
    /// unknown key, or the tree's validation errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use supervisor_runtime::{Supervisor, TaskContext};
    ///
    /// async fn api(ctx: TaskContext) -> Result<(), std::io::Error> {
    ///     ctx.cancelled().await;
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let tree = Supervisor::from_config_file("tree.yaml")?
    ///     .task("api", api)
    ///     .start()
    ///     .await?;
    /// let end = tree.run_until_signal().await;
    /// println!("{}", end.report);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let valid = supervisor_spec::load_config_file(path)?;
        Ok(Self::new(valid.into_inner()))
    }

    /// A tree from `text`, written in `format`; as
    /// [`from_config_file`](Self::from_config_file), with messages naming
    /// the source `<string>`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] with the line and column of the problem.
    ///
    /// # Examples
    ///
    /// ```
    /// use supervisor_runtime::{Supervisor, TaskContext};
    /// use supervisor_spec::ConfigFormat;
    ///
    /// async fn api(ctx: TaskContext) -> Result<(), std::io::Error> {
    ///     ctx.cancelled().await;
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let yaml = "id: root\nchildren:\n  - id: api\n    restart: transient\n";
    /// let tree = Supervisor::from_config_str(yaml, ConfigFormat::Yaml)?
    ///     .task("api", api)
    ///     .start()
    ///     .await?;
    /// let report = tree.shutdown().await;
    /// assert_eq!(report.children.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_config_str(text: &str, format: ConfigFormat) -> Result<Self, ConfigError> {
        let valid = supervisor_spec::load_config_str(text, format)?;
        Ok(Self::new(valid.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_problems_with_their_line() {
        let toml = "id = \"root\"\n\n[[children]]\nid = \"api\"\nshutdown = \"infinity\"\n";
        let err = Supervisor::from_config_str(toml, ConfigFormat::Toml).unwrap_err();
        assert!(
            err.to_string()
                .contains("<string>:5: error: root.children[0] (api).shutdown: infinity"),
            "{err}"
        );
    }

    async fn idle(ctx: crate::TaskContext) -> Result<(), std::io::Error> {
        ctx.ready();
        ctx.cancelled().await;
        Ok(())
    }

    fn writer(ctx: crate::BlockingContext) -> Result<(), std::io::Error> {
        ctx.ready();
        while !ctx.wait_cancelled(std::time::Duration::from_millis(10)) {}
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn the_demo_config_files_start_with_the_demo_task_names() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        for file in ["demo.yaml", "demo.toml"] {
            let tree = Supervisor::from_config_file(examples.join(file))
                .unwrap()
                .task("db", idle)
                .task("api", idle)
                .task("ingest", idle)
                .blocking_task("writer", writer)
                .task("scheduler", idle)
                .task("reporter", idle)
                .start()
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let report = tree.shutdown().await;
            assert_eq!(report.children.len(), 5, "{file}");
        }
    }
}
