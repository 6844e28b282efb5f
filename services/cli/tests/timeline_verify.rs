//! `tether-timeline verify <file.json>` on a saved answer of
//! `GET /api/v1/sessions/{id}/timeline` (fixtures/timeline.json, saved from a real
//! session: created, accepted, chat started, mediums selected, active, shared, selected
//! again, completed): OK and exit 0; a changed copy names the first broken event and
//! exits 1; an unreadable file exits 2.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/timeline.json")
}

fn run(file: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tether-timeline"))
        .arg("verify")
        .arg(file)
        .output()
        .expect("run tether-timeline");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exit code"), text)
}

fn tampered(name: &str, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut answer: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).expect("fixture")).expect("json");
    change(&mut answer);
    let path = std::env::temp_dir().join(format!(
        "tether-timeline-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(&answer).expect("json")).expect("write");
    path
}

#[test]
fn saved_timeline_verifies() {
    let (code, out) = run(&fixture());
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: 8 events, head_hash "), "{out}");
}

/// A change made to a copy of the saved answer.
type Change = fn(&mut Value);

#[test]
fn changed_copies_name_the_first_broken_event() {
    let cases: [(&str, Change, &str); 4] = [
        (
            "data",
            |a| a["events"][3]["data"]["mediums"][0] = "telegram".into(),
            "event #4 (seq 4): hash",
        ),
        (
            "at",
            |a| a["events"][6]["at"] = "2026-11-30T12:20:19.000Z".into(),
            "event #7 (seq 7): hash",
        ),
        (
            "dropped",
            |a| {
                a["events"].as_array_mut().expect("events").remove(2);
            },
            "event #3 (seq 4): seq 4 where 3 was due",
        ),
        (
            "head",
            |a| a["head_hash"] = a["events"][6]["hash"].clone(),
            "timeline: head_hash",
        ),
    ];
    for (name, change, expected) in cases {
        let path = tampered(name, change);
        let (code, out) = run(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.starts_with(&format!("BROKEN: {expected}")),
            "{name}: {out}"
        );
    }
}

#[test]
fn unreadable_input_exits_2() {
    let path = tampered("not-json", |_| {});
    std::fs::write(&path, "not json").expect("write");
    let (code, out) = run(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 2, "{out}");
    let (code, _) = run(Path::new("/nonexistent/timeline.json"));
    assert_eq!(code, 2);
}
