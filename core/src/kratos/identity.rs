//! `IdentityService`: Kratos admin identities.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::dto::{
    BatchCreateResult, CreateIdentity, Credential, Identity, ListIdentities, ListSessions, Page, Recovery,
    RecoveryOptions, Session,
};
use crate::error::{Error, ErrorKind, Result};
use crate::http::Call;
use crate::ids::check_uuid;
use crate::paging::{next_token_from_link, page_query, pages, Pager};
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// Kratos identities of one tenant (admin API).
    IdentityService
);

impl IdentityService {
    /// The identity without traits, admin metadata or addresses.
    pub async fn get(&self, id: &str) -> Result<Identity> {
        Ok(self.get_with_traits(id).await?.sanitized())
    }

    /// The whole identity, traits included.
    pub async fn get_with_traits(&self, id: &str) -> Result<Identity> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.get")?;
        let path = format!("admin/identities/{}", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        Ok(c.decode::<wire::Identity>(&r)?.into_dto(&self.t.name))
    }

    /// Create an identity. Kratos validates `traits` against the schema (400 → validation).
    pub async fn create(&self, input: CreateIdentity) -> Result<Identity> {
        let schema_id = input.schema_id.clone();
        let body = create_body("", input)?;
        let c = self.t.kratos_admin("identity.create")?;
        let res = c.send(Call::post("admin/identities").json(body)).await.and_then(|r| {
            let created = c.decode::<wire::Identity>(&r)?.into_dto(&self.t.name);
            Ok((created, r.request_id))
        });
        self.t.emit(
            AuditEvent::mutation(names::IDENTITY_CREATE, &self.t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
                .target_opt(res.as_ref().ok().map(|(i, _)| i.id.as_str()))
                .attr("schema_id", schema_id),
        );
        Ok(res?.0)
    }

    /// Create many identities in one request (`PATCH /admin/identities`,
    /// `batchPatchIdentities`): a bulk import or migration, at most 1000 per call. Results come
    /// back in input order, one per identity: its new id, or the error code Kratos' per-identity
    /// error maps to (`validation` for a schema violation, `conflict` for a duplicate). One
    /// refused identity does not stop the others — except that Kratos v1.3.1 keeps none of a
    /// batch in which one identity conflicts, though it reports ids for the rest: those are
    /// looked up and reported as `upstream_unavailable` (not created; send them again). Every input is validated before anything is
    /// sent (`IamValidationError` on `inputs[i].<field>`). Each identity is audited
    /// `identity.create`, with the batch's request id. Not retried.
    pub async fn create_many(&self, inputs: Vec<CreateIdentity>) -> Result<Vec<BatchCreateResult>> {
        if inputs.is_empty() || inputs.len() > MAX_BATCH {
            return Err(Error::invalid_field("inputs", format!("must hold 1 to {MAX_BATCH} identities")));
        }
        let mut patches = Vec::with_capacity(inputs.len());
        let mut schemas = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            schemas.push(input.schema_id.clone());
            let body = create_body(&format!("inputs[{i}]."), input)?;
            // The patch id ties each result to its input.
            patches.push(json!({"create": body, "patch_id": uuid::Uuid::from_u128(i as u128 + 1).to_string()}));
        }
        let c = self.t.kratos_admin("identity.create_many")?;
        let res = c.send(Call::patch("admin/identities").json(json!({"identities": patches}))).await.and_then(|r| {
            let b: wire::BatchPatch = c.decode(&r)?;
            Ok((b, r.request_id))
        });
        let mut out: Vec<BatchCreateResult> =
            vec![BatchCreateResult { identity_id: None, error: Some("upstream_unavailable".into()) }; schemas.len()];
        let request_id = match &res {
            Ok((b, rid)) => {
                for (pos, r) in b.identities.iter().enumerate() {
                    // Kratos echoes the patch id (and keeps the order when it does not).
                    let i = r
                        .patch_id
                        .as_deref()
                        .and_then(|p| uuid::Uuid::parse_str(p).ok())
                        .map(|u| u.as_u128() as usize - 1)
                        .unwrap_or(pos);
                    let Some(slot) = out.get_mut(i) else { continue };
                    *slot = match (&r.identity, &r.error) {
                        (Some(id), None) if r.action == "create" => {
                            BatchCreateResult { identity_id: Some(id.clone()), error: None }
                        }
                        (_, e) => {
                            let status = e.as_ref().and_then(|e| e.code).unwrap_or(500);
                            BatchCreateResult { identity_id: None, error: Some(status_code(status).into()) }
                        }
                    };
                }
                if out.iter().any(|r| r.error.as_deref() == Some("conflict")) {
                    self.confirm_created(&mut out).await;
                }
                Some(rid.clone())
            }
            Err(e) => {
                for slot in out.iter_mut() {
                    slot.error = Some(e.code().into());
                }
                e.request_id().map(str::to_owned)
            }
        };
        for (r, schema_id) in out.iter().zip(schemas) {
            let result = if r.error.is_none() { "success" } else { "failure" };
            let mut e = AuditEvent::new(names::IDENTITY_CREATE, &self.t.name, result)
                .request_id(request_id.clone())
                .attr("schema_id", schema_id)
                .attr("via", "batch");
            if let Some(id) = &r.identity_id {
                e = e.target(id.clone());
            }
            if let Some(code) = &r.error {
                e = e.attr("error", code.clone());
            }
            self.t.emit(e);
        }
        res.map(|_| out)
    }
}

