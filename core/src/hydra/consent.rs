//! `ConsentService`: Hydra's login, consent and logout requests (admin API).

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::dto::{
    ChallengeRequest, ConsentSession, ListConsentSessions, LogoutUrlOptions, Page, RedirectTo, RevokeConsentSessions,
    RevokeLoginSessions,
};
use crate::error::{Error, Result};
use crate::http::{Call, OryClient};
use crate::ids::check_segment;
use crate::paging::{next_token_from_link, page_query, pages, Pager};
use crate::secret::Secret;
use crate::tenancy::service_handle;
use serde_json::Value;

service_handle!(
    /// Login/consent/logout decisions of one tenant (Hydra admin API).
    ConsentService
);

#[derive(Clone, Copy)]
enum Kind {
    Login,
    Consent,
    Logout,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Consent => "consent",
            Kind::Logout => "logout",
        }
    }
}

fn check_challenge(c: &str) -> Result<()> {
    if c.is_empty() || c.len() > 4096 || !c.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_field("challenge", "must be the challenge Hydra sent"));
    }
    Ok(())
}

impl ConsentService {
    fn admin(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_admin.as_ref().ok_or_else(|| self.t.missing("hydra.admin_url", op))
    }

    async fn get(&self, kind: Kind, challenge: &str) -> Result<ChallengeRequest> {
        check_challenge(challenge)?;
        let c = self.admin("consent.get")?;
        let path = format!("admin/oauth2/auth/requests/{}", kind.name());
        let r = c.send(Call::get(&path).query(challenge_param(kind), challenge.to_owned())).await?;
        Ok(wire::challenge(&self.t.name, c.decode::<Value>(&r)?))
    }

