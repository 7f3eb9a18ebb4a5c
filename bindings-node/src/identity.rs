use crate::dto::{BatchCreateResult, Credential, Identity, IdentityPage, Recovery, Session, SessionPage};
use crate::errors::IntoNapi;
use crate::pager::{IdentityPager, SessionPager};
use napi_derive::napi;
use ory_iam::dto::{parse_input, CreateIdentity, ListIdentities, ListSessions, RecoveryOptions};
use serde_json::Value;

/// Kratos identities (admin API) of one tenant.
#[napi]
#[derive(Clone)]
pub struct IdentityService(pub(crate) ory_iam::IdentityService);
crate::handle::basics!(IdentityService);

#[napi]
impl IdentityService {
    /// The identity without traits, admin metadata or addresses.
    #[napi]
    pub async fn get(&self, id: String) -> napi::Result<Identity> {
        self.0.get(&id).await.napi().map(Into::into)
    }

    /// The whole identity, traits included.
    #[napi]
    pub async fn get_with_traits(&self, id: String) -> napi::Result<Identity> {
        self.0.get_with_traits(&id).await.napi().map(Into::into)
    }

    /// Create an identity.
    #[napi(ts_args_type = "input: CreateIdentityInput")]
    pub async fn create(&self, input: Value) -> napi::Result<Identity> {
        let input: CreateIdentity = parse_input("input", input).napi()?;
        self.0.create(input).await.napi().map(Into::into)
    }

    /// Create many identities in one request (bulk import, at most 1000): one result per input,
    /// in order, with the new `identityId` or the `error` code; one failing identity does not
    /// stop the others. Each is audited `identity.create` (`via: "batch"`).
    #[napi(ts_args_type = "inputs: CreateIdentityInput[]")]
    pub async fn create_many(&self, inputs: Vec<Value>) -> napi::Result<Vec<BatchCreateResult>> {
        let list = inputs
            .into_iter()
            .enumerate()
            .map(|(i, v)| parse_input::<CreateIdentity>(&format!("inputs[{i}]"), v).napi())
            .collect::<napi::Result<Vec<_>>>()?;
        Ok(self.0.create_many(list).await.napi()?.into_iter().map(Into::into).collect())
    }

    /// One page of identities (sanitized like `get`).
    #[napi(ts_args_type = "options?: ListIdentitiesOptions")]
    pub async fn list(&self, options: Option<Value>) -> napi::Result<IdentityPage> {
        let opts: ListIdentities = parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        let p = self.0.list(opts).await.napi()?;
        Ok(IdentityPage { items: p.items.into_iter().map(Into::into).collect(), next_page_token: p.next_page_token })
    }

    /// Every identity, following page tokens: `for await (const i of iam.identity.listAll())`.
    #[napi(ts_return_type = "AsyncIterable<Identity>")]
    pub fn list_all(&self, page_size: Option<u32>) -> IdentityPager {
        IdentityPager::new(self.0.list_all(page_size))
    }

    /// Replace all traits; metadata and state are kept.
    #[napi(ts_args_type = "id: string, traits: Record<string, unknown>")]
    pub async fn update_traits(&self, id: String, traits: Value) -> napi::Result<Identity> {
        self.0.update_traits(&id, traits).await.napi().map(Into::into)
    }

    /// RFC 6902 JSON Patch limited to `/traits`, `/metadata_public`, `/metadata_admin` (and
    /// below) and `/state`; other paths throw `IamValidationError` before any request.
    #[napi(ts_args_type = "id: string, ops: Array<JsonPatchOperation>")]
    pub async fn patch(&self, id: String, ops: Value) -> napi::Result<Identity> {
        self.0.patch(&id, ops).await.napi().map(Into::into)
    }

    /// One page of the identity's sessions.
    #[napi(ts_args_type = "id: string, options?: ListSessionsOptions")]
    pub async fn list_sessions(&self, id: String, options: Option<Value>) -> napi::Result<SessionPage> {
        let opts: ListSessions = parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        let p = self.0.list_sessions(&id, opts).await.napi()?;
        Ok(SessionPage { items: p.items.into_iter().map(Into::into).collect(), next_page_token: p.next_page_token })
    }

    /// Every session of the identity: `for await (const s of iam.identity.listSessionsAll(id))`.
    #[napi(ts_return_type = "AsyncIterable<Session>")]
    pub fn list_sessions_all(&self, id: String, active: Option<bool>) -> SessionPager {
        SessionPager::new(self.0.list_sessions_all(&id, active))
    }

    /// Revoke one session and evict it from the session cache (audited).
    #[napi]
    pub async fn revoke_session(&self, session_id: String) -> napi::Result<()> {
        self.0.revoke_session(&session_id).await.napi()
    }

    /// Revoke every session of the identity ("log out everywhere") and evict them all from the
    /// session cache. Audited `authz.session.revoke_all`.
    #[napi]
    pub async fn revoke_sessions(&self, id: String) -> napi::Result<()> {
        self.0.revoke_sessions(&id).await.napi()
    }

    /// A recovery link for the identity (support desk); opening it signs the owner in and starts
    /// a settings flow. Audited `identity.recovery.create`.
    #[napi(ts_args_type = "id: string, options?: RecoveryOptions")]
    pub async fn create_recovery_link(&self, id: String, options: Option<Value>) -> napi::Result<Recovery> {
        let opts: RecoveryOptions = parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        self.0.create_recovery_link(&id, opts).await.napi().map(Into::into)
    }

    /// A recovery code and the link of the recovery flow to enter it in. Audited
    /// `identity.recovery.create`.
    #[napi(ts_args_type = "id: string, options?: RecoveryOptions")]
    pub async fn create_recovery_code(&self, id: String, options: Option<Value>) -> napi::Result<Recovery> {
        let opts: RecoveryOptions = parse_input("options", options.unwrap_or(Value::Null)).napi()?;
        self.0.create_recovery_code(&id, opts).await.napi().map(Into::into)
    }

    /// Extend a session by the configured lifespan.
    #[napi]
    pub async fn extend_session(&self, session_id: String) -> napi::Result<Session> {
        self.0.extend_session(&session_id).await.napi().map(Into::into)
    }

    /// The identity's credentials, public metadata only (no hash, secret or seed).
    #[napi]
    pub async fn get_credentials(&self, id: String) -> napi::Result<Vec<Credential>> {
        Ok(self.0.get_credentials(&id).await.napi()?.into_iter().map(Into::into).collect())
    }

    /// Delete one credential (`identifier` picks the OIDC link). Types the server refuses
    /// (Kratos v1.3.1: password, code) throw `IamValidationError` on `type`.
    #[napi]
    pub async fn delete_credential(
        &self,
        id: String,
        credential_type: String,
        identifier: Option<String>,
    ) -> napi::Result<()> {
        self.0.delete_credential(&id, &credential_type, identifier.as_deref()).await.napi()
    }

    /// Delete an identity (audited as `identity.delete`).
    #[napi]
    pub async fn delete(&self, id: String) -> napi::Result<()> {
        self.0.delete(&id).await.napi()
    }
}
