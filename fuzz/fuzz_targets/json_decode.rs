#![no_main]
//! See `memshift_fuzz::checks::json_decode` for the input format and the properties.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    memshift_fuzz::checks::json_decode(data);
});
