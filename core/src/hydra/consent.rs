//! `ConsentService`: Hydra's login, consent and logout requests (admin API).

use super::wire;
use crate::dto::{ChallengeRequest, RedirectTo};
use crate::error::{Error, Result};
use crate::http::{Call, OryClient};
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
}

fn challenge_param(kind: Kind) -> &'static str {
    match kind {
        Kind::Login => "login_challenge",
        Kind::Consent => "consent_challenge",
        Kind::Logout => "logout_challenge",
    }
}
