//! `TokenService`: Hydra's token endpoint (client credentials with a refresh-ahead cache,
//! authorization code + PKCE, refresh, JWT bearer), introspection (optional cache bounded by the
//! token's `exp`) and revocation.

use super::wire;
use crate::audit::{names, AuditEvent};
use crate::cache;
use crate::cache::invalidation::{Epochs, Tier};
use crate::dto::{
    AuthenticateOptions, AuthorizationCodeGrant, BearerMode, IamMachinePrincipal, Introspection, JwtBearerGrant,
    RefreshGrant, RevokeOptions, TokenSet,
};
use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::http::{Call, OryClient};
use crate::secret::Secret;
use crate::tenancy::service_handle;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

service_handle!(
    /// OAuth2 tokens of one tenant (Hydra public token endpoint, admin introspection).
    TokenService
);

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Per-tenant token caches, bounded (moka: least recently used out first).
pub(crate) struct TokenCaches {
    /// scope → (tokens, refresh after). Scopes are the application's own strings: a thousand
    /// distinct ones is far beyond any real use.
    credentials: moka::sync::Cache<String, (TokenSet, Instant)>,
    /// hash of a token → (introspection, valid until, epoch it was asked in);
    /// `cache.introspection_max_entries`.
    introspections: moka::sync::Cache<String, (Introspection, Instant, u64)>,
    /// Token revokes through other instances sharing Redis ([`crate::cache::invalidation`]):
    /// an entry is read only under the epoch it was asked in, and only while it is servable.
    remote: Arc<Epochs>,
}

impl TokenCaches {
    fn new(c: &crate::config::CacheConfig, remote: Arc<Epochs>) -> Self {
        TokenCaches {
            remote,
            credentials: moka::sync::Cache::new(1_000),
            introspections: moka::sync::Cache::builder()
                .max_capacity(c.introspection_max_entries)
                .time_to_live(crate::cache::bounded_ttl(c.introspection_ttl_ms))
                .build(),
        }
    }
}

impl TokenService {
    fn caches(&self) -> std::sync::Arc<TokenCaches> {
        if self.t.config.cache.introspection_ttl_ms > 0 {
            self.t.sessions.subscribe();
        }
        self.t.state_with(|c| TokenCaches::new(&c.cache, self.t.sessions.epochs()))
    }

    fn public(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_public.as_ref().ok_or_else(|| self.t.missing("hydra.public_url", op))
    }

    fn admin(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_admin.as_ref().ok_or_else(|| self.t.missing("hydra.admin_url", op))
    }

    /// The client to authenticate as: given per call, else the tenant's `hydra.client_id/secret`.
    fn client(&self, id: Option<String>, secret: Option<Secret>, op: &str) -> Result<(String, Option<Secret>)> {
        let cfg = self.t.config.hydra.as_ref();
        match id {
            Some(id) => Ok((id, secret)),
            None => match cfg.and_then(|h| h.client_id.clone()) {
                Some(id) => Ok((id, secret.or_else(|| cfg.and_then(|h| h.client_secret.clone())))),
                None => Err(self.t.missing("hydra.client_id", op)),
            },
        }
    }

