//! `cargo fuzz run envelope`: see [`govchain_fuzz::envelope`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| govchain_fuzz::envelope(data));
