//! `cargo fuzz run checkpoint`: see [`govchain_fuzz::checkpoint`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| govchain_fuzz::checkpoint(data));