    async fn decide(&self, kind: Kind, verdict: &str, challenge: &str, body: Option<Value>) -> Result<RedirectTo> {
        check_challenge(challenge)?;
        if let Some(b) = &body {
            if !b.is_object() {
                return Err(Error::invalid_field("body", "must be an object"));
            }
        }
        let c = self.admin("consent.decide")?;
        let path = format!("admin/oauth2/auth/requests/{}/{verdict}", kind.name());
        let mut call = Call::new(http::Method::PUT, &path).query(challenge_param(kind), challenge.to_owned());
        if let Some(b) = body {
            call = call.json(b);
        }
        // A decision is not safe to repeat blindly (a used challenge answers 410).
        call.idempotent = false;
        let r = c.send(call).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(RedirectTo { redirect_to: String::new() });
        }
        let rt: wire::RedirectTo = c.decode(&r)?;
        Ok(RedirectTo { redirect_to: rt.redirect_to })
    }

    pub async fn get_login_request(&self, challenge: &str) -> Result<ChallengeRequest> {
        self.get(Kind::Login, challenge).await
    }
    /// Accept a login: `{subject, remember?, remember_for?, acr?, amr?, context?}`.
    pub async fn accept_login_request(&self, challenge: &str, body: Value) -> Result<RedirectTo> {
        if body.get("subject").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(Error::invalid_field("body.subject", "is required"));
        }
        self.decide(Kind::Login, "accept", challenge, Some(body)).await
    }
    /// Reject a login: `{error?, error_description?, status_code?}`.
    pub async fn reject_login_request(&self, challenge: &str, body: Value) -> Result<RedirectTo> {
        self.decide(Kind::Login, "reject", challenge, Some(body)).await
    }
    pub async fn get_consent_request(&self, challenge: &str) -> Result<ChallengeRequest> {
        self.get(Kind::Consent, challenge).await
    }
    /// Accept consent: `{grant_scope, grant_access_token_audience?, remember?, session?}`.
    pub async fn accept_consent_request(&self, challenge: &str, body: Value) -> Result<RedirectTo> {
        self.decide(Kind::Consent, "accept", challenge, Some(body)).await
    }
    pub async fn reject_consent_request(&self, challenge: &str, body: Value) -> Result<RedirectTo> {
        self.decide(Kind::Consent, "reject", challenge, Some(body)).await
    }
    pub async fn get_logout_request(&self, challenge: &str) -> Result<ChallengeRequest> {
        self.get(Kind::Logout, challenge).await
    }
    pub async fn accept_logout_request(&self, challenge: &str) -> Result<RedirectTo> {
        self.decide(Kind::Logout, "accept", challenge, None).await
    }
    /// Hydra answers 204: the returned `redirect_to` is empty.
    pub async fn reject_logout_request(&self, challenge: &str) -> Result<RedirectTo> {
        self.decide(Kind::Logout, "reject", challenge, None).await
    }

    /// One page of the consents `subject` gave and Hydra remembers ("connected apps";
    /// `GET /admin/oauth2/auth/sessions/consent`, `listOAuth2ConsentSessions`), optionally only
    /// those of one login session. Only consents accepted with `remember: true` are listed.
    pub async fn list_consent_sessions(&self, opts: ListConsentSessions) -> Result<Page<ConsentSession>> {
        check_segment("subject", &opts.subject)?;
        if let Some(sid) = &opts.login_session_id {
            check_segment("login_session_id", sid)?;
        }
        let c = self.admin("consent.list_consent_sessions")?;
        let call = Call::get("admin/oauth2/auth/sessions/consent").query("subject", opts.subject.clone());
        let token = opts.page_token.clone();
        let mut call = page_query(call, opts.page_size, opts.page_token, 500)?;
        if let Some(sid) = opts.login_session_id {
            call = call.query("login_session_id", sid);
        }
        let r = c.send(call).await?;
        let items: Vec<Value> = c.decode(&r)?;
        let next_page_token =
            next_token_from_link(&r.headers).or_else(|| next_offset_token(&r.headers, token.as_deref(), items.len()));
        Ok(Page { items: items.iter().map(|x| wire::consent_session(&self.t.name, x)).collect(), next_page_token })
    }

    /// Every remembered consent of the subject, page after page.
    pub fn list_consent_sessions_all(&self, opts: ListConsentSessions) -> Pager<ConsentSession> {
        pages(self.clone(), move |svc, token| {
            let opts = ListConsentSessions { page_token: token, ..opts.clone() };
            async move { svc.list_consent_sessions(opts).await }
        })
    }

    /// Revoke the subject's consent to one client (`client`) or to every client (`all: true`)
    /// (`DELETE /admin/oauth2/auth/sessions/consent`, `revokeOAuth2ConsentSessions`): Hydra also
    /// revokes the access and refresh tokens issued under it, so every cached introspection of
    /// the tenant is dropped (here and, over Redis, in every instance). Audited
    /// `oauth2.consent.revoke` (target: the subject; `client` or `all`).
    pub async fn revoke_consent_sessions(&self, opts: RevokeConsentSessions) -> Result<()> {
        check_segment("subject", &opts.subject)?;
        let all = opts.all.unwrap_or(false);
        match (&opts.client, all) {
            (Some(c), false) => check_segment("client", c)?,
            (None, true) => {}
            _ => return Err(Error::invalid_field("client", "give exactly one of client or all: true")),
        }
        let c = self.admin("consent.revoke_consent_sessions")?;
        let mut call = Call::delete("admin/oauth2/auth/sessions/consent").query("subject", opts.subject.clone());
        call = match &opts.client {
            Some(client) => call.query("client", client.clone()),
            None => call.query("all", "true"),
        };
        let res = c.send(call).await;
        self.tokens().drop_introspections().await;
        let mut ev = AuditEvent::mutation(
            names::OAUTH2_CONSENT_REVOKE,
            &self.t.name,
            res.as_ref().map(|r| r.request_id.as_str()),
        )
        .target(opts.subject.clone());
        ev = match opts.client {
            Some(client) => ev.attr("client", client),
            None => ev.attr("all", true),
        };
        self.t.emit(ev);
        res.map(|_| ())
    }

    /// End Hydra login sessions ("remember me" at the login step): every one of `subject`, or
    /// the one with id `sid` (`DELETE /admin/oauth2/auth/sessions/login`,
    /// `revokeOAuth2LoginSessions`). Tokens already issued stay valid (revoke consents for
    /// that). Audited `oauth2.login_session.revoke` (target: the subject or sid; `by`).
    pub async fn revoke_login_sessions(&self, opts: RevokeLoginSessions) -> Result<()> {
        let (key, value) = match (opts.subject, opts.sid) {
            (Some(s), None) => ("subject", s),
            (None, Some(s)) => ("sid", s),
            _ => return Err(Error::invalid_field("subject", "give exactly one of subject or sid")),
        };
        check_segment(key, &value)?;
        let c = self.admin("consent.revoke_login_sessions")?;
        let res = c.send(Call::delete("admin/oauth2/auth/sessions/login").query(key, value.clone())).await;
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_LOGIN_SESSION_REVOKE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(value)
            .attr("by", key),
        );
        res.map(|_| ())
    }

    /// The URL to send the user's browser to for OpenID Connect RP-initiated logout
    /// (`GET /oauth2/sessions/logout` on Hydra's public URL, `revokeOidcSession`). It is a
    /// browser redirect, not a call: Hydra answers with its logout flow (the logout UI, then
    /// front- and back-channel logout of every client of the session), which the backend cannot
    /// perform for the browser. A secret: it carries the ID token.
    pub fn logout_url(&self, opts: LogoutUrlOptions) -> Result<Secret> {
        let h = self.t.config.hydra.as_ref().ok_or_else(|| self.t.missing("hydra.public_url", "consent.logout_url"))?;
        if opts.post_logout_redirect_uri.is_some() && opts.id_token_hint.is_none() {
            return Err(Error::invalid_field("id_token_hint", "is required with post_logout_redirect_uri"));
        }
        if let Some(t) = &opts.id_token_hint {
            if t.is_empty() || t.expose().split('.').count() != 3 {
                return Err(Error::invalid_field("id_token_hint", "must be an ID token (a JWT)"));
            }
        }
        if let Some(u) = &opts.post_logout_redirect_uri {
            if url::Url::parse(u).is_err() {
                return Err(Error::invalid_field("post_logout_redirect_uri", "must be an absolute URL"));
            }
        }
        let base = if h.public_url.ends_with('/') { h.public_url.clone() } else { format!("{}/", h.public_url) };
        let mut url = url::Url::parse(&base)
            .and_then(|b| b.join("oauth2/sessions/logout"))
            .map_err(|_| crate::Error::configuration("invalid hydra.public_url"))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(t) = &opts.id_token_hint {
                q.append_pair("id_token_hint", t.expose());
            }
            if let Some(u) = &opts.post_logout_redirect_uri {
                q.append_pair("post_logout_redirect_uri", u);
            }
            if let Some(s) = &opts.state {
                q.append_pair("state", s);
            }
        }
        let mut s = String::from(url);
        if s.ends_with('?') {
            s.pop();
        }
        Ok(Secret::new(s))
    }

    fn tokens(&self) -> super::TokenService {
        super::TokenService { reg: self.reg.clone(), t: self.t.clone() }
    }
}

