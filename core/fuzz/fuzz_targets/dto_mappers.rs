//! Fuzz target: Ory response JSON → DTOs (identities, sessions, flows, courier, Keto, Hydra, Ory Network).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ory_iam::fuzzing::dto_mappers(data);
});
