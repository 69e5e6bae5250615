//! Nesting: the deepest valid tree loads from YAML and TOML on an ordinary
//! test thread, and documents nested past the limit are refused, never
//! overflowing the stack.

#![cfg(feature = "config")]

use supervisor_spec::{ConfigError, ConfigFormat, MAX_CONFIG_DEPTH, limits, load_config_str};

/// A chain of `levels` nested supervisors below the root, the last with a
/// worker that has a budget (a map one level further down).
fn chain_yaml(levels: usize) -> String {
    let mut text = String::from("id: root\nchildren:\n");
    let mut indent = String::new();
    for i in 0..levels {
        text.push_str(&format!(
            "{indent}  - id: s{i}\n{indent}    supervisor:\n{indent}      children:\n"
        ));
        indent.push_str("      ");
    }
    text.push_str(&format!(
        "{indent}  - id: leaf\n{indent}    budget: {{ max_restarts: 1, window: 1s }}\n"
    ));
    text
}

fn chain_toml(levels: usize) -> String {
    let mut text = String::from("id = \"root\"\n");
    let mut path = String::from("children");
    for i in 0..levels {
        text.push_str(&format!("\n[[{path}]]\nid = \"s{i}\"\n"));
        path.push_str(".supervisor.children");
    }
    text.push_str(&format!(
        "\n[[{path}]]\nid = \"leaf\"\nbudget = {{ max_restarts = 1, window = \"1s\" }}\n"
    ));
    text
}

#[test]
fn the_deepest_valid_tree_loads_from_both_formats() {
    for (text, format) in [
        (chain_yaml(limits::MAX_DEPTH), ConfigFormat::Yaml),
        (chain_toml(limits::MAX_DEPTH), ConfigFormat::Toml),
    ] {
        let tree = load_config_str(&text, format).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(tree.spec().children[0].id, "s0");
    }
}

#[test]
fn a_tree_nested_past_the_limit_is_a_validation_error_on_its_line() {
    let text = chain_yaml(limits::MAX_DEPTH + 1);
    let err = load_config_str(&text, ConfigFormat::Yaml).unwrap_err();
    let ConfigError::Invalid { errors, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(errors.len(), 1, "{err}");
    // The `supervisor:` key of the 33rd nested supervisor.
    assert_eq!(errors[0].line, 3 * 32 + 4, "{err}");
    assert!(
        errors[0]
            .problem
            .message
            .contains("nested deeper than the limit of 32"),
        "{err}"
    );
}

#[test]
fn yaml_nested_one_level_past_the_limit_is_refused_where_it_starts() {
    let nest = |levels: usize| {
        format!(
            "id: root\nx: {}{}\n",
            "[".repeat(levels),
            "]".repeat(levels)
        )
    };
    // The root map is level 1.
    let at_limit = load_config_str(&nest(MAX_CONFIG_DEPTH - 1), ConfigFormat::Yaml).unwrap_err();
    assert!(matches!(at_limit, ConfigError::Parse { .. }), "{at_limit}");
    let past = load_config_str(&nest(MAX_CONFIG_DEPTH), ConfigFormat::Yaml).unwrap_err();
    assert_eq!(
        past.to_string(),
        format!(
            "<string>:2:{}: maps and lists nest deeper than the limit of 128 levels",
            4 + MAX_CONFIG_DEPTH - 1
        )
    );
}

#[test]
fn yaml_nested_a_hundred_thousand_levels_deep_is_refused() {
    for open in ["[", "{a: ", "- "] {
        let text = format!("id: root\nx: {}", open.repeat(100_000));
        let err = load_config_str(&text, ConfigFormat::Yaml).unwrap_err();
        assert!(
            matches!(err, ConfigError::TooDeep { .. } | ConfigError::Parse { .. }),
            "{open}: {err}"
        );
    }
}

#[test]
fn toml_dotted_keys_in_nested_inline_tables_are_refused_without_recursing() {
    // Each inline table may hold a dotted key 79 levels deep, and the parser
    // allows 80 nested inline tables: thousands of levels in a few KiB.
    let key = vec!["a"; 79].join(".");
    let mut text = format!("id = \"root\"\n{key} = ");
    for _ in 0..79 {
        text.push_str(&format!("{{ {key} = "));
    }
    text.push('1');
    text.push_str(&" }".repeat(79));
    let err = load_config_str(&text, ConfigFormat::Toml).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::TooDeep {
                line: 2,
                limit: MAX_CONFIG_DEPTH,
                ..
            }
        ),
        "{err}"
    );
}
