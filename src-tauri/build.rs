//! Tauri build script: reads tauri.conf.json (at the package root) and the
//! capability files in src-tauri/capabilities/.
fn main() {
    let attrs =
        tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/*.json");
    if let Err(e) = tauri_build::try_build(attrs) {
        // Build scripts report failures through cargo's diagnostics.
        println!("cargo:warning=tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