impl IdentityService {
    /// Kratos v1.3.1 answers a batch in which one identity conflicts with `create` and an id for
    /// the others, but keeps none of them (the whole insert was rolled back): look them up, and
    /// report those that do not exist as `upstream_unavailable` (not created; send them again).
    async fn confirm_created(&self, out: &mut [BatchCreateResult]) {
        let ids: Vec<String> = out.iter().filter_map(|r| r.identity_id.clone()).collect();
        if ids.is_empty() {
            return;
        }
        let mut found: Option<std::collections::HashSet<String>> = Some(Default::default());
        for chunk in ids.chunks(500) {
            let q = ListIdentities { ids: Some(chunk.to_vec()), page_size: Some(1000), ..Default::default() };
            match self.list(q).await {
                Ok(p) => {
                    if let Some(f) = found.as_mut() {
                        f.extend(p.items.into_iter().map(|i| i.id));
                    }
                }
                Err(_) => found = None,
            }
        }
        for r in out.iter_mut() {
            let Some(id) = &r.identity_id else { continue };
            // Unknown when the lookup failed: not reported as created either.
            if !found.as_ref().is_some_and(|f| f.contains(id)) {
                *r = BatchCreateResult { identity_id: None, error: Some("upstream_unavailable".into()) };
            }
        }
    }
}

/// Most identities per `create_many` call.
const MAX_BATCH: usize = 1000;

/// The error code of a per-identity status of a batch, as `status_error` maps whole replies.
fn status_code(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 | 410 => "not_found",
        409 => "conflict",
        429 | 500..=599 => "upstream_unavailable",
        _ => "validation",
    }
}

/// Kratos' create body for `input`, checked first; field paths under `prefix`.
fn create_body(prefix: &str, input: CreateIdentity) -> Result<Value> {
    let at = |f: &str| format!("{prefix}{f}");
    if input.schema_id.trim().is_empty() {
        return Err(Error::invalid_field(at("schema_id"), "must not be empty"));
    }
    if !input.traits.is_object() {
        return Err(Error::invalid_field(at("traits"), "must be an object"));
    }
    if let Some(s) = &input.state {
        if s != "active" && s != "inactive" {
            return Err(Error::invalid_field(at("state"), "must be active or inactive"));
        }
    }
    let mut body = json!({"schema_id": input.schema_id, "traits": input.traits});
    if let Some(s) = input.state {
        body["state"] = Value::String(s);
    }
    if let Some(m) = input.metadata_public {
        body["metadata_public"] = m;
    }
    if let Some(m) = input.metadata_admin {
        body["metadata_admin"] = m;
    }
    if let Some(c) = input.credentials {
        if !c.is_object() {
            return Err(Error::invalid_field(at("credentials"), "must be an object keyed by credential type"));
        }
        body["credentials"] = c;
    }
    if input.verified_addresses.is_some() && input.verifiable_addresses.is_some() {
        return Err(Error::invalid_field(
            at("verifiable_addresses"),
            "give verified_addresses or verifiable_addresses, not both",
        ));
    }
    if let Some(addrs) = input.verified_addresses {
        body["verifiable_addresses"] = Value::Array(
            addrs
                .into_iter()
                .map(|a| json!({"value": a, "via": "email", "verified": true, "status": "completed"}))
                .collect(),
        );
    }
    if let Some(addrs) = input.verifiable_addresses {
        body["verifiable_addresses"] = addresses(&at("verifiable_addresses"), addrs, true)?;
    }
    if let Some(addrs) = input.recovery_addresses {
        body["recovery_addresses"] = addresses(&at("recovery_addresses"), addrs, false)?;
    }
    Ok(body)
}