    async fn token(
        &self,
        op: &str,
        mut form: Vec<(&'static str, String)>,
        id: String,
        secret: Option<Secret>,
        retry_safe: bool,
    ) -> Result<TokenSet> {
        let c = self.public(op)?;
        let mut call = Call::post("oauth2/token");
        // Only grants without a one-time input may be retried: a repeated code or refresh token
        // would be reuse (and Hydra revokes what the first exchange issued).
        call.idempotent = retry_safe;
        match &secret {
            Some(s) => call = call.basic_auth(&id, s),
            // A public client identifies itself in the form.
            None => form.push(("client_id", id)),
        }
        let r = c.send(call.form(form)).await?;
        Ok(c.decode::<wire::Token>(&r)?.into_dto(&self.t.name))
    }

    /// A client-credentials token for `scope` (space-separated), from the tenant's client. Cached
    /// and renewed ahead of expiry (at 80 % of its life).
    pub async fn client_credentials(&self, scope: Option<&str>) -> Result<TokenSet> {
        self.t.ensure_open()?;
        let key = scope.unwrap_or("").to_owned();
        if let Some((t, until)) = self.caches().credentials.get(&key) {
            if Instant::now() < until {
                return Ok(t);
            }
        }
        let (id, secret) = self.client(None, None, "token.client_credentials")?;
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if let Some(s) = scope.filter(|s| !s.is_empty()) {
            form.push(("scope", s.to_owned()));
        }
        let t = self.token("token.client_credentials", form, id, secret, true).await?;
        if let Some(exp) = t.expires_in {
            let ahead = Duration::from_millis(exp.saturating_mul(800));
            if let Some(until) = Instant::now().checked_add(ahead) {
                self.caches().credentials.insert(key, (t.clone(), until));
            }
        }
        Ok(t)
    }

    /// Exchange an authorization code (with the PKCE `code_verifier` when one was used).
    pub async fn authorization_code(&self, g: AuthorizationCodeGrant) -> Result<TokenSet> {
        if g.code.is_empty() {
            return Err(Error::invalid_field("code", "must not be empty"));
        }
        if url::Url::parse(&g.redirect_uri).is_err() {
            return Err(Error::invalid_field("redirect_uri", "must be an absolute URL"));
        }
        let (id, secret) = self.client(g.client_id, g.client_secret, "token.authorization_code")?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", g.code.expose().to_owned()),
            ("redirect_uri", g.redirect_uri),
        ];
        if let Some(v) = g.code_verifier {
            form.push(("code_verifier", v.expose().to_owned()));
        }
        self.token("token.authorization_code", form, id, secret, false).await
    }

    /// Use a refresh token (it is rotated: the old one stops working).
    pub async fn refresh(&self, g: RefreshGrant) -> Result<TokenSet> {
        if g.refresh_token.is_empty() {
            return Err(Error::invalid_field("refresh_token", "must not be empty"));
        }
        let (id, secret) = self.client(g.client_id, g.client_secret, "token.refresh")?;
        let mut form =
            vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", g.refresh_token.expose().to_owned())];
        if let Some(s) = g.scope {
            form.push(("scope", s));
        }
        self.token("token.refresh", form, id, secret, false).await
    }

    /// RFC 7523: exchange a JWT signed by a trusted issuer. The client must authenticate.
    pub async fn jwt_bearer(&self, g: JwtBearerGrant) -> Result<TokenSet> {
        if g.assertion.expose().split('.').count() != 3 {
            return Err(Error::invalid_field("assertion", "must be a JWT"));
        }
        let (id, secret) = self.client(g.client_id, g.client_secret, "token.jwt_bearer")?;
        if secret.is_none() {
            return Err(Error::invalid_field("client_secret", "the JWT bearer grant needs an authenticated client"));
        }
        let mut form = vec![("grant_type", JWT_BEARER.to_owned()), ("assertion", g.assertion.expose().to_owned())];
        if let Some(s) = g.scope {
            form.push(("scope", s));
        }
        self.token("token.jwt_bearer", form, id, secret, false).await
    }

