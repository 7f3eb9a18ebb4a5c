//! Fuzz target: cookie / bearer / session-token header parsing of the transports.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ory_iam::fuzzing::headers(data);
});
