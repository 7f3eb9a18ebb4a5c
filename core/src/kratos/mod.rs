//! Kratos: identities, sessions, self-service flows, schemas, courier.

pub mod courier;
pub mod flow;
pub mod identity;
pub mod schema;
pub mod session;
pub(crate) mod violations;
pub(crate) mod wire;

pub use courier::CourierService;
pub use flow::FlowService;
pub use identity::IdentityService;
pub use schema::SchemaService;
pub use session::SessionService;