    /// Ask Hydra about a token. `active: false` (unknown, expired, revoked) is a normal answer.
    /// With `cache.introspection_ttl_ms`, active results are kept until min(ttl, exp).
    pub async fn introspect(&self, token: &Secret) -> Result<Introspection> {
        self.t.ensure_open()?;
        if token.is_empty() {
            return Err(Error::invalid_field("token", "must not be empty"));
        }
        let key = cache::key(&self.t.name, "introspect", token.expose());
        let ttl = Duration::from_millis(self.t.config.cache.introspection_ttl_ms);
        let caches = self.caches();
        let epoch = caches.remote.current(Tier::Introspections);
        if !ttl.is_zero() && Epochs::servable(epoch) {
            if let Some((i, until, e)) = caches.introspections.get(&key) {
                if Instant::now() < until && e == epoch {
                    return Ok(i);
                }
            }
        }
        let c = self.admin("token.introspect")?;
        let mut call = Call::post("admin/oauth2/introspect").form(vec![("token", token.expose().to_owned())]);
        call.idempotent = true; // a read
        let r = c.send(call).await?;
        let mut i: Introspection = c.decode(&r)?;
        i.tenant = self.t.name.to_string();
        if !ttl.is_zero() && i.active {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
            let left = i.exp.map(|e| Duration::from_secs(e.saturating_sub(now).max(0) as u64)).unwrap_or(ttl);
            // Not if another instance revoked a token meanwhile (or the channel was lost).
            if let Some(until) = Instant::now().checked_add(ttl.min(left)) {
                if Epochs::servable(epoch) && caches.remote.current(Tier::Introspections) == epoch {
                    caches.introspections.insert(key, (i.clone(), until, epoch));
                }
            }
        }
        Ok(i)
    }

