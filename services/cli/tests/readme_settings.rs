//! README.md documents every setting a binary reads: each `env = "..."` of every crate's
//! clap config appears in the README's Settings table. Fails when a setting is added
//! without its line, so `--help` and the README cannot drift apart.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .expect("services/cli sits two levels below the workspace root")
        .to_path_buf()
}

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

/// Every environment variable named by an `env = ` attribute in the crates' `src/`.
fn settings() -> Vec<String> {
    let mut files = Vec::new();
    let services = std::fs::read_dir(workspace_root().join("services")).expect("services/");
    for crate_dir in services.flatten() {
        rust_files(&crate_dir.path().join("src"), &mut files);
    }
    let mut names = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("env = \"") {
            rest = &rest[at + "env = \"".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names.sort();
    names
}

#[test]
fn readme_documents_every_setting() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let found = settings();
    assert!(
        found.len() >= 20 && found.contains(&"DATABASE_URL".to_string()),
        "the scan found too few settings: {found:?}"
    );
    let missing: Vec<&String> = found
        .iter()
        .filter(|name| !readme.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's Settings table lacks a row for: {missing:?}"
    );
}
