//! `bulkops config show`: the effective configuration with each value's source, secrets masked.

use serde_json::Value;

use crate::support::{bulkops_bare, mint_token, run};

fn source_of(shown: &Value, group: &str, name: &str) -> (Value, Value) {
    let found = shown[group]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {shown}"));
    (found["value"].clone(), found["source"].clone())
}

#[test]
fn config_show_prints_each_value_with_its_layer_and_masks_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bulkops.toml");
    std::fs::write(&file, "rate = 7.0\nmax_retries = 1\n").unwrap();
    let state = dir.path().join("state.db");
    let token =
        mint_token(serde_json::json!({"sub": "tenant-1", "server_url": "http://127.0.0.1:1"}));
    let ran = run(bulkops_bare()
        .args(["-o", "json", "--config"])
        .arg(&file)
        .arg("--state")
        .arg(&state)
        .args(["--reports-dir", "/srv/reports"])
        .args(["config", "show"])
        .env("BULKOPS_MAX_RETRIES", "4")
        .env("HATCHET_CLIENT_TOKEN", &token));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let shown: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        source_of(&shown, "settings", "rate"),
        (7.0.into(), "file".into())
    );
    assert_eq!(
        source_of(&shown, "settings", "max_retries"),
        (4.into(), "env".into())
    );
    let state = state.display().to_string();
    assert_eq!(
        source_of(&shown, "settings", "state"),
        (state.into(), "flag".into())
    );
    assert_eq!(
        source_of(&shown, "settings", "reports_dir"),
        ("/srv/reports".into(), "flag".into())
    );
    assert_eq!(
        source_of(&shown, "settings", "concurrency"),
        (4.into(), "default".into())
    );
    assert_eq!(
        source_of(&shown, "connection", "HATCHET_CLIENT_TOKEN"),
        ("****".into(), "env".into())
    );
    assert!(!ran.stdout.contains(&token) && !ran.stderr.contains(&token));

    let text = run(bulkops_bare()
        .args(["config", "show"])
        .env("XDG_STATE_HOME", dir.path())
        .env("HATCHET_CLIENT_TOKEN", &token));
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("HATCHET_CLIENT_TOKEN") && !text.stdout.contains(&token));
}

#[test]
fn config_show_refuses_a_bad_setting_on_one_line_with_exit_2() {
    let ran = run(bulkops_bare()
        .args(["config", "show"])
        .env("BULKOPS_CONCURRENCY", "0"));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("1 to 64"), "{}", ran.stderr);
}
