//! Every mutation is audited (docs/audit.md): one walk through all of them against the real
//! stack (Kratos, Hydra, Keto, the fake console), checking names, results, targets, request ids,
//! and that no secret or trait value reaches the sink.

mod common;

use ory_iam::dto::{
    CreateApiKey, CreateIdentity, CreateJwkSet, CreateProject, DeleteMatching, EventStreamInput, InitiateFlow,
    JsonWebKeySet, ListCourierMessages, ListSessions, PermissionTuple, RecoveryOptions, SubmitFlow, TrustIssuer,
};
use ory_iam::{AuditEvent, Iam, IamConfig, Secret};
use serde_json::{json, Value};
use std::sync::Arc;

fn with_sink(mut cfg: Value, patterns: Value) -> (Iam, Arc<common::Collect>) {
    cfg["audit"] = json!({"sink": "callback", "redact_patterns": patterns});
    let sink = Arc::new(common::Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    (iam, sink)
}

fn take(sink: &common::Collect) -> Vec<AuditEvent> {
    std::mem::take(&mut *sink.0.lock().unwrap())
}

/// The one event the call emitted: its name and result, a request id, the tenant.
#[track_caller]
fn one(sink: &common::Collect, name: &str, result: &str) -> AuditEvent {
    let got = take(sink);
    let names: Vec<(&str, &str)> = got.iter().map(|e| (e.name.as_str(), e.result.as_str())).collect();
    assert_eq!(names, vec![(name, result)], "events of this call");
    let e = got.into_iter().next().unwrap();
    assert!(e.request_id.as_deref().is_some_and(|r| !r.is_empty()), "{name}: the Ory call's request id");
    e
}

#[tokio::test]
async fn every_mutation_is_audited_once_without_secrets() {
    let email = common::unique_email("audit");
    let (iam, sink) = with_sink(common::iam_config(), json!(["never-matches-[0-9]{40}"]));
    let mut seen: Vec<AuditEvent> = Vec::new();
    let mut secrets: Vec<String> = vec![email.clone()];

    // Identities.
    let ids = iam.identity();
    let created = ids
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": email, "name": {"first": "Grace"}}),
            ..Default::default()
        })
        .await
        .unwrap();
    let e = one(&sink, "identity.create", "success");
    assert_eq!((e.target_id.as_deref(), e.tenant.as_str()), (Some(created.id.as_str()), "customer"));
    seen.push(e);
    ids.update_traits(&created.id, json!({"email": email, "name": {"first": "Hopper"}})).await.unwrap();
    seen.push(one(&sink, "identity.update", "success"));
    ids.patch(&created.id, json!([{"op": "replace", "path": "/metadata_public", "value": {"plan": "pro"}}]))
        .await
        .unwrap();
    let e = one(&sink, "identity.patch", "success");
    assert_eq!(e.target_id.as_deref(), Some(created.id.as_str()));
    seen.push(e);
    // A schema violation reaches Kratos and fails: audited as a failure with the error code.
    ids.create(CreateIdentity { schema_id: "customer".into(), traits: json!({"email": 42}), ..Default::default() })
        .await
        .unwrap_err();
    let e = one(&sink, "identity.create", "failure");
    assert_eq!(e.attributes["error"], json!("validation"));
    seen.push(e);
    // No OIDC link to delete: whatever Kratos answers, the attempt is audited.
    ids.delete_credential(&created.id, "oidc", None).await.ok();
    let e = take(&sink);
    assert_eq!(e.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["identity.credential.delete"]);
    seen.extend(e);

    // Sessions and logout.
    let (who, token) = common::native_session(&iam, "customer").await;
    secrets.push(token.expose().to_owned());
    take(&sink);
    let sessions = ids.list_sessions(&who, ListSessions::default()).await.unwrap();
    let sid = sessions.items[0].id.clone();
    ids.extend_session(&sid).await.unwrap();
    let e = one(&sink, "session.extend", "success");
    assert_eq!(e.target_id.as_deref(), Some(sid.as_str()));
    seen.push(e);
    iam.session().revoke(&sid).await.unwrap();
    seen.push(one(&sink, "authz.session.revoke", "success"));
    ids.revoke_sessions(&who).await.unwrap();
    let e = one(&sink, "authz.session.revoke_all", "success");
    assert_eq!(e.target_id.as_deref(), Some(who.as_str()));
    seen.push(e);
    let rec = ids.create_recovery_link(&who, RecoveryOptions::default()).await.unwrap();
    secrets.push(rec.link.expose().to_owned());
    let rec = ids.create_recovery_code(&who, RecoveryOptions::default()).await.unwrap();
    secrets.push(rec.link.expose().to_owned());
    secrets.push(rec.code.unwrap().expose().to_owned());
    let e = take(&sink);
    assert_eq!(
        e.iter().map(|e| (e.name.as_str(), e.result.as_str(), e.attributes["method"].clone())).collect::<Vec<_>>(),
        [
            ("identity.recovery.create", "success", json!("link")),
            ("identity.recovery.create", "success", json!("code"))
        ]
    );
    seen.extend(e);
    let (_, token2) = common::native_session(&iam, "customer").await;
    secrets.push(token2.expose().to_owned());
    take(&sink);
    iam.flow().perform_native_logout(&token2).await.unwrap();
    let e = one(&sink, "session.logout", "success");
    assert_eq!(e.attributes["via"], json!("native"));
    seen.push(e);
    let fake = Secret::new("ory_lo_not-a-real-logout-token".to_owned());
    iam.flow().submit_browser_logout(&fake, None).await.unwrap_err();
    let e = take(&sink);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].name.as_str(), e[0].attributes["via"].clone()), ("session.logout", json!("browser")));
    assert_ne!(e[0].result, "success");
    seen.extend(e);

    // Courier: reading a body is audited, reading without is not.
    let flow = iam.flow().initiate_recovery(InitiateFlow::default()).await.unwrap();
    iam.flow()
        .submit_recovery(&flow.id, json!({"method": "code", "email": email}), SubmitFlow::default())
        .await
        .unwrap();
    let msgs =
        iam.courier().list(ListCourierMessages { recipient: Some(email.clone()), ..Default::default() }).await.unwrap();
    let mid = msgs.items[0].id.clone();
    iam.courier().get(&mid, false).await.unwrap();
    assert!(take(&sink).is_empty(), "no body, no event");
    let m = iam.courier().get(&mid, true).await.unwrap();
    secrets.push(m.body.unwrap().expose().to_owned());
    let e = one(&sink, "courier.message.body_read", "success");
    assert_eq!(e.target_id.as_deref(), Some(mid.as_str()));
    seen.push(e);
    ids.delete(&created.id).await.unwrap();
    seen.push(one(&sink, "identity.delete", "success"));
    ids.delete(&who).await.unwrap();
    take(&sink);

    // Hydra: key sets, trusted issuers, clients.
    let jwk = iam.jwk();
    let set = format!("audit-{}", uuid::Uuid::new_v4().simple());
    let pair = jwk
        .create_set(&set, CreateJwkSet { alg: "ES256".into(), use_: "sig".into(), kid: Some("k1".into()) })
        .await
        .unwrap();
    let e = one(&sink, "jwk.set.create", "success");
    assert_eq!(e.target_id.as_deref(), Some(set.as_str()));
    seen.push(e);
    let private = pair.keys[0].clone();
    secrets.push(private["d"].as_str().unwrap().to_owned());
    jwk.update_key(&set, "k1", private.clone()).await.unwrap();
    seen.push(one(&sink, "jwk.key.update", "success"));
    jwk.update_set(&set, JsonWebKeySet { keys: vec![private.clone()] }).await.unwrap();
    seen.push(one(&sink, "jwk.set.update", "success"));
    let mut public = private.clone();
    public.as_object_mut().unwrap().remove("d");
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let trusted = iam
        .trusted_issuer()
        .trust(TrustIssuer {
            issuer: format!("https://{set}.example.test"),
            subject: Some("svc".into()),
            allow_any_subject: None,
            scope: vec!["read".into()],
            expires_at: expires,
            public_key: public,
        })
        .await
        .unwrap();
    let e = one(&sink, "trusted_issuer.trust", "success");
    assert_eq!(e.target_id.as_deref(), Some(trusted.id.as_str()));
    seen.push(e);
    iam.trusted_issuer().delete(&trusted.id).await.unwrap();
    seen.push(one(&sink, "trusted_issuer.delete", "success"));
    jwk.delete_key(&set, "k1").await.unwrap();
    seen.push(one(&sink, "jwk.key.delete", "success"));
    jwk.delete_set(&set).await.unwrap();
    seen.push(one(&sink, "jwk.set.delete", "success"));

    let clients = iam.oauth2_client();
    let client = clients.create(json!({"grant_types": ["client_credentials"], "scope": "read"})).await.unwrap();
    secrets.push(client.client_secret.as_ref().unwrap().expose().to_owned());
    let e = one(&sink, "oauth2_client.create", "success");
    assert_eq!(e.target_id.as_deref(), Some(client.client_id.as_str()));
    seen.push(e);
    clients
        .set(&client.client_id, json!({"grant_types": ["client_credentials"], "scope": "read write"}))
        .await
        .unwrap();
    seen.push(one(&sink, "oauth2_client.set", "success"));
    let rotated = clients
        .patch(
            &client.client_id,
            json!([{"op": "replace", "path": "/client_secret", "value": "a-new-secret-0123456789"}]),
        )
        .await
        .unwrap();
    secrets.push("a-new-secret-0123456789".into());
    drop(rotated);
    seen.push(one(&sink, "oauth2_client.patch", "success"));
    let lifespans = ory_iam::dto::ClientLifespans {
        client_credentials_grant_access_token_lifespan: Some("1h".into()),
        ..Default::default()
    };
    clients.set_lifespans(&client.client_id, lifespans).await.unwrap();
    seen.push(one(&sink, "oauth2_client.lifespans.set", "success"));
    iam.token().delete_access_tokens(&client.client_id).await.unwrap();
    seen.push(one(&sink, "oauth2_client.access_tokens.delete", "success"));
    clients.delete(&client.client_id).await.unwrap();
    seen.push(one(&sink, "oauth2_client.delete", "success"));
    let dynamic = clients.register(json!({"client_name": "audit-dyn"})).await.unwrap();
    let rat = dynamic.registration_access_token.clone().unwrap();
    secrets.push(rat.expose().to_owned());
    secrets.push(dynamic.client_secret.as_ref().unwrap().expose().to_owned());
    seen.push(one(&sink, "oauth2_client.register", "success"));
    let updated =
        clients.set_registered(&dynamic.client_id, &rat, json!({"client_name": "audit-dyn-2"})).await.unwrap();
    let rat = updated.registration_access_token.unwrap();
    secrets.push(rat.expose().to_owned());
    seen.push(one(&sink, "oauth2_client.registered.set", "success"));
    clients.delete_registered(&dynamic.client_id, &rat).await.unwrap();
    seen.push(one(&sink, "oauth2_client.registered.delete", "success"));
    let consent = iam.consent();
    let who = format!("audit-{set}");
    let revoke_all = ory_iam::dto::RevokeConsentSessions { subject: who.clone(), client: None, all: Some(true) };
    consent.revoke_consent_sessions(revoke_all).await.unwrap();
    seen.push(one(&sink, "oauth2.consent.revoke", "success"));
    consent.revoke_login_sessions(ory_iam::dto::RevokeLoginSessions { subject: Some(who), sid: None }).await.unwrap();
    seen.push(one(&sink, "oauth2.login_session.revoke", "success"));

    // Keto.
    let tuple = PermissionTuple::new("documents", &format!("doc-{set}"), "viewer", "user-audit");
    iam.permission().grant(&tuple).await.unwrap();
    seen.push(one(&sink, "authz.permission.grant", "success"));
    iam.permission().revoke(&tuple).await.unwrap();
    seen.push(one(&sink, "authz.permission.revoke", "success"));
    let q = DeleteMatching { namespace: "documents".into(), object: Some(format!("doc-{set}")), ..Default::default() };
    iam.permission().delete_matching(&q).await.unwrap();
    seen.push(one(&sink, "authz.permission.delete_matching", "success"));

    // Ory Network (the fake console): projects, workspaces, keys, event streams.
    let (cloud, csink) = with_sink(common::cloud_config(), json!([]));
    let ws = cloud.workspace_admin();
    let w = ws.create("audit-team").await.unwrap();
    let e = one(&csink, "workspace.create", "success");
    assert_eq!((e.target_id.as_deref(), e.tenant.as_str()), (Some(w.id.as_str()), "cloud"));
    seen.push(e);
    ws.update(&w.id, "audit-team-2").await.unwrap();
    seen.push(one(&csink, "workspace.update", "success"));
    let projects = cloud.project_admin();
    let p = projects
        .create(CreateProject {
            name: "Audit".into(),
            workspace_id: Some(w.id.clone()),
            environment: None,
            home_region: None,
        })
        .await
        .unwrap();
    seen.push(one(&csink, "project.create", "success"));
    projects
        .set(
            &p.id,
            json!({"name": "Audit 2", "services": {}, "cors_admin": {}, "cors_public": {}, "organizations": []}),
        )
        .await
        .unwrap();
    seen.push(one(&csink, "project.set", "success"));
    let key = projects.create_api_key(&p.id, CreateApiKey { name: "ci".into(), expires_at: None }).await.unwrap();
    secrets.push(key.value.as_ref().unwrap().expose().to_owned());
    let e = one(&csink, "project.api_key.create", "success");
    assert_eq!((e.target_id.as_deref(), &e.attributes["project_id"]), (Some(key.id.as_str()), &json!(p.id)));
    seen.push(e);
    projects.delete_api_key(&p.id, &key.id).await.unwrap();
    seen.push(one(&csink, "project.api_key.delete", "success"));
    let wkey = ws.create_api_key(&w.id, CreateApiKey { name: "deploy".into(), expires_at: None }).await.unwrap();
    secrets.push(wkey.value.as_ref().unwrap().expose().to_owned());
    seen.push(one(&csink, "workspace.api_key.create", "success"));
    ws.delete_api_key(&w.id, &wkey.id).await.unwrap();
    seen.push(one(&csink, "workspace.api_key.delete", "success"));
    let stream_input = EventStreamInput {
        stream_type: Some("https".into()),
        https_endpoint: Some("https://hooks.example.test/ory".into()),
        ..Default::default()
    };
    let s = cloud.events().create(&p.id, stream_input.clone()).await.unwrap();
    seen.push(one(&csink, "event_stream.create", "success"));
    cloud.events().set(&p.id, &s.id, stream_input).await.unwrap();
    seen.push(one(&csink, "event_stream.set", "success"));
    cloud.events().delete(&p.id, &s.id).await.unwrap();
    seen.push(one(&csink, "event_stream.delete", "success"));
    // The console refusing the workspace key: `denied`.
    common::console_fault(403, 1, None).await;
    ws.create("audit-denied").await.unwrap_err();
    let e = one(&csink, "workspace.create", "denied");
    assert_eq!(e.attributes["error"], json!("forbidden"));
    seen.push(e);
    projects.purge(&p.id).await.unwrap();
    seen.push(one(&csink, "project.purge", "success"));

    // The whole catalogue of mutations was walked.
    let mut names: Vec<&str> = seen.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 44, "{names:?}");
    let all = serde_json::to_string(&seen).unwrap();
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a secret or trait value reached the audit sink");
    }
    assert!(!all.contains("Grace") && !all.contains("Hopper"), "no trait value");
}

