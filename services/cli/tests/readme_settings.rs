//! docs/settings.md documents every setting a binary reads, with its current default: each
//! `#[arg(env = "...")]` of every crate's clap config has a row in its Settings
//! table. Fails when a setting or a default changes without its row, so `--help` and the
//! documentation cannot drift apart.

use std::path::{Path, PathBuf};

mod common;

use common::workspace_root;

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// One `#[arg]` that reads an environment variable (several binaries may read the same).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    env: String,
    default: Default,
}

/// A default as the code spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Default {
    /// No default: the setting is unset unless given.
    Unset,
    /// A literal string or number.
    Literal(String),
    /// A constant or expression (checked by presence only).
    Computed,
}

/// The default of one `#[arg(...)]` attribute.
fn default_of(attribute: &str) -> Default {
    let value = ["default_value = ", "default_value_t = "]
        .iter()
        .find_map(|key| {
            let start = attribute.find(key)? + key.len();
            let rest = &attribute[start..];
            if let Some(quoted) = rest.strip_prefix('"') {
                return Some(format!("\"{}", &quoted[..quoted.find('"')?]));
            }
            let value: String = rest
                .chars()
                .take_while(|c| !matches!(c, ',' | ')' | '\n'))
                .collect();
            Some(value.trim().to_string())
        });
    match value {
        None => Default::Unset,
        Some(value) => match value.strip_prefix('"') {
            Some(text) => Default::Literal(text.to_string()),
            None if value.parse::<f64>().is_ok() => Default::Literal(value),
            None => Default::Computed,
        },
    }
}

/// Every `#[arg(...)]` with an `env = "..."` in the crates' `src/` (this crate's too;
/// not the benchmark's, whose settings `bench/README.md` documents).
fn settings() -> Vec<Setting> {
    let mut files = Vec::new();
    let services = std::fs::read_dir(workspace_root().join("services")).expect("services/");
    for crate_dir in services.flatten() {
        if crate_dir.file_name() == "bench" {
            continue;
        }
        rust_files(&crate_dir.path().join("src"), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("#[arg(") {
            rest = &rest[at..];
            let end = rest.find(")]").map_or(rest.len(), |end| end + 2);
            let attribute = &rest[..end];
            rest = &rest[end..];
            let Some(start) = attribute.find("env = \"") else {
                continue;
            };
            let name = &attribute[start + "env = \"".len()..];
            let Some(close) = name.find('"') else {
                continue;
            };
            found.push(Setting {
                env: name[..close].to_string(),
                default: default_of(attribute),
            });
        }
    }
    found.sort_by(|a, b| a.env.cmp(&b.env));
    found
}

#[test]
fn defaults_are_read_as_spelled() {
    assert_eq!(
        default_of(r#"long, env = "X", default_value = "0 */5 * * * *")"#),
        Default::Literal("0 */5 * * * *".into())
    );
    assert_eq!(
        default_of(r#"long, env = "X", default_value_t = 600)"#),
        Default::Literal("600".into())
    );
    assert_eq!(
        default_of(r#"long, env = "X", default_value = "", value_delimiter = ',')"#),
        Default::Literal(String::new())
    );
    assert_eq!(
        default_of(r#"long, env = "X", default_value = DEV_SECRET)"#),
        Default::Computed
    );
    assert_eq!(default_of(r#"long, env = "X")"#), Default::Unset);
}

#[test]
fn docs_settings_documents_every_setting_with_its_default() {
    let readme = std::fs::read_to_string(workspace_root().join("docs/settings.md"))
        .expect("docs/settings.md");
    let found = settings();
    assert!(
        found.len() >= 20 && found.iter().any(|setting| setting.env == "DATABASE_URL"),
        "the scan found too few settings: {found:?}"
    );
    let mut problems = Vec::new();
    for setting in &found {
        let prefix = format!("| `{}` |", setting.env);
        let Some(row) = readme.lines().find(|line| line.starts_with(&prefix)) else {
            problems.push(format!("{}: no row", setting.env));
            continue;
        };
        let cell = row[prefix.len()..]
            .split('|')
            .next()
            .unwrap_or_default()
            .trim();
        let expected = match &setting.default {
            Default::Unset => "unset".to_string(),
            Default::Literal(value) if value.is_empty() => "empty".to_string(),
            Default::Literal(value) => format!("`{value}`"),
            Default::Computed => continue,
        };
        if cell != expected {
            problems.push(format!(
                "{}: docs/settings.md says {cell}, the code's default is {expected}",
                setting.env
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/settings.md's table is out of date:\n{}",
        problems.join("\n")
    );
}
