//! The IPC surface is exactly the workstation's commands: the build script's
//! permission manifest and the app share one command list, the invoke handler
//! registers each, and the main window's capability grants those and nothing
//! beyond `core:default`.

use govchain_lib::commands::COMMANDS;

#[test]
fn every_command_has_exactly_one_permission_and_the_window_gets_only_those() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = std::fs::read_to_string(root.join("src-tauri/build.rs")).unwrap();
    assert!(build.contains("include!(\"commands/list.rs\")"));
    let cap: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("src-tauri/capabilities/default.json")).unwrap(),
    )
    .unwrap();
    let mut granted: Vec<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    granted.sort();
    let mut expected: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .chain(std::iter::once("core:default".to_owned()))
        .collect();
    expected.sort();
    assert_eq!(granted, expected);
    let lib = std::fs::read_to_string(root.join("src-tauri/lib.rs")).unwrap();
    for c in COMMANDS {
        assert!(
            lib.contains(&format!("commands::{c},")),
            "{c} not in the invoke handler"
        );
    }
}
