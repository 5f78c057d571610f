//! `cargo fuzz run jcs`: see [`govchain_fuzz::jcs`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| govchain_fuzz::jcs(data));
