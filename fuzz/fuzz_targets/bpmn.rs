//! `cargo fuzz run bpmn`: see [`govchain_fuzz::bpmn`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| govchain_fuzz::bpmn(data));
