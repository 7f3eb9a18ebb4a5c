//! Fuzz target: the HTTP/1.1 response reader of the event-loop lane (`ory_iam::h1`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ory_iam::fuzzing::h1_response(data);
});
