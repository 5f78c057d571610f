//! govchain workstation (the Tauri 2 desktop app).
//!
//! Owns the application shell: start-up, where the data lives, the IPC
//! commands ([`commands`]) and forwarding the core's events to the window.
//! Everything else — keychain, signing, cache, outbox, sync, the embedded
//! node — is `govchain-workstation`; the protocol is `govchain-ledger`.

pub mod commands;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use govchain_workstation::{Event, Workstation};
use tauri::{Emitter, Manager};

/// The keychain service of the app's keys (`GOVCHAIN_KEYCHAIN_SERVICE`
/// overrides it, for tests).
pub const KEYCHAIN_SERVICE: &str = "govchain";

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(d) = std::env::var_os("GOVCHAIN_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    Ok(app.path().app_data_dir()?)
}

/// The screens are forms, tables and 2-D canvases (charts, graph): WebKit's
/// GPU compositing buys them nothing, and where there is no GPU (virtual
/// desktops, remote sessions) its software fallback costs the web process
/// about 100 MiB. So compositing is off unless `GOVCHAIN_GPU=1`.
fn render_in_software_friendly_mode(window: &tauri::WebviewWindow) {
    if std::env::var_os("GOVCHAIN_GPU").is_some_and(|v| v == "1") {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let applied = window.with_webview(|w| {
            use webkit2gtk::{SettingsExt as _, WebViewExt as _};
            if let Some(settings) = w.inner().settings() {
                settings.set_hardware_acceleration_policy(
                    webkit2gtk::HardwareAccelerationPolicy::Never,
                );
                // Unused (charts and the graph draw on 2-D canvases, nothing
                // plays media): less surface for a script that got in.
                settings.set_enable_webgl(false);
                settings.set_enable_webaudio(false);
                settings.set_enable_media(false);
            }
        });
        if let Err(e) = applied {
            tracing::warn!("render settings not applied: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// Without a GPU path (`GOVCHAIN_GPU=1` restores it), WebKit's DMA-BUF
/// renderer — shared GPU buffers between the web and UI processes — buys
/// nothing but buffers: this uses WebKit's documented switch
/// (`WEBKIT_DISABLE_DMABUF_RENDERER`) to draw through shared memory
/// instead, which saves about 9 MiB at start (BENCHMARKS.md). Called first
/// thing in [`run`], before any thread exists; the web process inherits it.
fn no_dmabuf_renderer() {
    if std::env::var_os("GOVCHAIN_GPU").is_some_and(|v| v == "1")
        || std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_some()
    {
        return;
    }
    std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
}

/// Turns JavaScriptCore's JIT compilers off in the web process (it inherits
/// this process's environment), as browsers' hardened modes do: JIT
/// compilers are where most engine exploits land, and these screens run
/// little JavaScript. It also saves about 10 MiB. `GOVCHAIN_JIT=1` keeps
/// the JIT. Called first thing in [`run`], before any thread exists.
fn no_javascript_jit() {
    if std::env::var_os("GOVCHAIN_JIT").is_some_and(|v| v == "1")
        || std::env::var_os("JSC_useJIT").is_some()
    {
        return;
    }
    std::env::set_var("JSC_useJIT", "0");
}

/// Builds the Tauri application (shared by [`run`] and tests).
pub fn builder() -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app)?;
            let service = std::env::var("GOVCHAIN_KEYCHAIN_SERVICE")
                .unwrap_or_else(|_| KEYCHAIN_SERVICE.to_owned());
            let handle = app.handle().clone();
            let notify = Arc::new(move |e: Event| {
                let sent = match e {
                    Event::Progress(p) => handle.emit("sync-progress", p),
                    Event::Status(s) => handle.emit("sync-status", s),
                    Event::Outbox(o) => handle.emit("outbox", o),
                };
                if let Err(err) = sent {
                    tracing::debug!("event not delivered: {err}");
                }
            });
            if let Some(window) = app.get_webview_window("main") {
                render_in_software_friendly_mode(&window);
            }
            // Managed installs: `/etc/govchain/workstation.toml`, then
            // `DATA_DIR/workstation.toml`, then `GOVCHAIN_NODES`.
            let managed = govchain_workstation::chains::Managed::from_system(&dir)?;
            let ws = Arc::new(Workstation::open_with(&dir, &service, notify, managed)?);
            app.manage(ws.clone());
            tauri::async_runtime::spawn(govchain_workstation::run_background(ws));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::sync_now,
            commands::keys,
            commands::create_key,
            commands::import_key,
            commands::export_backup,
            commands::delete_key,
            commands::rotate_key,
            commands::set_active_key,
            commands::registration_request,
            commands::prepare_signature,
            commands::confirm_signature,
            commands::outbox,
            commands::inbox,
            commands::set_nodes,
            commands::test_node,
            commands::chains,
            commands::use_demo,
            commands::connect_nodes,
            commands::switch_chain,
            commands::acknowledge_alarm,
            commands::cases,
            commands::case_detail,
            commands::projects,
            commands::project_detail,
            commands::payroll_page,
            commands::explorer_blocks,
            commands::block_detail,
            commands::tx_detail,
            commands::verify_inclusion,
            commands::access_log,
            commands::fund_trace,
            commands::search,
            commands::graph,
            commands::dashboard,
            commands::spending,
            commands::checkpoints,
            commands::verify_consistency,
            commands::verify_pasted,
            commands::save_report,
            commands::pin_chain,
            commands::pin_node_certificate,
            commands::set_witness_quorum,
            commands::capabilities,
            commands::templates,
            commands::import_identity_key,
            commands::document_begin,
            commands::document_chunk,
            commands::document_finish,
            commands::document_cancel,
            commands::check_documents,
            commands::blacklist_entries,
            commands::blacklist_lookup,
            commands::certificates,
            commands::consent_request,
            commands::revoke_request,
            commands::submit_consent,
            commands::certificate_code,
            commands::token_overview,
            commands::token_create_key,
            commands::token_add_key,
            commands::token_unlock,
            commands::token_lock,
            commands::import_payroll,
            commands::import_payroll_key,
            commands::export_payroll_key,
            commands::payroll_key_id,
            commands::officials,
            commands::admin_view,
            commands::check_registration,
            commands::import_bpmn,
            commands::export_bpmn,
        ])
}

/// Starts the desktop app and blocks until its last window closes.
pub fn run() -> ExitCode {
    no_javascript_jit();
    no_dmabuf_renderer();
    match builder().run(tauri::generate_context!()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govchain: could not start the desktop app: {e}");
            ExitCode::FAILURE
        }
    }
}
