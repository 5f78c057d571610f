//! `cargo fuzz run state`: see [`govchain_fuzz::state`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    govchain_fuzz::state(data);
});
