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

/// No command takes a file path, SQL or a signing key from the page: every
/// command's parameters are checked against a list of harmless types, and
/// none is named like a path, a query or a secret. (The identity and
/// payroll keys an admin hands over arrive as `key` text and go straight
/// into the keychain; files arrive as content, never as paths.)
#[test]
fn no_command_takes_a_path_sql_or_a_key() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("src-tauri/commands/mod.rs")).unwrap();
    let allowed_types = [
        "String",
        "Option<String>",
        "Vec<String>",
        "u32",
        "u64",
        "Option<u64>",
        "i64",
        "SignRequest",
        "PersonRef",
        // The case list's filters and page (status, text, offset, limit).
        "CaseQuery",
        // BPMN candidate group names mapped to a department and role.
        "Vec<BpmnGroup>",
        "Ws<'_>",
        "tauri::AppHandle",
    ];
    let mut seen = 0;
    // `#[tauri::command]` and `#[tauri::command(async)]` alike.
    for f in src.split("#[tauri::command").skip(1) {
        let f = &f[f.find(']').unwrap() + 1..];
        let sig = &f[f.find('(').unwrap() + 1..f.find(") ->").unwrap()];
        let name = f.split("fn ").nth(1).unwrap().split('(').next().unwrap();
        for param in sig.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (pname, ty) = param.split_once(':').unwrap();
            let (pname, ty) = (pname.trim(), ty.trim());
            assert!(allowed_types.contains(&ty), "{name}({pname}: {ty})");
            let lower = pname.to_lowercase();
            for banned in ["path", "file", "dir", "sql", "seed", "secret", "private"] {
                assert!(!lower.contains(banned), "{name} takes {pname}");
            }
        }
        seen += 1;
    }
    assert_eq!(seen, COMMANDS.len(), "every command was checked");
}