impl IdentityService {
    /// One page of identities (sanitized, like `get`).
    pub async fn list(&self, opts: ListIdentities) -> Result<Page<Identity>> {
        let c = self.t.kratos_admin("identity.list")?;
        let mut call = Call::get("admin/identities");
        if opts.page.is_some() || opts.per_page.is_some() {
            if opts.page_size.is_some() || opts.page_token.is_some() {
                return Err(Error::invalid_field("page", "use page/per_page or page_size/page_token, not both"));
            }
            if let Some(n) = opts.per_page {
                if !(1..=500).contains(&n) {
                    return Err(Error::invalid_field("per_page", "must be 1 to 500"));
                }
                call = call.query("per_page", n.to_string());
            }
            call = call.query("page", opts.page.unwrap_or(0).to_string());
        } else {
            call = page_query(call, opts.page_size, opts.page_token, 500)?;
        }
        if let Some(i) = opts.credentials_identifier {
            if i.trim().is_empty() {
                return Err(Error::invalid_field("credentials_identifier", "must not be empty"));
            }
            call = call.query("credentials_identifier", i);
        }
        if let Some(i) = opts.preview_credentials_identifier_similar {
            if i.trim().is_empty() {
                return Err(Error::invalid_field("preview_credentials_identifier_similar", "must not be empty"));
            }
            call = call.query("preview_credentials_identifier_similar", i);
        }
        if let Some(ids) = opts.ids {
            if ids.len() > 500 {
                return Err(Error::invalid_field("ids", "must hold at most 500 ids"));
            }
            for (n, id) in ids.into_iter().enumerate() {
                check_uuid(&format!("ids[{n}]"), &id)?;
                call = call.query("ids", id);
            }
        }
        let r = c.send(call).await?;
        let items: Vec<wire::Identity> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|i| i.into_dto(&self.t.name).sanitized()).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    /// Every identity, page after page.
    pub fn list_all(&self, page_size: Option<u32>) -> Pager<Identity> {
        pages(self.clone(), move |svc, token| async move {
            svc.list(ListIdentities { page_size, page_token: token, ..Default::default() }).await
        })
    }

    /// Replace all traits (the rest of the identity is kept: sent as a JSON Patch
    /// `replace /traits`, because Kratos's PUT clears metadata that is not re-sent).
    pub async fn update_traits(&self, id: &str, traits: Value) -> Result<Identity> {
        check_uuid("id", id)?;
        if !traits.is_object() {
            return Err(Error::invalid_field("traits", "must be an object"));
        }
        // Replacing with the same value twice gives the same result: safe to retry.
        self.apply_patch(
            id,
            json!([{"op": "replace", "path": "/traits", "value": traits}]),
            true,
            names::IDENTITY_UPDATE,
        )
        .await
    }

    /// Apply an RFC 6902 JSON Patch. Only `/traits`, `/metadata_public`, `/metadata_admin`
    /// (and below) and `/state` may be touched; anything else is refused before sending.
    pub async fn patch(&self, id: &str, ops: Value) -> Result<Identity> {
        check_uuid("id", id)?;
        validate_patch(&ops)?;
        self.apply_patch(id, ops, false, names::IDENTITY_PATCH).await
    }

