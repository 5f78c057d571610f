//! Tauri build script: reads tauri.conf.json (at the package root), the
//! capability files in src-tauri/capabilities/, and generates one
//! `allow-<command>` permission per IPC command (listed in
//! src-tauri/commands/mod.rs, kept equal by a test).
const COMMANDS: &[&str] = &[
    "status",
    "sync_now",
    "keys",
    "create_key",
    "import_key",
    "export_backup",
    "delete_key",
    "rotate_key",
    "registration_request",
    "prepare_signature",
    "confirm_signature",
    "outbox",
    "inbox",
    "set_nodes",
    "test_node",
    "acknowledge_alarm",
    "cases",
    "case_detail",
    "projects",
    "project_detail",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/*.json")
        .app_manifest(
            tauri_build::AppManifest::new()
                .commands(COMMANDS)
                .permissions_path_pattern("src-tauri/permissions/**/*"),
        );
    if let Err(e) = tauri_build::try_build(attrs) {
        // Build scripts report failures through cargo's diagnostics.
        println!("cargo:warning=tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
