//! Kratos: identities, sessions, self-service flows, schemas, courier.

pub mod flow;
pub mod identity;
pub mod session;
pub(crate) mod wire;

pub use flow::FlowService;
pub use identity::IdentityService;
pub use session::SessionService;