    async fn apply_patch(&self, id: &str, ops: Value, idempotent: bool, event: &str) -> Result<Identity> {
        let c = self.t.kratos_admin("identity.patch")?;
        let path = format!("admin/identities/{}", crate::ids::seg(id));
        let mut call = Call::patch(&path).json(ops);
        call.idempotent = idempotent;
        let res = c.send(call).await;
        // A changed state, traits or metadata changes what a cached session says (and an
        // inactive identity has no valid session): whatever the outcome (a failed request may
        // still have been applied), its cached sessions go.
        let evicted = self.t.sessions.evict_identity(&self.t.name, id).await;
        self.t.emit(AuditEvent::mutation(event, &self.t.name, res.as_ref().map(|r| r.request_id.as_str())).target(id));
        let identity = c.decode::<wire::Identity>(&res?)?.into_dto(&self.t.name);
        evicted?;
        Ok(identity)
    }

    /// One page of the identity's sessions (`active` filters; Kratos pages by offset tokens).
    pub async fn list_sessions(&self, id: &str, opts: ListSessions) -> Result<Page<Session>> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.list_sessions")?;
        let path = format!("admin/identities/{}/sessions", crate::ids::seg(id));
        let mut call = Call::get(&path);
        call = page_query(call, opts.page_size, opts.page_token, 1000)?;
        if let Some(a) = opts.active {
            call = call.query("active", a.to_string());
        }
        let r = c.send(call).await?;
        let items: Vec<wire::Session> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|s| s.into_dto_for(&self.t.name, id)).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    /// Every session of the identity, page after page.
    pub fn list_sessions_all(&self, id: &str, active: Option<bool>) -> Pager<Session> {
        let id = id.to_owned();
        pages(self.clone(), move |svc, token| {
            let id = id.clone();
            async move { svc.list_sessions(&id, ListSessions { page_size: None, page_token: token, active }).await }
        })
    }

    /// Revoke one session (admin), evict it from the session cache; audited
    /// `authz.session.revoke`.
    pub async fn revoke_session(&self, session_id: &str) -> Result<()> {
        super::session::revoke_session(&self.t, session_id).await
    }

    /// Revoke every session of the identity ("log out everywhere", e.g. when locking an
    /// account), and evict them all from the session cache whatever Kratos answered: no cached
    /// `whoami` of the identity is served afterwards. Audited `authz.session.revoke_all`.
    pub async fn revoke_sessions(&self, id: &str) -> Result<()> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.revoke_sessions")?;
        let path = format!("admin/identities/{}/sessions", crate::ids::seg(id));
        let res = c.send(Call::delete(&path)).await;
        // A revoke the shared cache could not take is an outage, so the caller retries it.
        let evicted = self.t.sessions.evict_identity(&self.t.name, id).await;
        self.t.emit(
            AuditEvent::mutation(
                names::AUTHZ_SESSION_REVOKE_ALL,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id),
        );
        res?;
        evicted
    }

    /// A recovery link for the identity (support desk): opening it signs the owner in and
    /// starts a settings flow to set a new password. The link is a [`Secret`](crate::Secret).
    /// An identity Kratos does not know is `IamValidationError` (v1.3.1 answers 400, not the
    /// documented 404; for a code it answers 404). Audited `identity.recovery.create` with
    /// `method: "link"`.
    pub async fn create_recovery_link(&self, id: &str, opts: RecoveryOptions) -> Result<Recovery> {
        self.create_recovery(id, opts, "link").await
    }

    /// A recovery code for the identity: `link` opens the recovery flow, where the owner enters
    /// `code` (both [`Secret`](crate::Secret)s). Audited `identity.recovery.create` with
    /// `method: "code"`.
    pub async fn create_recovery_code(&self, id: &str, opts: RecoveryOptions) -> Result<Recovery> {
        self.create_recovery(id, opts, "code").await
    }

    async fn create_recovery(&self, id: &str, opts: RecoveryOptions, method: &str) -> Result<Recovery> {
        check_uuid("identity_id", id)?;
        if let Some(e) = &opts.expires_in {
            check_duration("expires_in", e)?;
        }
        let c = self.t.kratos_admin(if method == "link" {
            "identity.create_recovery_link"
        } else {
            "identity.create_recovery_code"
        })?;
        let mut body = json!({"identity_id": id});
        if let Some(e) = opts.expires_in {
            body["expires_in"] = json!(e);
        }
        // A POST: each call makes a new link or code, so it is never retried.
        let res = c.send(Call::post(&format!("admin/recovery/{method}")).json(body)).await;
        self.t.emit(
            AuditEvent::mutation(
                names::IDENTITY_RECOVERY_CREATE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id)
            .attr("method", method),
        );
        let r: wire::Recovery = c.decode(&res?)?;
        Ok(Recovery {
            tenant: self.t.name.to_string(),
            identity_id: id.to_owned(),
            link: crate::Secret::new(r.recovery_link),
            code: r.recovery_code.map(crate::Secret::new),
            expires_at: r.expires_at,
        })
    }

    /// Extend a session by the configured lifespan; returns the extended session.
    pub async fn extend_session(&self, session_id: &str) -> Result<Session> {
        check_uuid("session_id", session_id)?;
        let c = self.t.kratos_admin("identity.extend_session")?;
        let path = format!("admin/sessions/{}/extend", crate::ids::seg(session_id));
        let mut call = Call::patch(&path);
        // Extending sets the expiry to now + lifespan: repeating it is harmless, so retry it.
        call.idempotent = true;
        let res = c.send(call).await;
        self.t.emit(
            AuditEvent::mutation(names::SESSION_EXTEND, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(session_id),
        );
        let r = res?;
        // Depending on `feature_flags.faster_session_extend` Kratos answers 200 with the
        // session or 204 with nothing; then read it back.
        let r = if r.status == 204 || r.body.is_empty() {
            let get = format!("admin/sessions/{}", crate::ids::seg(session_id));
            c.send(Call::get(&get).query("expand", "identity")).await?
        } else {
            r
        };
        let s: wire::Session = c.decode(&r)?;
        // Extended sessions move their expiry: evict so whoami sees the new one.
        self.t.sessions.evict_session(&self.t.name, session_id).await?;
        let identity_id = s.identity.as_ref().map(|i| i.id.clone()).unwrap_or_default();
        Ok(s.into_dto_for(&self.t.name, &identity_id))
    }

    /// The identity's credentials with their public metadata only (type, identifiers, dates,
    /// OIDC providers, WebAuthn/passkey key names). Hashes, secrets, TOTP seeds, lookup codes
    /// and tokens are dropped while parsing: they never reach a DTO, a log or an error.
    pub async fn get_credentials(&self, id: &str) -> Result<Vec<Credential>> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.get_credentials")?;
        let path = format!("admin/identities/{}", crate::ids::seg(id));
        let mut call = Call::get(&path);
        for ty in CREDENTIAL_TYPES {
            call = call.query("include_credential", *ty);
        }
        let r = c.send(call).await?;
        let v: Value = c.decode(&r)?;
        let mut out: Vec<Credential> = v
            .get("credentials")
            .and_then(Value::as_object)
            .map(|m| m.values().map(|cred| public_credential(&self.t.name, cred)).collect())
            .unwrap_or_default();
        // Kratos keeps an emptied credential (e.g. OIDC after its last link is deleted): one
        // with no identifier is not a way to sign in any more.
        out.retain(|c| !c.identifiers.is_empty());
        out.sort_by(|a, b| a.credential_type.cmp(&b.credential_type));
        Ok(out)
    }

    /// Delete one credential (`identifier` selects which OIDC link). Kratos refuses first-factor
    /// types (v1.3.1: `password`, `code`): that comes back as `IamValidationError` on `type`.
    /// Audited as `identity.credential.delete`.
    pub async fn delete_credential(&self, id: &str, credential_type: &str, identifier: Option<&str>) -> Result<()> {
        check_uuid("id", id)?;
        if !CREDENTIAL_TYPES.contains(&credential_type) {
            return Err(Error::invalid_field(
                "type",
                "must be one of password, oidc, totp, lookup_secret, webauthn, passkey, code",
            ));
        }
        if identifier.is_some_and(str::is_empty) {
            return Err(Error::invalid_field("identifier", "must not be empty"));
        }
        let c = self.t.kratos_admin("identity.delete_credential")?;
        let path = format!("admin/identities/{}/credentials/{}", crate::ids::seg(id), crate::ids::seg(credential_type));
        let mut call = Call::delete(&path);
        if let Some(i) = identifier {
            call = call.query("identifier", i.to_owned());
        }
        let sent = c.send(call).await;
        let evicted = self.t.sessions.evict_identity(&self.t.name, id).await;
        let res = match sent {
            Ok(r) => Ok(r),
            Err(e) if e.kind() == ErrorKind::Validation => {
                let mut refused =
                    Error::invalid_field("type", format!("the server refuses to delete {credential_type} credentials"));
                refused.status = e.status();
                refused.tenant = e.tenant().map(str::to_owned);
                refused.request_id = e.request_id().map(str::to_owned);
                Err(refused)
            }
            Err(e) => Err(e),
        };
        self.t.emit(
            AuditEvent::new(
                names::IDENTITY_CREDENTIAL_DELETE,
                &self.t.name,
                if res.is_ok() { "success" } else { "failure" },
            )
            .target(id)
            .attr("credential_type", credential_type)
            .request_id(match &res {
                Ok(r) => Some(r.request_id.clone()),
                Err(e) => e.request_id().map(str::to_owned),
            }),
        );
        res?;
        evicted
    }

    /// Delete an identity (audited as `identity.delete`).
    pub async fn delete(&self, id: &str) -> Result<()> {
        check_uuid("id", id)?;
        let c = self.t.kratos_admin("identity.delete")?;
        let path = format!("admin/identities/{}", crate::ids::seg(id));
        let res = c.send(Call::delete(&path)).await;
        // Kratos deletes the identity's sessions with it: so does the session cache.
        let evicted = self.t.sessions.evict_identity(&self.t.name, id).await;
        let (result, request_id) = match &res {
            Ok(r) => ("success", Some(r.request_id.clone())),
            Err(e) => ("failure", e.request_id().map(str::to_owned)),
        };
        self.t.emit(
            AuditEvent::new(names::IDENTITY_DELETE, &self.t.name, result)
                .target(id)
                .request_id(request_id)
                .attr("error", res.as_ref().err().map(|e| Value::from(e.code())).unwrap_or(Value::Null)),
        );
        res?;
        evicted
    }
}

