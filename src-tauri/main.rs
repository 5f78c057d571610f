//! govchain workstation binary: all logic lives in the library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    govchain_lib::run()
}
