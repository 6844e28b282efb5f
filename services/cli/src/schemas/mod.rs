//! `proto-schemas/`: JSON Schemas and an AsyncAPI document generated from the shared
//! `tether-proto` types, committed, and checked to be current in CI.
//!
//! Layout: `client/<type>.json`, `server/<type>.json`, `client-message.json`,
//! `server-message.json`, `http/*.json`, `internal/*.json`, `asyncapi.json`. The
//! hand-written `README.md` beside them is not generated and never touched.

pub mod asyncapi;
pub mod client;
pub mod generator;
pub mod http;
pub mod internal;
pub mod refine;
pub mod server;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Map, Value};

/// Sub-directories whose `.json` files are all generated.
const GENERATED_DIRS: [&str; 4] = ["client", "server", "http", "internal"];

/// `proto-schemas/` of this workspace (where `cargo run` finds it).
pub fn default_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // services/cli -> the workspace root.
    let root = crate_dir.ancestors().nth(2).unwrap_or(crate_dir);
    root.join("proto-schemas")
}

/// The generated files: path relative to `proto-schemas/` (with `/`) -> content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artefacts {
    files: BTreeMap<String, String>,
}

/// How a directory differs from what the types generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Generated but not on disk.
    Missing(String),
    /// On disk with other content.
    Differs(String),
    /// On disk in a generated place but no longer generated.
    Unexpected(String),
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(path) => write!(f, "missing:    {path}"),
            Self::Differs(path) => write!(f, "differs:    {path}"),
            Self::Unexpected(path) => write!(f, "unexpected: {path}"),
        }
    }
}

impl Artefacts {
    /// Generates every file from the current types.
    pub fn generate() -> anyhow::Result<Self> {
        let mut artefacts = Self::default();
        client::add(&mut artefacts)?;
        server::add(&mut artefacts)?;
        http::add(&mut artefacts)?;
        internal::add(&mut artefacts)?;
        let document = asyncapi::document(&client::union()?, &server::union()?)?;
        artefacts.insert_json("asyncapi.json", &document)?;
        Ok(artefacts)
    }

    /// The files, by relative path.
    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// Adds a JSON file: keys sorted at every level (the output must not depend on which
    /// serde_json features the build unified), two-space indent, final newline.
    pub fn insert_json(&mut self, path: &str, value: &Value) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(&sorted(value))
            .with_context(|| format!("serialising {path}"))?;
        text.push('\n');
        self.files.insert(path.to_string(), text);
        Ok(())
    }

    /// Compares with `dir`; empty when it is current.
    pub fn check(&self, dir: &Path) -> anyhow::Result<Vec<Drift>> {
        let mut drift = Vec::new();
        for (path, content) in &self.files {
            match std::fs::read_to_string(dir.join(path)) {
                Ok(on_disk) if on_disk == *content => {}
                Ok(_) => drift.push(Drift::Differs(path.clone())),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    drift.push(Drift::Missing(path.clone()))
                }
                Err(err) => return Err(err).with_context(|| format!("reading {path}")),
            }
        }
        for path in generated_files_on_disk(dir)? {
            if !self.files.contains_key(&path) {
                drift.push(Drift::Unexpected(path));
            }
        }
        Ok(drift)
    }

    /// Writes every file into `dir` and removes generated files that are no longer
    /// generated. Returns what changed.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<Drift>> {
        let drift = self.check(dir)?;
        for change in &drift {
            match change {
                Drift::Missing(path) | Drift::Differs(path) => {
                    let target = dir.join(path);
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("creating {}", parent.display()))?;
                    }
                    std::fs::write(&target, &self.files[path])
                        .with_context(|| format!("writing {}", target.display()))?;
                }
                Drift::Unexpected(path) => std::fs::remove_file(dir.join(path))
                    .with_context(|| format!("removing {path}"))?,
            }
        }
        Ok(drift)
    }
}

/// `.json` files in `dir` and its generated sub-directories.
fn generated_files_on_disk(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut scan = |sub: Option<&str>| -> anyhow::Result<()> {
        let folder = sub.map_or_else(|| dir.to_path_buf(), |sub| dir.join(sub));
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err).with_context(|| format!("listing {}", folder.display())),
        };
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                found.push(sub.map_or_else(|| name.clone(), |sub| format!("{sub}/{name}")));
            }
        }
        Ok(())
    };
    scan(None)?;
    for sub in GENERATED_DIRS {
        scan(Some(sub))?;
    }
    found.sort();
    Ok(found)
}

/// A copy of `value` with every object's keys in sorted order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            let ordered: BTreeMap<&String, Value> = fields
                .iter()
                .map(|(key, child)| (key, sorted(child)))
                .collect();
            let mut map = Map::new();
            for (key, child) in ordered {
                map.insert(key.clone(), child);
            }
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