/// A duration as Kratos reads one (`[0-9]+(ns|us|ms|s|m|h)`), checked before it is sent so a
/// typo is a field error naming `field`.
fn check_duration(field: &str, v: &str) -> Result<()> {
    let unit_at = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let ok = unit_at > 0 && unit_at <= 18 && matches!(&v[unit_at..], "ns" | "us" | "ms" | "s" | "m" | "h");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_field(field, "must be a number followed by ns, us, ms, s, m or h (e.g. 15m)"))
    }
}

/// Kratos's address objects from `AddressInput`s: `via` defaults to `email`; a verifiable
/// address is `verified: false` / `status: pending` unless told (`completed` when verified).
fn addresses(field: &str, addrs: Vec<crate::dto::AddressInput>, verifiable: bool) -> Result<Value> {
    let mut out = Vec::with_capacity(addrs.len());
    for (n, a) in addrs.into_iter().enumerate() {
        if a.value.trim().is_empty() {
            return Err(Error::invalid_field(format!("{field}[{n}].value"), "must not be empty"));
        }
        let via = a.via.unwrap_or_else(|| "email".into());
        if via != "email" && via != "sms" {
            return Err(Error::invalid_field(format!("{field}[{n}].via"), "must be email or sms"));
        }
        if !verifiable {
            if a.verified.is_some() || a.status.is_some() {
                return Err(Error::invalid_field(
                    format!("{field}[{n}]"),
                    "recovery addresses take value and via only",
                ));
            }
            out.push(json!({"value": a.value, "via": via}));
            continue;
        }
        let verified = a.verified.unwrap_or(false);
        let status = a.status.unwrap_or_else(|| if verified { "completed" } else { "pending" }.into());
        if !matches!(status.as_str(), "pending" | "sent" | "completed") {
            return Err(Error::invalid_field(format!("{field}[{n}].status"), "must be pending, sent or completed"));
        }
        out.push(json!({"value": a.value, "via": via, "verified": verified, "status": status}));
    }
    Ok(Value::Array(out))
}

