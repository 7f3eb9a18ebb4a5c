//! Keto: permissions (relation tuples, checks, expand).

pub mod permission;
pub(crate) mod wire;

pub use permission::PermissionService;
