//! Fuzz target: the Oathkeeper envelope verifier (signature check, then claims of a correctly signed envelope).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ory_iam::fuzzing::oathkeeper(data);
});