    /// The OAuth2 resource-server check: the request's `Authorization: Bearer` token → who is
    /// calling. JWTs are verified locally against Hydra's JWKS (mode `auto`/`jwt`), others are
    /// introspected. Inactive, expired, forged or missing tokens are `unauthorized`; a missing
    /// required scope is `forbidden`; Hydra being down is `upstream_unavailable`. Never a
    /// principal on failure.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        opts: AuthenticateOptions,
    ) -> Result<IamMachinePrincipal> {
        let t = &self.t;
        t.ensure_open()?;
        let unauthorized = |why: &str| {
            Error::new(ErrorKind::Unauthorized, format!("bearer token rejected: {why}")).with_tenant(&*t.name)
        };
        let token = match crate::transport::extract(crate::config::Transport::Bearer, "", headers) {
            Ok(crate::transport::Credential::Token(tok)) => tok,
            Ok(_) | Err(crate::transport::Rejection::Missing) => {
                t.emit(AuditEvent::new(names::AUTH_FAILURE_MISSING_CREDENTIAL, &t.name, "failure"));
                return Err(unauthorized("no bearer token"));
            }
            Err(crate::transport::Rejection::Malformed) => {
                t.emit(AuditEvent::new(names::AUTH_FAILURE_MALFORMED, &t.name, "failure"));
                return Err(unauthorized("malformed bearer token"));
            }
        };
        let looks_jwt = token.expose().split('.').count() == 3 && token.expose().starts_with("ey");
        let hydra = t.config.hydra.as_ref();
        let mode = opts
            .mode
            .or_else(|| hydra.and_then(|h| h.bearer_mode.as_deref()).and_then(BearerMode::parse))
            .unwrap_or_default();
        let audience = opts.required_audience.clone().or_else(|| hydra.and_then(|h| h.audience.clone()));
        let use_jwt = match mode {
            BearerMode::Jwt => true,
            BearerMode::Introspect => false,
            BearerMode::Auto => looks_jwt,
        };
        let principal = if use_jwt {
            match t.state::<crate::hydra::jwt::JwksCache>().verify(t, token.expose(), audience.as_deref()).await {
                Ok(c) => IamMachinePrincipal {
                    tenant: t.name.to_string(),
                    client_id: c.client_id,
                    subject: c.sub,
                    scope: c.scp.unwrap_or_else(|| {
                        c.scope.map(|s| s.split(' ').map(str::to_owned).collect()).unwrap_or_default()
                    }),
                    expires_at: Some(c.exp),
                    verified_by: "jwt".into(),
                },
                Err(e) => {
                    let ev = if e.kind() == ErrorKind::Unauthorized {
                        names::AUTH_FAILURE_TOKEN_INACTIVE
                    } else {
                        names::AUTH_FAILURE_UPSTREAM
                    };
                    t.emit(AuditEvent::new(ev, &t.name, "failure").attr("via", "jwt"));
                    return Err(e);
                }
            }
        } else {
            let i = match self.introspect(&token).await {
                Ok(i) => i,
                Err(e) => {
                    t.emit(
                        AuditEvent::new(names::AUTH_FAILURE_UPSTREAM, &t.name, "failure").attr("via", "introspection"),
                    );
                    return Err(e);
                }
            };
            if !i.active {
                t.emit(AuditEvent::new(names::AUTH_FAILURE_TOKEN_INACTIVE, &t.name, "failure"));
                return Err(unauthorized("inactive token"));
            }
            // An active refresh token introspects with its full scope: only access tokens pass.
            if i.token_use.as_deref() != Some("access_token") {
                t.emit(
                    AuditEvent::new(names::AUTH_FAILURE_MALFORMED, &t.name, "failure")
                        .attr("reason", "not_access_token"),
                );
                return Err(unauthorized("not an access token"));
            }
            if let Some(aud) = audience.as_deref() {
                if !i.aud.as_ref().is_some_and(|list| list.iter().any(|a| a == aud)) {
                    t.emit(
                        AuditEvent::new(names::AUTH_FAILURE_TOKEN_INACTIVE, &t.name, "failure")
                            .attr("reason", "audience"),
                    );
                    return Err(unauthorized("issued for another audience"));
                }
            }
            IamMachinePrincipal {
                tenant: t.name.to_string(),
                client_id: i.client_id,
                subject: i.sub,
                scope: i
                    .scope
                    .map(|s| s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect())
                    .unwrap_or_default(),
                expires_at: i.exp,
                verified_by: "introspection".into(),
            }
        };
        if let Some(missing) = opts.required_scope.iter().find(|s| !principal.scope.contains(s)) {
            return Err(Error::new(ErrorKind::Forbidden, format!("token lacks the scope {missing}"))
                .with_tenant(&*t.name)
                .with_status(403));
        }
        t.emit(
            AuditEvent::new(names::AUTH_SUCCESS, &t.name, "success")
                .target(principal.subject.clone().or_else(|| principal.client_id.clone()).unwrap_or_default())
                .attr("via", principal.verified_by.clone())
                .attr("cache_hit", false),
        );
        Ok(principal)
    }

    /// Revoke an access or refresh token (RFC 7009; unknown tokens are fine). Also drops it from
    /// the introspection cache.
    pub async fn revoke(&self, token: &Secret, opts: RevokeOptions) -> Result<()> {
        if token.is_empty() {
            return Err(Error::invalid_field("token", "must not be empty"));
        }
        // RFC 7009 defines these two; Hydra ignores others, so a typo would silently pass.
        if let Some(h) = &opts.token_type_hint {
            if h != "access_token" && h != "refresh_token" {
                return Err(Error::invalid_field("token_type_hint", "must be access_token or refresh_token"));
            }
        }
        let (id, secret) = self.client(opts.client_id, opts.client_secret, "token.revoke")?;
        let c = self.public("token.revoke")?;
        let mut form = vec![("token", token.expose().to_owned())];
        if let Some(h) = opts.token_type_hint {
            form.push(("token_type_hint", h));
        }
        let mut call = Call::post("oauth2/revoke");
        match &secret {
            Some(s) => call = call.basic_auth(&id, s),
            None => form.push(("client_id", id)),
        }
        let res = c.send(call.form(form)).await;
        self.caches().introspections.invalidate(&cache::key(&self.t.name, "introspect", token.expose()));
        // Every instance sharing Redis drops its introspections (the message names no token).
        self.t.sessions.publish(Tier::Introspections, &self.t.name).await;
        res.map(|_| ())
    }

    /// After a write that revokes tokens the library never saw (the access tokens of a client, a
    /// subject's consents): every cached introspection of the tenant is dropped, here and, over
    /// the invalidation channel, in every instance sharing Redis.
    pub(crate) async fn drop_introspections(&self) {
        self.caches().introspections.invalidate_all();
        self.t.sessions.publish(Tier::Introspections, &self.t.name).await;
    }

    /// Delete every access token of a client (`DELETE /admin/oauth2/tokens`, `deleteOAuth2Token`):
    /// a leaked client, a client being retired. Hydra v2.3.0 deletes access tokens only: the
    /// client's refresh tokens keep working (revoke the consents, or delete the client, to end
    /// those). Cached introspections are dropped (here and in every instance sharing Redis).
    /// Audited `oauth2_client.access_tokens.delete`.
    pub async fn delete_access_tokens(&self, client_id: &str) -> Result<()> {
        crate::ids::check_segment("client_id", client_id)?;
        let c = self.admin("token.delete_access_tokens")?;
        let res = c.send(Call::delete("admin/oauth2/tokens").query("client_id", client_id.to_owned())).await;
        // Dropped whatever Hydra answered: a failure may still have revoked some.
        self.drop_introspections().await;
        self.t.emit(
            AuditEvent::mutation(
                names::OAUTH2_CLIENT_ACCESS_TOKENS_DELETE,
                &self.t.name,
                res.as_ref().map(|r| r.request_id.as_str()),
            )
            .target(client_id),
        );
        res.map(|_| ())
    }

    /// OpenID Connect userinfo of an access token (`GET /userinfo`, `getOidcUserInfo`): the
    /// claims the user consented to. A revoked, expired or unknown token is `unauthorized`.
    pub async fn userinfo(&self, access_token: &Secret) -> Result<crate::dto::UserInfo> {
        if access_token.is_empty() || access_token.expose().chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::invalid_field("access_token", "must be an access token"));
        }
        let c = self.public("token.userinfo")?;
        let r = c.send(Call::get("userinfo").bearer(access_token)).await?;
        let claims: serde_json::Value = c.decode(&r)?;
        let Some(sub) = claims.get("sub").and_then(serde_json::Value::as_str).map(str::to_owned) else {
            return Err(Error::new(ErrorKind::UpstreamUnavailable, "hydra answered userinfo without a subject")
                .with_tenant(&*self.t.name));
        };
        Ok(crate::dto::UserInfo { tenant: self.t.name.to_string(), sub, claims })
    }

    /// Hydra's OpenID Connect discovery document (`GET /.well-known/openid-configuration`,
    /// `discoverOidcConfiguration`).
    pub async fn discover(&self) -> Result<crate::dto::OidcConfiguration> {
        let c = self.public("token.discover")?;
        let r = c.send(Call::get(".well-known/openid-configuration")).await?;
        wire::oidc_configuration(&self.t.name, c.decode(&r)?).ok_or_else(|| {
            Error::new(ErrorKind::UpstreamUnavailable, "hydra's discovery document lacks a required member")
                .with_tenant(&*self.t.name)
        })
    }

    /// The issuer tokens are checked against (`hydra.issuer`, else `hydra.public_url`) next to
    /// the one Hydra's discovery document names: `Some((configured, discovered))` when they
    /// differ (JWTs would be refused as "wrong issuer"), `None` when they agree (a trailing `/`
    /// aside, which the JWT check also ignores).
    pub(crate) async fn check_issuer(&self) -> Result<Option<(String, String)>> {
        let Some(h) = self.t.config.hydra.as_ref() else {
            return Err(self.t.missing("hydra.public_url", "token.check_issuer"));
        };
        let configured = h.issuer.clone().unwrap_or_else(|| h.public_url.clone());
        let found = self.discover().await?.issuer;
        if configured.trim_end_matches('/') == found.trim_end_matches('/') {
            Ok(None)
        } else {
            Ok(Some((configured, found)))
        }
    }
}
