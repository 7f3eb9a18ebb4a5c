use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// An identity. From `get` it is sanitized: `traits`, `metadata_admin` and the addresses (which
/// hold personal data) are `None`; `get_with_traits` fills them.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    pub tenant: String,
    pub id: String,
    pub schema_id: String,
    /// `active` or `inactive`.
    pub state: Option<String>,
    pub traits: Option<Value>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub verifiable_addresses: Option<Vec<VerifiableAddress>>,
    pub recovery_addresses: Option<Vec<RecoveryAddress>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// When `state` last changed.
    #[serde(default)]
    pub state_changed_at: Option<String>,
    /// Where Kratos serves the identity's schema.
    #[serde(default)]
    pub schema_url: Option<String>,
}

impl Identity {
    /// An identity known only by id (e.g. the owner of a listed session).
    pub fn reference(tenant: &str, id: &str) -> Self {
        Identity {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            schema_id: String::new(),
            state: None,
            traits: None,
            metadata_public: None,
            metadata_admin: None,
            verifiable_addresses: None,
            recovery_addresses: None,
            created_at: None,
            updated_at: None,
            state_changed_at: None,
            schema_url: None,
        }
    }

    /// Drop everything that is personal data.
    pub fn sanitized(mut self) -> Self {
        self.traits = None;
        self.metadata_admin = None;
        self.verifiable_addresses = None;
        self.recovery_addresses = None;
        self
    }
}

fn hidden<T>(v: &Option<T>) -> &'static str {
    if v.is_some() {
        "Some(***)"
    } else {
        "None"
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("schema_id", &self.schema_id)
            .field("state", &self.state)
            .field("traits", &format_args!("{}", hidden(&self.traits)))
            .field("metadata_public", &format_args!("{}", hidden(&self.metadata_public)))
            .field("metadata_admin", &format_args!("{}", hidden(&self.metadata_admin)))
            .field("verifiable_addresses", &format_args!("{}", hidden(&self.verifiable_addresses)))
            .field("recovery_addresses", &format_args!("{}", hidden(&self.recovery_addresses)))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct VerifiableAddress {
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    pub verified: bool,
    pub status: String,
    #[serde(default)]
    pub verified_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl fmt::Debug for VerifiableAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiableAddress")
            .field("via", &self.via)
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct RecoveryAddress {
    pub id: Option<String>,
    pub value: String,
    pub via: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl fmt::Debug for RecoveryAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryAddress").field("via", &self.via).finish_non_exhaustive()
    }
}

/// Input of `IdentityService::create`.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentity {
    pub schema_id: String,
    pub traits: Value,
    /// Addresses (e.g. emails among the traits) to mark as already verified.
    #[serde(default)]
    pub verified_addresses: Option<Vec<String>>,
    /// Verifiable addresses as Kratos takes them (`value`, `via`, `verified`, `status`); they
    /// must match the schema's verification traits. Not together with `verified_addresses`.
    #[serde(default)]
    pub verifiable_addresses: Option<Vec<AddressInput>>,
    /// Recovery addresses as Kratos takes them (`value`, `via`).
    #[serde(default)]
    pub recovery_addresses: Option<Vec<AddressInput>>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub metadata_public: Option<Value>,
    #[serde(default)]
    pub metadata_admin: Option<Value>,
    /// Import credentials (Kratos's shape: `{password: {config: {password | hashed_password}},
    /// oidc: {config: {providers: [{provider, subject}]}}}`). Never printed.
    #[serde(default)]
    pub credentials: Option<Value>,
}

impl fmt::Debug for CreateIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateIdentity")
            .field("schema_id", &self.schema_id)
            .field("traits", &"***")
            .finish_non_exhaustive()
    }
}

/// One address given to `IdentityService::create` (Kratos's address object).
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub value: String,
    /// `email` (default) or `sms`.
    #[serde(default)]
    pub via: Option<String>,
    /// Verifiable addresses only.
    #[serde(default)]
    pub verified: Option<bool>,
    /// Verifiable addresses only: `pending`, `sent` or `completed`.
    #[serde(default)]
    pub status: Option<String>,
}

impl fmt::Debug for AddressInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressInput").field("via", &self.via).field("verified", &self.verified).finish_non_exhaustive()
    }
}

/// Paging and filters of `IdentityService::list`.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListIdentities {
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Only the identity with this credential identifier (an email, a username), exactly.
    #[serde(default)]
    pub credentials_identifier: Option<String>,
    /// Only these identities (at most 500 ids).
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Kratos's offset paging (deprecated by Kratos, still served): page number from 0, with
    /// `per_page` (1–500). Not together with `page_size` / `page_token`; `next_page_token` is
    /// then `None` (ask for `page + 1`).
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub per_page: Option<u32>,
    /// Identities whose credential identifier is similar to this (Kratos marks it experimental).
    #[serde(default)]
    pub preview_credentials_identifier_similar: Option<String>,
}

impl fmt::Debug for ListIdentities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The identifier filters are personal data (an email): never printed.
        f.debug_struct("ListIdentities")
            .field("page_size", &self.page_size)
            .field("ids", &self.ids.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// One credential of an identity, public metadata only: hashes, secrets, TOTP seeds, lookup
/// codes and tokens are never read into it. `identifiers` (e.g. an email) are hidden from `Debug`.
#[derive(Clone, Serialize, PartialEq)]
pub struct Credential {
    pub tenant: String,
    /// `password`, `oidc`, `totp`, `lookup_secret`, `webauthn`, `passkey`, `code`.
    pub credential_type: String,
    pub identifiers: Vec<String>,
    /// `oidc`: the providers linked (`github`, `google`, …).
    pub providers: Vec<String>,
    /// `webauthn` / `passkey`: the names the user gave the keys.
    pub key_names: Vec<String>,
    pub version: Option<i64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("credential_type", &self.credential_type)
            .field("identifiers", &format_args!("[{} hidden]", self.identifiers.len()))
            .field("providers", &self.providers)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Options of `identity.create_recovery_link` / `create_recovery_code`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryOptions {
    /// How long the link or code stays valid, as Kratos reads a duration (`"15m"`, `"1h"`);
    /// unset: the server's `selfservice.methods.<link|code>.config.lifespan`.
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// An account recovery created by an administrator (support desk): hand `link` (and `code`)
/// to the account's owner only. Both are secrets: whoever has them can take over the account.
#[derive(Clone, Debug, Serialize)]
pub struct Recovery {
    pub tenant: String,
    pub identity_id: String,
    /// The link to open: with `create_recovery_link` it signs the user in and opens the
    /// settings flow; with `create_recovery_code` it opens the recovery UI, where `code` goes.
    pub link: crate::Secret,
    /// The one-time code (`create_recovery_code` only).
    pub code: Option<crate::Secret>,
    /// RFC 3339.
    pub expires_at: Option<String>,
}

/// One result of `identity.create_many`, in input order: the new identity's id, or the error
/// code (`validation`, `conflict`, ...) of the identity Kratos refused.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BatchCreateResult {
    pub identity_id: Option<String>,
    pub error: Option<String>,
}
