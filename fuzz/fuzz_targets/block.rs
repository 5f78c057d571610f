//! `cargo fuzz run block`: see [`govchain_fuzz::block`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| govchain_fuzz::block(data));
