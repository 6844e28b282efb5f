//! docker-compose.yml runs every service of the workspace with a health check and a
//! settable replica count. Simple indentation-based reading of the YAML: enough for the
//! file's own shape, and no YAML dependency.

use std::collections::BTreeMap;

mod common;

use common::workspace_root;

/// Binaries named `tether-<service>` declared by the workspace's service crates (every
/// crate under services/ with a `[[bin]]`, except the tools crates: this one and the
/// benchmark's load generator).
fn workspace_services() -> Vec<String> {
    let mut services = Vec::new();
    let dir = workspace_root().join("services");
    for entry in std::fs::read_dir(&dir).expect("services/") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|name| name == "cli" || name == "bench")
        {
            continue;
        }
        let Ok(manifest) = std::fs::read_to_string(path.join("Cargo.toml")) else {
            continue;
        };
        let mut in_bin = false;
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(name) = line.strip_prefix("name = \"tether-") {
                services.push(name.trim_end_matches('"').to_string());
            }
        }
    }
    services.sort();
    services
}

/// The lines of each entry under the top-level `services:` key.
fn compose_services(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_services = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        let content = line.trim_end();
        if content.trim_start().starts_with('#') || content.is_empty() {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        if indent == 0 {
            in_services = content == "services:";
            current = None;
        } else if in_services && indent == 2 {
            current = Some(content.trim().trim_end_matches(':').to_string());
            services
                .entry(current.clone().unwrap_or_default())
                .or_default();
        } else if in_services && let Some(name) = &current {
            services
                .entry(name.clone())
                .or_default()
                .push(content.to_string());
        }
    }
    services
}

/// The lines of the 4-space-indented key `key:` of a service, including its children.
fn block(lines: &[String], key: &str) -> Option<Vec<String>> {
    let start = lines
        .iter()
        .position(|line| line.starts_with(&format!("    {key}:")))?;
    let mut out = vec![lines[start].clone()];
    out.extend(
        lines[start + 1..]
            .iter()
            .take_while(|line| line.starts_with("      "))
            .cloned(),
    );
    Some(out)
}

/// `NATS_CURRENT_VERSION` of scripts/lib/common.sh: the NATS release the NATS-facing tests
/// also run against.
fn current_nats_version() -> String {
    let common = std::fs::read_to_string(workspace_root().join("scripts/lib/common.sh"))
        .expect("scripts/lib/common.sh");
    common
        .lines()
        .find_map(|line| line.strip_prefix("NATS_CURRENT_VERSION=${TETHER_NATS_CURRENT_VERSION:-"))
        .and_then(|rest| rest.strip_suffix('}'))
        .expect("NATS_CURRENT_VERSION in scripts/lib/common.sh")
        .to_string()
}

fn compose_text() -> String {
    std::fs::read_to_string(workspace_root().join("docker-compose.yml"))
        .expect("docker-compose.yml at the workspace root")
}

#[test]
fn the_workspace_has_the_five_services() {
    assert_eq!(
        workspace_services(),
        ["chat", "cleanup", "location", "session", "ws-edge"]
    );
}

#[test]
fn every_workspace_service_runs_with_a_health_check_and_replicas() {
    let services = compose_services(&compose_text());
    for name in workspace_services() {
        let lines = services
            .get(&name)
            .unwrap_or_else(|| panic!("docker-compose.yml has no service {name:?}"));
        let command = block(lines, "command").unwrap_or_else(|| panic!("{name}: no command"));
        assert!(
            command.join("\n").contains(&format!("\"tether-{name}\"")),
            "{name}: command does not run tether-{name}: {command:?}"
        );
        let health =
            block(lines, "healthcheck").unwrap_or_else(|| panic!("{name}: no healthcheck"));
        let health = health.join("\n");
        assert!(
            health.contains("tether-healthcheck") && health.contains("/healthz"),
            "{name}: the health check must probe /healthz with tether-healthcheck: {health}"
        );
        let deploy = block(lines, "deploy").unwrap_or_else(|| panic!("{name}: no deploy"));
        assert!(
            deploy
                .iter()
                .any(|line| line.trim().starts_with("replicas: ${")),
            "{name}: deploy.replicas must be settable from the environment: {deploy:?}"
        );
    }
}

#[test]
fn only_the_edge_publishes_a_port_and_infrastructure_is_healthchecked() {
    let services = compose_services(&compose_text());
    for (name, lines) in &services {
        let publishes = block(lines, "ports").is_some();
        assert_eq!(publishes, name == "ws-edge", "{name}: ports");
    }
    for name in ["nats", "postgres"] {
        let lines = services
            .get(name)
            .unwrap_or_else(|| panic!("docker-compose.yml has no {name}"));
        assert!(
            block(lines, "healthcheck").is_some(),
            "{name}: no healthcheck"
        );
    }
    // PostgreSQL holds everything; NATS holds nothing (core NATS, no JetStream), so only
    // PostgreSQL needs a volume.
    assert!(
        block(&services["postgres"], "volumes").is_some(),
        "postgres: no volume"
    );
    // Every NATS node runs the release scripts/test also tests against (nats-2 and nats-3
    // take nats-1's image through its `&nats-node` anchor).
    let image = format!("image: nats:{}-alpine", current_nats_version());
    let nats_images: Vec<&String> = services
        .iter()
        .filter(|(name, _)| name.starts_with("nats"))
        .flat_map(|(_, lines)| {
            lines
                .iter()
                .filter(|line| line.trim().starts_with("image:"))
        })
        .collect();
    assert_eq!(nats_images.len(), 2, "nats and nats-1 name an image");
    for line in nats_images {
        assert_eq!(line.trim(), image);
    }
    let nats = services["nats"].join("\n");
    assert!(!nats.contains("\"-js\"") && block(&services["nats"], "volumes").is_none());
    assert!(services["postgres"].join("\n").contains("postgres:16"));
}
