//! `cargo fuzz run proof`: see [`govchain_fuzz::proof`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| govchain_fuzz::proof(data));
