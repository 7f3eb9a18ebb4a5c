//! Kratos: identities, sessions, self-service flows, schemas, courier.

pub mod identity;
pub(crate) mod wire;

pub use identity::IdentityService;
