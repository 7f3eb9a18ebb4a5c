//! `JwkService`: Hydra's JSON Web Key sets (admin API). Sets can hold private keys: the DTO's
//! `Debug` shows key ids only.

use super::check_path_id;
use crate::audit::{names, AuditEvent};
use crate::dto::{CreateJwkSet, JsonWebKeySet};
use crate::error::{Error, Result};
use crate::http::{Call, OryClient};
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// JSON Web Key sets of one tenant (Hydra admin API).
    JwkService
);

fn set_from(v: Value) -> Result<JsonWebKeySet> {
    match v.get("keys").and_then(Value::as_array) {
        Some(keys) => Ok(JsonWebKeySet { keys: keys.clone() }),
        None => Err(Error::new(crate::ErrorKind::UpstreamUnavailable, "hydra sent a key set without keys")),
    }
}

impl JwkService {
    fn admin(&self, op: &str) -> Result<&OryClient> {
        self.t.hydra_admin.as_ref().ok_or_else(|| self.t.missing("hydra.admin_url", op))
    }

    /// Generate a key in a (new or existing) set.
    pub async fn create_set(&self, set: &str, opts: CreateJwkSet) -> Result<JsonWebKeySet> {
        check_path_id("set", set)?;
        if opts.use_ != "sig" && opts.use_ != "enc" {
            return Err(Error::invalid_field("use", "must be sig or enc"));
        }
        // An unsigned "key" is never what a caller wants; Hydra would answer with a generic error.
        if opts.alg.trim().is_empty() || opts.alg.eq_ignore_ascii_case("none") {
            return Err(Error::invalid_field("alg", "must name a signing or encryption algorithm"));
        }
        let c = self.admin("jwk.create_set")?;
        let path = format!("admin/keys/{}", crate::ids::seg(set));
        let alg = opts.alg.clone();
        let mut body = json!({"alg": opts.alg, "use": opts.use_, "kid": opts.kid.unwrap_or_default()});
        if body["kid"] == json!("") {
            body["kid"] = json!(uuid::Uuid::new_v4().to_string());
        }
        let res = c.send(Call::post(&path).json(body)).await;
        self.t.emit(
            AuditEvent::mutation(names::JWK_SET_CREATE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(set)
                .attr("alg", alg),
        );
        set_from(c.decode(&res?)?)
    }

    pub async fn get_set(&self, set: &str) -> Result<JsonWebKeySet> {
        check_path_id("set", set)?;
        let c = self.admin("jwk.get_set")?;
        let path = format!("admin/keys/{}", crate::ids::seg(set));
        let r = c.send(Call::get(&path)).await?;
        set_from(c.decode(&r)?)
    }

    /// Replace a whole set.
    pub async fn update_set(&self, set: &str, keys: JsonWebKeySet) -> Result<JsonWebKeySet> {
        check_path_id("set", set)?;
        let c = self.admin("jwk.update_set")?;
        let path = format!("admin/keys/{}", crate::ids::seg(set));
        let res = c.send(Call::new(http::Method::PUT, &path).json(json!({"keys": keys.keys}))).await;
        self.t.emit(
            AuditEvent::mutation(names::JWK_SET_UPDATE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(set),
        );
        set_from(c.decode(&res?)?)
    }

    pub async fn delete_set(&self, set: &str) -> Result<()> {
        check_path_id("set", set)?;
        let c = self.admin("jwk.delete_set")?;
        let path = format!("admin/keys/{}", crate::ids::seg(set));
        let res = c.send(Call::delete(&path)).await;
        self.t.emit(
            AuditEvent::mutation(names::JWK_SET_DELETE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(set),
        );
        res.map(|_| ())
    }

    /// One key (Hydra answers with a set holding it).
    pub async fn get_key(&self, set: &str, kid: &str) -> Result<JsonWebKeySet> {
        check_path_id("set", set)?;
        check_path_id("kid", kid)?;
        let c = self.admin("jwk.get_key")?;
        let path = format!("admin/keys/{}/{}", crate::ids::seg(set), crate::ids::seg(kid));
        let r = c.send(Call::get(&path)).await?;
        set_from(c.decode(&r)?)
    }

    /// Replace one key (a JWK with `kid`, `kty`, `alg`, `use`).
    pub async fn update_key(&self, set: &str, kid: &str, key: Value) -> Result<Value> {
        check_path_id("set", set)?;
        check_path_id("kid", kid)?;
        for f in ["kty", "alg", "use"] {
            if key.get(f).and_then(Value::as_str).is_none() {
                return Err(Error::invalid_field(format!("key.{f}"), "is required"));
            }
        }
        if key.get("kid").and_then(Value::as_str) != Some(kid) {
            return Err(Error::invalid_field("key.kid", "must equal the kid in the path"));
        }
        let c = self.admin("jwk.update_key")?;
        let path = format!("admin/keys/{}/{}", crate::ids::seg(set), crate::ids::seg(kid));
        let res = c.send(Call::new(http::Method::PUT, &path).json(key)).await;
        self.t.emit(
            AuditEvent::mutation(names::JWK_KEY_UPDATE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(kid)
                .attr("set", set),
        );
        c.decode(&res?)
    }

    pub async fn delete_key(&self, set: &str, kid: &str) -> Result<()> {
        check_path_id("set", set)?;
        check_path_id("kid", kid)?;
        let c = self.admin("jwk.delete_key")?;
        let path = format!("admin/keys/{}/{}", crate::ids::seg(set), crate::ids::seg(kid));
        let res = c.send(Call::delete(&path)).await;
        self.t.emit(
            AuditEvent::mutation(names::JWK_KEY_DELETE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(kid)
                .attr("set", set),
        );
        res.map(|_| ())
    }
}