/// Hydra v2.3.0 pages consent sessions by offset (ory/x `migrationpagination`: `page_token` is
/// base64url of `{"offset":"N","v":2}`, the total in `X-Total-Count`) but writes a `Link` header
/// without `rel="next"` (and with the wrong page size): the next page's token is then the
/// offset after this page, while it is below the total.
fn next_offset_token(h: &http::HeaderMap, this: Option<&str>, got: usize) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    #[derive(serde::Deserialize)]
    struct Offset {
        offset: String,
    }
    let total: u64 = h.get("x-total-count")?.to_str().ok()?.trim().parse().ok()?;
    let offset: u64 = match this {
        None => 0,
        Some(t) => {
            let raw = URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok()?;
            serde_json::from_slice::<Offset>(&raw).ok()?.offset.parse().ok()?
        }
    };
    let next = offset + got as u64;
    if got == 0 || next >= total {
        return None;
    }
    Some(URL_SAFE_NO_PAD.encode(serde_json::json!({"offset": next.to_string(), "v": 2}).to_string()))
}

fn challenge_param(kind: Kind) -> &'static str {
    match kind {
        Kind::Login => "login_challenge",
        Kind::Consent => "consent_challenge",
        Kind::Logout => "logout_challenge",
    }
}

#[cfg(test)]
mod tests {
    use super::next_offset_token;

    #[test]
    fn the_next_offset_page_while_below_the_total() {
        let mut h = http::HeaderMap::new();
        h.insert("x-total-count", "3".parse().unwrap());
        let t1 = next_offset_token(&h, None, 2).unwrap();
        assert_eq!(t1, "eyJvZmZzZXQiOiIyIiwidiI6Mn0", "Hydra's own encoding of offset 2");
        assert_eq!(next_offset_token(&h, Some(&t1), 1), None, "3 of 3");
        assert_eq!(next_offset_token(&h, None, 0), None, "an empty page ends the walk");
        assert_eq!(next_offset_token(&h, Some("not-a-token"), 1), None);
        assert_eq!(next_offset_token(&http::HeaderMap::new(), None, 1), None, "no total, no guess");
    }
}
