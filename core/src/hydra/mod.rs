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

use crate::error::{Error, Result};

/// Ids Hydra puts in URL paths: refuse what could change the path.
pub(crate) fn check_path_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 512 || id.contains(['/', '?', '#', '%']) || id.chars().any(char::is_control) {
        return Err(Error::invalid_field(field, "must be a non-empty id without '/', '?', '#', '%'"));
    }
    Ok(())
}