#[tokio::test]
async fn user_patterns_redact_what_the_built_in_rules_do_not_know() {
    let (iam, sink) = with_sink(common::iam_config(), json!(["^doc-secret-[a-z0-9]+$", "tenant-internal"]));
    let object = format!("doc-secret-{}", uuid::Uuid::new_v4().simple());
    let tuple = PermissionTuple::new("documents", &object, "viewer", "user-audit");
    iam.permission().grant(&tuple).await.unwrap();
    iam.permission().revoke(&tuple).await.unwrap();
    let events = take(&sink);
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e.target_id.as_deref(), Some("***"), "the object matched a user pattern");
        assert_eq!(e.attributes["namespace"], json!("documents"), "other values are left alone");
    }

    // On a closed Iam a mutation still leaves its (failed) trace.
    iam.close().await;
    iam.identity()
        .create(CreateIdentity {
            schema_id: "customer".into(),
            traits: json!({"email": "x@example.com"}),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let e = take(&sink);
    assert_eq!(
        e.iter().map(|e| (e.name.as_str(), e.result.as_str())).collect::<Vec<_>>(),
        [("identity.create", "failure")]
    );

    // A pattern that does not compile is a configuration error naming its index, not the pattern.
    let mut cfg = common::iam_config();
    cfg["audit"] = json!({"redact_patterns": ["ok", "secret-(unclosed"]});
    let err = Iam::from_value(&cfg).unwrap_err();
    assert_eq!(err.kind(), ory_iam::ErrorKind::Configuration);
    assert_eq!(err.fields()[0].path, "audit.redact_patterns[1]");
    assert!(!err.to_string().contains("secret-(unclosed"));
}

/// A framework adapter's role refusal reaches the tenant's sink as `authz.role.deny`, redacted
/// like every event; unknown tenants are refused.
#[test]
fn role_denial_is_audited_through_the_tenant_sink() {
    let (iam, sink) = with_sink(common::iam_config(), json!(["secret-[0-9]+"]));
    iam.audit_role_denial(
        Some("admin"),
        Some("identity-1"),
        &["admin".into(), "secret-42".into()],
        Some("GET /staff"),
        Some("rid-1"),
    )
    .unwrap();
    let got = take(&sink);
    assert_eq!(got.len(), 1);
    let e = &got[0];
    assert_eq!((e.name.as_str(), e.result.as_str(), e.tenant.as_str()), ("authz.role.deny", "denied", "admin"));
    assert_eq!((e.actor.as_deref(), e.request_id.as_deref()), (Some("identity-1"), Some("rid-1")));
    assert_eq!(e.attributes["route"], json!("GET /staff"));
    assert_eq!(e.attributes["roles"][0], json!("admin"));
    assert!(!serde_json::to_string(e).unwrap().contains("secret-42"), "user patterns redact it");
    // The default tenant when none is named; empty actor and request id are left out.
    iam.audit_role_denial(None, Some(""), &["x".into()], None, None).unwrap();
    let e = take(&sink).pop().unwrap();
    assert_eq!((e.tenant.as_str(), e.actor, e.request_id), (iam.default_tenant(), None, None));
    assert!(e.attributes.get("route").is_none());
    let err = iam.audit_role_denial(Some("nope"), None, &[], None, None).unwrap_err();
    assert_eq!(err.kind(), ory_iam::ErrorKind::Configuration);
    assert!(take(&sink).is_empty());
}
