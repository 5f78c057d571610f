//! The IPC surface is exactly the workstation's commands: the build script's
//! permission manifest, the command list and the main window's capability
//! name the same commands, and the capability grants nothing else beyond
//! `core:default`.

use govchain_lib::commands::COMMANDS;

#[test]
fn every_command_has_exactly_one_permission_and_the_window_gets_only_those() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = std::fs::read_to_string(root.join("src-tauri/build.rs")).unwrap();
    let in_build: Vec<&str> = build
        .split("const COMMANDS: &[&str] = &[")
        .nth(1)
        .and_then(|r| r.split("];").next())
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .collect();
    assert_eq!(
        in_build, COMMANDS,
        "src-tauri/build.rs and commands::COMMANDS differ"
    );
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
