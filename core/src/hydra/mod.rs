//! Hydra: OAuth2 clients, tokens, login/consent/logout, JWKs, trusted JWT-bearer issuers.

pub mod consent;
pub mod jwk;
pub(crate) mod jwt;
pub mod oauth2_client;
pub mod token;
pub mod trusted_issuer;
pub(crate) mod wire;

pub use consent::ConsentService;
pub use jwk::JwkService;
pub use oauth2_client::OAuth2ClientService;
pub use token::TokenService;
pub use trusted_issuer::TrustedIssuerService;

use crate::error::Result;

/// Ids Hydra puts in URL paths (sent as one encoded segment, see [`crate::ids`]).
pub(crate) fn check_path_id(field: &str, id: &str) -> Result<()> {
    crate::ids::check_segment(field, id)
}