const CREDENTIAL_TYPES: &[&str] = &["password", "oidc", "totp", "lookup_secret", "webauthn", "passkey", "code"];

/// Whitelist the public parts of one Kratos credential; everything else is left behind.
pub(crate) fn public_credential(tenant: &str, c: &Value) -> Credential {
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let config = c.get("config");
    let providers = config
        .and_then(|cfg| cfg.get("providers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|p| p.get("provider").and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default();
    let key_names = config
        .and_then(|cfg| cfg.get("credentials"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|k| k.get("display_name").and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default();
    Credential {
        tenant: tenant.to_owned(),
        credential_type: s("type").unwrap_or_default(),
        identifiers: strings(c.get("identifiers")),
        providers,
        key_names,
        version: c.get("version").and_then(Value::as_i64),
        created_at: s("created_at"),
        updated_at: s("updated_at"),
    }
}

const PATCHABLE: &[&str] = &["/traits", "/metadata_public", "/metadata_admin"];

fn patchable(path: &str) -> bool {
    path == "/state"
        || PATCHABLE.iter().any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

/// RFC 6902 shape + the paths an identity patch may touch. Errors name the operation index.
pub(crate) fn validate_patch(ops: &Value) -> Result<()> {
    let Some(list) = ops.as_array() else {
        return Err(Error::invalid_field("ops", "must be a list of JSON Patch operations"));
    };
    if list.is_empty() {
        return Err(Error::invalid_field("ops", "must not be empty"));
    }
    for (i, op) in list.iter().enumerate() {
        let at = |k: &str| format!("ops[{i}].{k}");
        let Some(o) = op.as_object() else {
            return Err(Error::invalid_field(format!("ops[{i}]"), "must be an object"));
        };
        let kind = o.get("op").and_then(Value::as_str).unwrap_or("");
        if !matches!(kind, "add" | "remove" | "replace" | "move" | "copy" | "test") {
            return Err(Error::invalid_field(at("op"), "must be one of add, remove, replace, move, copy, test"));
        }
        let Some(path) = o.get("path").and_then(Value::as_str) else {
            return Err(Error::invalid_field(at("path"), "is required and must be a string"));
        };
        if !patchable(path) {
            return Err(Error::invalid_field(
                at("path"),
                "only /traits, /metadata_public, /metadata_admin (and below) and /state may be patched",
            ));
        }
        if matches!(kind, "move" | "copy") {
            match o.get("from").and_then(Value::as_str) {
                Some(f) if patchable(f) => {}
                _ => return Err(Error::invalid_field(at("from"), "must be a patchable path")),
            }
        }
        if matches!(kind, "add" | "replace" | "test") && !o.contains_key("value") {
            return Err(Error::invalid_field(at("value"), "is required for this operation"));
        }
        if path == "/state" && kind != "test" {
            match o.get("value").and_then(Value::as_str) {
                Some("active") | Some("inactive") => {}
                _ if kind == "remove" => return Err(Error::invalid_field(at("path"), "/state cannot be removed")),
                _ => return Err(Error::invalid_field(at("value"), "state must be active or inactive")),
            }
        }
        if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "op" | "path" | "from" | "value")) {
            return Err(Error::invalid_field(format!("ops[{i}].{k}"), "unknown key"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_paths_are_restricted() {
        let ok = json!([
            {"op": "replace", "path": "/traits/email", "value": "x"},
            {"op": "add", "path": "/metadata_public/a", "value": 1},
            {"op": "remove", "path": "/metadata_admin"},
            {"op": "replace", "path": "/state", "value": "inactive"},
            {"op": "move", "from": "/traits/a", "path": "/traits/b"},
        ]);
        validate_patch(&ok).unwrap();
        for (bad, field) in [
            (json!({"op": "replace"}), "ops"),
            (json!([]), "ops"),
            (json!([{"op": "replace", "path": "/credentials", "value": 1}]), "ops[0].path"),
            (json!([{"op": "replace", "path": "/traitsx", "value": 1}]), "ops[0].path"),
            (json!([{"op": "replace", "path": "/id", "value": 1}]), "ops[0].path"),
            (json!([{"op": "frobnicate", "path": "/traits"}]), "ops[0].op"),
            (json!([{"op": "add", "path": "/traits/a"}]), "ops[0].value"),
            (json!([{"op": "copy", "from": "/credentials", "path": "/traits/a"}]), "ops[0].from"),
            (json!([{"op": "replace", "path": "/state", "value": "deleted"}]), "ops[0].value"),
            (json!([{"op": "replace", "path": "/traits", "value": {}, "extra": 1}]), "ops[0].extra"),
        ] {
            let e = validate_patch(&bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Validation);
            assert_eq!(e.fields()[0].path, field, "{bad}");
        }
    }
}
