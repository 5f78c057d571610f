//! Tauri build script: reads tauri.conf.json (at the package root), the
//! capability files in src-tauri/capabilities/, and generates one
//! `allow-<command>` permission per IPC command (the list in
//! src-tauri/commands/list.rs, shared with the app).
include!("commands/list.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/commands/list.rs");
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
