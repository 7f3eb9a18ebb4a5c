//! `TrustedIssuerService`: issuers whose JWTs Hydra accepts for the JWT-bearer grant.

use super::{check_path_id, wire};
use crate::audit::{names, AuditEvent};
use crate::dto::{ListTrustedIssuers, Page, TrustIssuer, TrustedIssuer};
use crate::error::{Error, Result};
use crate::http::{Call, OryClient};
use crate::paging::{next_token_from_link, page_query, pages, Pager};
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// Trusted JWT-bearer issuers of one tenant (Hydra admin API).
    TrustedIssuerService
);

const PATH: &str = "admin/trust/grants/jwt-bearer/issuers";

impl TrustedIssuerService {
    fn admin(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_admin.as_ref().ok_or_else(|| self.t.missing("hydra.admin_url", op))
    }

    /// Trust `issuer` (for `subject`, or any subject) to mint assertions for `scope`.
    pub async fn trust(&self, t: TrustIssuer) -> Result<TrustedIssuer> {
        // RFC 7523 `iss` is any StringOrURI: not checked as a URL, but never empty or binary.
        if t.issuer.trim().is_empty() || t.issuer.len() > 2048 || t.issuer.chars().any(char::is_control) {
            return Err(Error::invalid_field("issuer", "must be a non-empty issuer without control characters"));
        }
        let any = t.allow_any_subject.unwrap_or(false);
        match (&t.subject, any) {
            (Some(_), true) => {
                return Err(Error::invalid_field("subject", "give a subject or allow_any_subject, not both"))
            }
            (None, false) => {
                return Err(Error::invalid_field("subject", "is required unless allow_any_subject is true"))
            }
            _ => {}
        }
        if time::OffsetDateTime::parse(&t.expires_at, &time::format_description::well_known::Rfc3339).is_err() {
            return Err(Error::invalid_field("expires_at", "must be an RFC 3339 timestamp"));
        }
        if t.public_key.get("kid").and_then(Value::as_str).is_none() || t.public_key.get("kty").is_none() {
            return Err(Error::invalid_field("public_key", "must be a JWK with kid and kty"));
        }
        // Hydra verifies assertions with this key: a symmetric (`oct`) key would be a shared
        // secret sent to Hydra and stored as "public"; private parameters would leak the key.
        let kty = t.public_key.get("kty").and_then(Value::as_str).unwrap_or("");
        if !matches!(kty, "RSA" | "EC" | "OKP") {
            return Err(Error::invalid_field("public_key", "must be an asymmetric public key (kty RSA, EC or OKP)"));
        }
        if ["d", "p", "q", "dp", "dq", "qi", "k", "oth"].iter().any(|f| t.public_key.get(*f).is_some()) {
            return Err(Error::invalid_field("public_key", "must be a public key (it has private parts)"));
        }
        let mut body = json!({"issuer": t.issuer, "scope": t.scope, "expires_at": t.expires_at, "jwk": t.public_key});
        match t.subject {
            Some(s) => body["subject"] = json!(s),
            None => body["allow_any_subject"] = json!(true),
        }
        let c = self.admin("trusted_issuer.trust")?;
        let res = c.send(Call::post(PATH).json(body)).await.and_then(|r| {
            let trusted = c.decode::<wire::Trusted>(&r)?.into_dto(&self.t.name);
            Ok((trusted, r.request_id))
        });
        self.t.emit(
            AuditEvent::mutation(names::TRUSTED_ISSUER_TRUST, &self.t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
                .target_opt(res.as_ref().ok().map(|(t, _)| t.id.as_str())),
        );
        Ok(res?.0)
    }

    pub async fn get(&self, id: &str) -> Result<TrustedIssuer> {
        check_path_id("id", id)?;
        let c = self.admin("trusted_issuer.get")?;
        let path = format!("{PATH}/{}", crate::ids::seg(id));
        let r = c.send(Call::get(&path)).await?;
        Ok(c.decode::<wire::Trusted>(&r)?.into_dto(&self.t.name))
    }

    pub async fn list(&self, opts: ListTrustedIssuers) -> Result<Page<TrustedIssuer>> {
        let c = self.admin("trusted_issuer.list")?;
        let mut call = Call::get(PATH);
        if let Some(i) = opts.issuer {
            call = call.query("issuer", i);
        }
        call = page_query(call, opts.page_size, opts.page_token, 500)?;
        let r = c.send(call).await?;
        let items: Vec<wire::Trusted> = c.decode(&r)?;
        Ok(Page {
            items: items.into_iter().map(|x| x.into_dto(&self.t.name)).collect(),
            next_page_token: next_token_from_link(&r.headers),
        })
    }

    pub fn list_all(&self, opts: ListTrustedIssuers) -> Pager<TrustedIssuer> {
        pages(self.clone(), move |svc, token| {
            let opts = ListTrustedIssuers { page_token: token, ..opts.clone() };
            async move { svc.list(opts).await }
        })
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        check_path_id("id", id)?;
        let c = self.admin("trusted_issuer.delete")?;
        let path = format!("{PATH}/{}", crate::ids::seg(id));
        let res = c.send(Call::delete(&path)).await;
        self.t.emit(
            AuditEvent::mutation(
                names::TRUSTED_ISSUER_DELETE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(id),
        );
        res.map(|_| ())
    }
}
