//! Fuzz target: JSON Patch validation of identity patches.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ory_iam::fuzzing::json_patch(data);
});
