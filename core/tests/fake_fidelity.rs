//! `FakeOry` answers as the pinned servers (Kratos v1.3.1, Keto v0.14.0, Hydra v2.3.0) do where
//! a test could otherwise pass on the fake and fail in production: identity-schema validation,
//! Keto's declared namespaces and its row quirks, Hydra's client rules, token ownership on
//! revocation, page tokens, and which credential a session cookie is. Each expected answer was
//! taken from the real servers of tests/stack (same requests, by curl). No servers are involved.

use futures::StreamExt;
use ory_iam::dto::{
    CheckOptions, CreateIdentity, ExpandQuery, InitiateFlow, ListIdentities, ListOAuth2Clients, PermissionQuery,
    PermissionTuple, RevokeOptions, Subject,
};
use ory_iam::testing::{FakeClient, FakeOptions, FakeOry, DEFAULT_CLIENT_ID};
use ory_iam::{ErrorKind, Secret};
use serde_json::json;

fn identity(schema_id: &str, traits: serde_json::Value) -> CreateIdentity {
    CreateIdentity { schema_id: schema_id.into(), traits, ..Default::default() }
}

/// `(path, pointer, reason)` of a validation error's fields.
fn fields(e: &ory_iam::Error) -> Vec<(String, String, String)> {
    e.fields().iter().map(|f| (f.path.clone(), f.pointer.clone().unwrap_or_default(), f.reason.clone())).collect()
}

fn f(path: &str, pointer: &str, reason: &str) -> (String, String, String) {
    (path.into(), pointer.into(), reason.into())
}

#[tokio::test]
async fn traits_are_validated_against_the_identity_schema_like_kratos() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let ids = fake.iam().identity();

    // Kratos: 400 `Unable to find JSON Schema ID: nope`, no fields.
    let e = ids.create(identity("nope", json!({"email": "a@example.com"}))).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, Some(400)));
    assert!(e.fields().is_empty());

    let e = ids.create(identity("customer", json!({"email": "not-an-email"}))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(fields(&e), [f("traits.email", "/traits/email", "\"***\" is not valid \"email\"")]);

    let e = ids.create(identity("customer", json!({"email": "x1@example.com", "zzz": 1}))).await.unwrap_err();
    assert_eq!(fields(&e), [f("traits.zzz", "/traits/zzz", "is not allowed")]);

    let e = ids.create(identity("customer", json!({}))).await.unwrap_err();
    assert_eq!(fields(&e), [f("traits.email", "/traits/email", "is required")]);

    let e = ids.create(identity("customer", json!({"email": 5}))).await.unwrap_err();
    assert_eq!(fields(&e), [f("traits.email", "/traits/email", "expected string, but got number")]);

    // Several at once, in Kratos's order: required, each property's own, then extra properties.
    let e = ids
        .create(identity("customer", json!({"name": {"first": 3, "x": 1}, "roles": "a", "a": 1})))
        .await
        .unwrap_err();
    assert_eq!(
        fields(&e),
        [
            f("traits.email", "/traits/email", "is required"),
            f("traits.name.first", "/traits/name/first", "expected string, but got number"),
            f("traits.name.x", "/traits/name/x", "is not allowed"),
            f("traits.roles", "/traits/roles", "expected array, but got string"),
            f("traits.a", "/traits/a", "is not allowed"),
        ]
    );
    assert!(!format!("{e:?}").contains("not-an-email"));

    // A schema id is that of a tenant's Kratos (the default schemas: the tenant name and `default`).
    let ada = ids.create(identity("customer", json!({"email": "ada@example.com"}))).await.unwrap();
    ids.create(identity("default", json!({"email": "grace@example.com"}))).await.unwrap();

    // Updates (JSON Patch) are validated too.
    let e = ids.update_traits(&ada.id, json!({"email": "bad"})).await.unwrap_err();
    assert_eq!(fields(&e), [f("traits.email", "/traits/email", "\"***\" is not valid \"email\"")]);
    let e = ids.patch(&ada.id, json!([{"op": "add", "path": "/traits/q", "value": [1]}])).await.unwrap_err();
    assert_eq!(fields(&e), [f("traits.q", "/traits/q", "is not allowed")]);
    // Nothing was stored by the refused writes.
    let stored = ids.get_with_traits(&ada.id).await.unwrap();
    assert_eq!(stored.traits.unwrap(), json!({"email": "ada@example.com"}));
}

#[tokio::test]
async fn configured_identity_schemas_replace_the_default() {
    let staff = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": {
            "username": {"type": "string", "minLength": 3},
            "email": {"type": "string", "format": "email"}
        }, "required": ["username"], "additionalProperties": false}}
    });
    let fake = FakeOry::with_options(FakeOptions {
        tenants: vec!["acme".into()],
        identity_schemas: vec![("staff".into(), staff)],
        ..Default::default()
    })
    .unwrap();
    let ids = fake.iam().identity();
    let ok = ids.create(identity("staff", json!({"username": "ada"}))).await.unwrap();
    assert_eq!(ok.schema_id, "staff");
    // The default schemas are gone once schemas are configured.
    let e = ids.create(identity("acme", json!({"username": "ada"}))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    let e = ids.create(identity("staff", json!({"username": "x"}))).await.unwrap_err();
    assert_eq!(fields(&e), [f("traits.username", "/traits/username", "length must be >= 3, but got 1")]);

    // A schema that is not a JSON Schema, or a default id that names none, is a configuration error.
    let bad = FakeOptions {
        tenants: vec!["acme".into()],
        identity_schemas: vec![("x".into(), json!({"type": 5}))],
        ..Default::default()
    };
    assert_eq!(FakeOry::with_options(bad).unwrap_err().kind(), ErrorKind::Validation);
    let bad =
        FakeOptions { tenants: vec!["acme".into()], default_schema_id: Some("nope".into()), ..Default::default() };
    assert_eq!(FakeOry::with_options(bad).unwrap_err().kind(), ErrorKind::Validation);
}

#[tokio::test]
async fn undeclared_keto_namespaces_are_not_found_and_never_allowed() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let perms = fake.iam().permission();
    let t = PermissionTuple::new("nope", "o", "view", "ada");
    assert_eq!(perms.grant(&t).await.unwrap_err().kind(), ErrorKind::NotFound);
    let q = PermissionQuery { namespace: "nope".into(), ..Default::default() };
    assert_eq!(perms.list(q).await.unwrap_err().kind(), ErrorKind::NotFound);
    let x = ExpandQuery { namespace: "nope".into(), object: "o".into(), relation: "view".into(), max_depth: None };
    assert_eq!(perms.expand(x).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(!perms.check(&t, CheckOptions::default()).await.unwrap());
    // A subject set in an undeclared namespace is refused too.
    let mut via_set = PermissionTuple::new("documents", "o", "view", "ada");
    via_set.subject = Subject::Set { namespace: "nope".into(), object: "g".into(), relation: "member".into() };
    assert_eq!(perms.grant(&via_set).await.unwrap_err().kind(), ErrorKind::NotFound);

    // Declared namespaces, in Keto's config shape.
    let opts = FakeOptions::from_value(&json!({
        "tenants": ["customer"],
        "keto_namespaces": [{"id": 0, "name": "projects"}, "teams"],
    }))
    .unwrap();
    let fake = FakeOry::with_options(opts).unwrap();
    let perms = fake.iam().permission();
    let p = PermissionTuple::new("projects", "p1", "edit", "ada");
    perms.grant(&p).await.unwrap();
    assert!(perms.check(&p, CheckOptions::default()).await.unwrap());
    let d = PermissionTuple::new("documents", "o", "view", "ada");
    assert_eq!(perms.grant(&d).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn keto_rows_expand_and_page_tokens_as_keto_v0_14() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let perms = fake.iam().permission();
    // A relation without tuples expands to a leaf without a tuple.
    let x =
        ExpandQuery { namespace: "documents".into(), object: "none".into(), relation: "view".into(), max_depth: None };
    let tree = perms.expand(x).await.unwrap();
    assert_eq!((tree.kind.as_str(), tree.tuple.is_none(), tree.children.len()), ("leaf", true, 0));

    // A repeated grant is another row: listed twice (and expanded twice).
    let t = PermissionTuple::new("documents", "dup", "view", "ada");
    perms.grant(&t).await.unwrap();
    perms.grant(&t).await.unwrap();
    let q = PermissionQuery { namespace: "documents".into(), object: Some("dup".into()), ..Default::default() };
    assert_eq!(perms.list(q.clone()).await.unwrap().items.len(), 2);
    let x =
        ExpandQuery { namespace: "documents".into(), object: "dup".into(), relation: "view".into(), max_depth: None };
    assert_eq!(perms.expand(x).await.unwrap().children.len(), 2);
    // Paging walks every row once.
    let paged = PermissionQuery { page_size: Some(1), ..q.clone() };
    let all: Vec<_> = perms.list_all(paged).collect().await;
    assert_eq!(all.len(), 2);
    // Keto answers a page token it did not make with a 500.
    let forged = PermissionQuery { page_token: Some("garbage".into()), ..q };
    assert_eq!(perms.list(forged).await.unwrap_err().status(), Some(500));

    // `max_depth` 1 does not expand the root (Keto's leaf), 2 expands it once.
    let group = PermissionTuple::new("groups", "g", "member", "bob");
    perms.grant(&group).await.unwrap();
    let mut nested = PermissionTuple::new("documents", "nested", "view", "x");
    nested.subject = Subject::Set { namespace: "groups".into(), object: "g".into(), relation: "member".into() };
    perms.grant(&nested).await.unwrap();
    let x = |d| ExpandQuery {
        namespace: "documents".into(),
        object: "nested".into(),
        relation: "view".into(),
        max_depth: Some(d),
    };
    let one = perms.expand(x(1)).await.unwrap();
    assert_eq!((one.kind.as_str(), one.children.len()), ("leaf", 0));
    let two = perms.expand(x(2)).await.unwrap();
    assert_eq!((two.kind.as_str(), two.children.len(), two.children[0].kind.as_str()), ("union", 1, "leaf"));
    let three = perms.expand(x(3)).await.unwrap();
    assert_eq!(three.children[0].kind, "union");
}

#[tokio::test]
async fn kratos_page_tokens_are_checked_like_kratos() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let ids = fake.iam().identity();
    for i in 0..3 {
        ids.create(identity("customer", json!({"email": format!("p{i}@example.com")}))).await.unwrap();
    }
    let forged = ListIdentities { page_token: Some("garbage".into()), ..Default::default() };
    let e = ids.list(forged).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, Some(400)));
    assert_eq!(ids.list_all(Some(1)).collect::<Vec<_>>().await.len(), 3);
}

#[tokio::test]
async fn hydra_client_rules_scopes_and_token_ownership() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let clients = fake.iam().oauth2_client();
    for bad in [
        json!({"redirect_uris": ["not a uri"]}),
        json!({"redirect_uris": ["https://app.example.com/cb#frag"]}),
        json!({"client_secret": "short"}),
    ] {
        let e = clients.create(bad).await.unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, Some(400)));
    }
    clients.create(json!({"client_id": "rel", "redirect_uris": ["/relative", "https://a.example/cb"]})).await.unwrap();
    let c = clients.get("rel").await.unwrap();
    let e = clients.set("rel", json!({"client_id": "rel", "client_secret": "12345"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(c.client_id, "rel");

    // Hydra ignores a page token it did not make: the first page.
    let forged = ListOAuth2Clients { page_token: Some("garbage".into()), ..Default::default() };
    let first = clients.list(forged).await.unwrap();
    assert_eq!(first.items.len(), 2); // the fake's own client and `rel`

    // The tenants' client registered for some scopes: others are `invalid_scope`.
    let fake = FakeOry::with_options(FakeOptions {
        tenants: vec!["customer".into()],
        client_scope: Some(vec!["invoices.read".into()]),
        ..Default::default()
    })
    .unwrap();
    let tokens = fake.iam().token();
    tokens.client_credentials(Some("invoices.read")).await.unwrap();
    let e = tokens.client_credentials(Some("invoices.read admin")).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");

    // Revoking another client's token: 200, and the token stays active (RFC 7009, as Hydra).
    let secret = Secret::new("other-secret");
    let other = FakeClient { client_id: "other".into(), client_secret: Some(secret.clone()), scope: vec![] };
    fake.add_oauth2_client("customer", other).unwrap();
    let tok = fake.issue_token("customer", DEFAULT_CLIENT_ID, &["invoices.read"]).unwrap();
    let as_other = RevokeOptions { client_id: Some("other".into()), client_secret: Some(secret), ..Default::default() };
    tokens.revoke(&tok, as_other).await.unwrap();
    assert!(tokens.introspect(&tok).await.unwrap().active);
    tokens.revoke(&tok, RevokeOptions::default()).await.unwrap();
    assert!(!tokens.introspect(&tok).await.unwrap().active);
}

#[tokio::test]
async fn a_session_token_is_not_a_session_cookie() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let ada = iam.identity().create(identity("customer", json!({"email": "ada@example.com"}))).await.unwrap();
    let cred = fake.create_session("customer", &ada.id).unwrap();
    assert_eq!(iam.session().whoami(&cred.cookie_headers()).await.unwrap().identity.id, ada.id);
    assert_eq!(iam.session().whoami(&cred.bearer_headers()).await.unwrap().identity.id, ada.id);
    // Kratos: the token in the session cookie is not a session (401).
    let token_as_cookie = ory_iam::transport::header_map([(
        "cookie",
        format!("{}={}", ory_iam::testing::SESSION_COOKIE, cred.token.expose()),
    )]);
    assert!(iam.session().whoami_or_null(&token_as_cookie).await.unwrap().is_none());
    // And the cookie's value is not a session token.
    let cookie_as_token = ory_iam::transport::header_map([("x-session-token", cred.cookie.expose().to_owned())]);
    assert!(iam.session().whoami_or_null(&cookie_as_token).await.unwrap().is_none());
}

#[tokio::test]
async fn what_is_not_emulated_answers_501() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let e = fake
        .iam()
        .flow()
        .exchange_session_token(&Secret::new("init-code-0123456789"), &Secret::new("return-code-0123456789"))
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::UpstreamUnavailable, Some(501)));
}

/// The `name=value` pairs of `Set-Cookie` headers, as a browser would send them back.
fn cookie_header(set_cookie: &[Secret]) -> String {
    set_cookie
        .iter()
        .map(|c| c.expose().split(';').next().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn six_digits(body: &str) -> String {
    body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("a 6-digit code").to_owned()
}

// Kratos v1.3.1 (stack): a browser submit without the CSRF cookie and token is 403
// `security_csrf_violation`; with them, the session comes back as a cookie and no token.
#[tokio::test]
async fn browser_login_needs_the_csrf_cookie_and_answers_a_session_cookie() {
    use ory_iam::dto::{FlowResult, FlowType, SubmitFlow};
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let new = CreateIdentity {
        schema_id: "customer".into(),
        traits: json!({"email": "bro@example.com"}),
        credentials: Some(json!({"password": {"config": {"password": "a-Long-and-unique-passphrase-42"}}})),
        ..Default::default()
    };
    iam.identity().create(new).await.unwrap();
    let flow =
        iam.flow().initiate_login(InitiateFlow { kind: Some(FlowType::Browser), ..Default::default() }).await.unwrap();
    assert_eq!(flow.flow_type, FlowType::Browser);
    assert_eq!(flow.set_cookie.len(), 1);
    let body =
        json!({"method": "password", "identifier": "bro@example.com", "password": "a-Long-and-unique-passphrase-42"});
    let e = iam.flow().submit_login(&flow.id, body.clone(), SubmitFlow::default()).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Forbidden, Some(403)));
    let forged = SubmitFlow {
        cookie: Some(Secret::new(cookie_header(&flow.set_cookie))),
        csrf_token: Some("AAAA".into()),
        ..Default::default()
    };
    let e = iam.flow().submit_login(&flow.id, body.clone(), forged).await.unwrap_err();
    assert_eq!(e.status(), Some(403));
    let opts = SubmitFlow {
        cookie: Some(Secret::new(cookie_header(&flow.set_cookie))),
        csrf_token: flow.csrf_token.clone(),
        ..Default::default()
    };
    let FlowResult::Success(ok) = iam.flow().submit_login(&flow.id, body, opts).await.unwrap() else {
        panic!("the browser login did not succeed")
    };
    assert!(ok.session_token.is_none());
    let session_cookie = cookie_header(&ok.set_cookie);
    assert!(session_cookie.contains(ory_iam::testing::SESSION_COOKIE));
    let headers = ory_iam::transport::header_map([("cookie", session_cookie.clone())]);
    let me = iam.session().whoami(&headers).await.unwrap();
    assert_eq!(me.identity.traits.unwrap()["email"], "bro@example.com");

    // Browser logout: the token works only with the session's cookie, once.
    let cookie = Secret::new(session_cookie);
    let out = iam.flow().initiate_browser_logout(&cookie, None).await.unwrap();
    let e = iam.flow().submit_browser_logout(&out.logout_token, None).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    iam.flow().submit_browser_logout(&out.logout_token, Some(&cookie)).await.unwrap();
    assert!(iam.session().whoami_or_null(&headers).await.unwrap().is_none());
}

// Kratos v1.3.1 (stack, `use: code`): the code is queued in the courier; a wrong code is
// message 4060006 on the flow, the right one `passed_challenge` with a session token and a
// settings flow; an unknown address gets the same answer and no message.
#[tokio::test]
async fn recovery_by_code_read_from_the_courier() {
    use ory_iam::dto::{FlowResult, ListCourierMessages, SubmitFlow};
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    iam.identity().create(identity("customer", json!({"email": "rec@example.com"}))).await.unwrap();
    let flow = iam.flow().initiate_recovery(InitiateFlow::default()).await.unwrap();
    let sent = iam
        .flow()
        .submit_recovery(&flow.id, json!({"method": "code", "email": "rec@example.com"}), SubmitFlow::default())
        .await
        .unwrap();
    let FlowResult::Continue { flow: sent } = sent else { panic!("expected the flow back") };
    assert_eq!(sent.state.as_deref(), Some("sent_email"));
    let list = ListCourierMessages { recipient: Some("rec@example.com".into()), ..Default::default() };
    let page = iam.courier().list(list).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].template_type.as_deref(), Some("recovery_code_valid"));
    assert_eq!(page.items[0].status, "queued");
    let msg = iam.courier().get(&page.items[0].id, true).await.unwrap();
    let code = six_digits(msg.body.as_ref().unwrap().expose());

    let wrong = iam
        .flow()
        .submit_recovery(&flow.id, json!({"method": "code", "code": "000000"}), SubmitFlow::default())
        .await
        .unwrap();
    let FlowResult::Continue { flow: wrong } = wrong else { panic!("expected the flow back") };
    assert_eq!(flow_messages(&wrong).1, [4060006]);

    let done = iam
        .flow()
        .submit_recovery(&flow.id, json!({"method": "code", "code": code}), SubmitFlow::default())
        .await
        .unwrap();
    let FlowResult::Success(done) = done else { panic!("the code was refused") };
    let token = done.session_token.expect("a native recovery answers a session token");
    let me = iam
        .session()
        .whoami(&ory_iam::transport::header_map([("x-session-token", token.expose().to_owned())]))
        .await
        .unwrap();
    assert_eq!(me.identity.traits.unwrap()["email"], "rec@example.com");
    assert!(done.continue_with.iter().any(|c| c["action"] == "show_settings_ui"));

    // Nobody: same answer, nothing queued. A page token Kratos did not make is refused.
    let other = iam.flow().initiate_recovery(InitiateFlow::default()).await.unwrap();
    iam.flow()
        .submit_recovery(&other.id, json!({"method": "code", "email": "nobody@example.com"}), SubmitFlow::default())
        .await
        .unwrap();
    let none = ListCourierMessages { recipient: Some("nobody@example.com".into()), ..Default::default() };
    assert!(iam.courier().list(none).await.unwrap().items.is_empty());
    let bad = ListCourierMessages { page_token: Some("not-a-page-token".into()), ..Default::default() };
    assert_eq!(iam.courier().list(bad).await.unwrap_err().status(), Some(400));

    // The admin API's code works in the recovery flow its link names.
    let ada = iam.identity().create(identity("customer", json!({"email": "ada@example.com"}))).await.unwrap();
    let r = iam.identity().create_recovery_code(&ada.id, Default::default()).await.unwrap();
    let link = url::Url::parse(r.link.expose()).unwrap();
    let flow_id = link.query_pairs().find(|(k, _)| k == "flow").unwrap().1.into_owned();
    let code = r.code.unwrap();
    let res = iam
        .flow()
        .submit_recovery(&flow_id, json!({"method": "code", "code": code.expose()}), SubmitFlow::default())
        .await
        .unwrap();
    assert!(matches!(res, FlowResult::Success(_)));
}

/// `(node name, message id)` of a flow's node messages, and its form messages' ids.
fn flow_messages(f: &ory_iam::dto::Flow) -> (Vec<(String, u64)>, Vec<u64>) {
    let v = serde_json::to_value(f).unwrap();
    let mut nodes = Vec::new();
    for n in v["ui"]["nodes"].as_array().unwrap() {
        for m in n["messages"].as_array().unwrap() {
            nodes.push((n["attributes"]["name"].as_str().unwrap().to_owned(), m["id"].as_u64().unwrap()));
        }
    }
    let form =
        v["ui"]["messages"].as_array().map(|a| a.iter().filter_map(|m| m["id"].as_u64()).collect()).unwrap_or_default();
    (nodes, form)
}

#[tokio::test]
async fn native_registration_login_and_logout_with_a_password() {
    use ory_iam::dto::{FlowResult, SubmitFlow};
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let flows = iam.flow();
    const PASSWORD: &str = "Correct-Horse-Battery-9";
    let register = |traits: serde_json::Value, password: &str| json!({"method": "password", "password": password, "traits": traits});

    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let names: Vec<String> = serde_json::to_value(&flow).unwrap()["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["attributes"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "traits.email") && names.iter().any(|n| n == "password"));

    // Kratos's messages on the form: 4000001 bad email, 4000002 missing trait, 4000032 short password.
    let cases = [
        (register(json!({"email": "bad"}), PASSWORD), vec![("traits.email".to_owned(), 4000001)]),
        (register(json!({}), PASSWORD), vec![("traits.email".to_owned(), 4000002)]),
        (register(json!({"email": "s1@example.org"}), "short"), vec![("password".to_owned(), 4000032)]),
    ];
    for (body, want) in cases {
        let f = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
        match flows.submit_registration(&f.id, body, SubmitFlow::default()).await.unwrap() {
            FlowResult::Continue { flow: next } => assert_eq!(flow_messages(&next).0, want),
            _ => panic!("expected the flow back with messages"),
        }
    }
    let done = flows.submit_registration(
        &flow.id,
        register(json!({"email": "ada@example.org"}), PASSWORD),
        SubmitFlow::default(),
    );
    let FlowResult::Success(ok) = done.await.unwrap() else { panic!("registration should succeed") };
    let token = ok.session_token.clone().expect("a native registration returns a session token");
    let headers = ory_iam::transport::header_map([("x-session-token", token.expose().to_owned())]);
    let me = iam.session().whoami(&headers).await.unwrap();
    assert_eq!(me.identity.traits.as_ref().unwrap()["email"], "ada@example.org");

    // The same identifier again: 4000007 on the form.
    let again = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let body = register(json!({"email": "ADA@example.org"}), PASSWORD);
    let FlowResult::Continue { flow: f } =
        flows.submit_registration(&again.id, body, SubmitFlow::default()).await.unwrap()
    else {
        panic!("expected the flow back")
    };
    assert_eq!(flow_messages(&f).1, [4000007]);

    // Login: a wrong password is 4000006; the right one a new session.
    let login = |password: &str| json!({"method": "password", "identifier": "ada@example.org", "password": password});
    let f = flows.initiate_login(InitiateFlow::default()).await.unwrap();
    let FlowResult::Continue { flow: back } =
        flows.submit_login(&f.id, login("wrong-password"), SubmitFlow::default()).await.unwrap()
    else {
        panic!("expected the flow back")
    };
    assert_eq!(flow_messages(&back).1, [4000006]);
    let FlowResult::Success(s) = flows.submit_login(&f.id, login(PASSWORD), SubmitFlow::default()).await.unwrap()
    else {
        panic!("login should succeed")
    };
    let second = s.session_token.unwrap();
    assert_ne!(second.expose(), token.expose());
    // An identity made by the admin API with a password can log in too.
    let mut grace = identity("customer", json!({"email": "grace@example.org"}));
    grace.credentials = Some(json!({"password": {"config": {"password": PASSWORD}}}));
    iam.identity().create(grace).await.unwrap();
    let f = flows.initiate_login(InitiateFlow::default()).await.unwrap();
    let body = json!({"method": "password", "identifier": "grace@example.org", "password": PASSWORD});
    assert!(matches!(flows.submit_login(&f.id, body, SubmitFlow::default()).await.unwrap(), FlowResult::Success(_)));

    // Native logout ends the session.
    flows.perform_native_logout(&second).await.unwrap();
    let h2 = ory_iam::transport::header_map([("x-session-token", second.expose().to_owned())]);
    assert!(iam.session().whoami_or_null(&h2).await.unwrap().is_none());
}

#[tokio::test]
async fn jwk_sets_are_emulated_and_the_id_token_keys_published() {
    use ory_iam::dto::CreateJwkSet;
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let jwk = iam.jwk();
    let opts = |alg: &str, kid: &str| CreateJwkSet { alg: alg.into(), use_: "sig".into(), kid: Some(kid.into()) };

    // As a fresh Hydra: one RS256 signing key in the ID-token set, published without private
    // members.
    let fresh = iam.metadata().discover_jwks().await.unwrap();
    assert_eq!(fresh.keys.len(), 1);
    assert_eq!((fresh.keys[0]["kty"].as_str(), fresh.keys[0]["alg"].as_str()), (Some("RSA"), Some("RS256")));
    let made = jwk.create_set("hydra.openid.id-token", opts("ES256", "k1")).await.unwrap();
    let k1 = &made.keys[0];
    assert_eq!((k1["kty"].as_str(), k1["crv"].as_str(), k1["kid"].as_str()), (Some("EC"), Some("P-256"), Some("k1")));
    assert!(k1["d"].is_string(), "Hydra's admin API returns the private key");
    // The key is a real P-256 key (RustCrypto reads it back).
    assert!(p256::PublicKey::from_jwk_str(
        &json!({"kty": "EC", "crv": "P-256", "x": k1["x"], "y": k1["y"]}).to_string()
    )
    .is_ok());
    jwk.create_set("hydra.openid.id-token", opts("EdDSA", "k2")).await.unwrap();
    jwk.create_set("other", opts("ES384", "k3")).await.unwrap();
    // Newest first, like Hydra; a repeated kid is a conflict.
    let set = jwk.get_set("hydra.openid.id-token").await.unwrap();
    let kids: Vec<&str> = set.keys.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids, ["k2", "k1", "ory-iam-fake-id-token"]);
    assert_eq!(jwk.create_set("other", opts("ES256", "k3")).await.unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(jwk.create_set("other", opts("HS256", "k4")).await.unwrap_err().kind(), ErrorKind::Validation);
    let e = jwk.create_set("other", opts("RS256", "k5")).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::UpstreamUnavailable, Some(501)));

    // Only the ID-token set is published, without private members.
    let published = iam.metadata().discover_jwks().await.unwrap();
    let kids: Vec<&str> = published.keys.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids, ["k2", "k1", "ory-iam-fake-id-token"]);
    assert!(published.keys.iter().all(|k| k.get("d").is_none()));

    assert_eq!(jwk.get_key("hydra.openid.id-token", "k1").await.unwrap().keys.len(), 1);
    assert_eq!(jwk.get_key("hydra.openid.id-token", "nope").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(jwk.get_set("nope").await.unwrap_err().kind(), ErrorKind::NotFound);
    jwk.delete_key("hydra.openid.id-token", "k2").await.unwrap();
    jwk.delete_set("other").await.unwrap();
    assert_eq!(jwk.get_set("other").await.unwrap_err().kind(), ErrorKind::NotFound);
    let left = iam.metadata().discover_jwks().await.unwrap();
    assert_eq!(left.keys.len(), 2);
}

#[tokio::test]
async fn create_many_answers_per_identity_with_kratos_quirk() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let ids = fake.iam().identity();
    let out = ids
        .create_many(vec![
            identity("customer", json!({"email": "b1@example.org"})),
            identity("customer", json!({"email": "bad"})),
        ])
        .await
        .unwrap();
    assert!(out[0].identity_id.is_some() && out[0].error.is_none());
    assert_eq!(out[1].error.as_deref(), Some("validation"));
    // One conflict: Kratos v1.3.1 keeps none of the batch (the library reports the others unsaved).
    let out = ids
        .create_many(vec![
            identity("customer", json!({"email": "b2@example.org"})),
            identity("customer", json!({"email": "b1@example.org"})),
        ])
        .await
        .unwrap();
    assert_eq!(out[1].error.as_deref(), Some("conflict"));
    assert_eq!(out[0].error.as_deref(), Some("upstream_unavailable"));
    let listed = ids.list(ListIdentities::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn a_users_own_sessions_and_the_admin_session_list() {
    use ory_iam::dto::{ListMySessions, ListSessions};
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let sessions = iam.session();
    let ada = iam.identity().create(identity("customer", json!({"email": "ada@example.com"}))).await.unwrap();
    let grace = iam.identity().create(identity("customer", json!({"email": "grace@example.com"}))).await.unwrap();
    let me = fake.create_session("customer", &ada.id).unwrap();
    let other1 = fake.create_session("customer", &ada.id).unwrap();
    let other2 = fake.create_session("customer", &ada.id).unwrap();
    let graces = fake.create_session("customer", &grace.id).unwrap();

    // The caller's other sessions, newest first, paged.
    let mine = sessions.list_mine(&me.bearer_headers(), ListMySessions::default()).await.unwrap();
    let ids: Vec<&str> = mine.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [other2.session_id.as_str(), other1.session_id.as_str()]);
    let one = ListMySessions { page_size: Some(1), ..Default::default() };
    assert!(sessions.list_mine(&me.bearer_headers(), one).await.unwrap().next_page_token.is_some());

    // Another identity's session is not the caller's to revoke (nothing happens); the current one is refused.
    sessions.revoke_mine(&me.bearer_headers(), &graces.session_id).await.unwrap();
    assert!(sessions.whoami_or_null(&graces.bearer_headers()).await.unwrap().is_some());
    let e = sessions.revoke_mine(&me.bearer_headers(), &me.session_id).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Validation, Some(400)));
    sessions.revoke_mine(&me.bearer_headers(), &other1.session_id).await.unwrap();
    assert!(sessions.whoami_or_null(&other1.bearer_headers()).await.unwrap().is_none());
    // Kratos counts every other session, the one revoked above included.
    assert_eq!(sessions.revoke_my_other_sessions(&me.bearer_headers()).await.unwrap(), 2);
    assert!(sessions.whoami_or_null(&other2.bearer_headers()).await.unwrap().is_none());
    assert!(sessions.whoami_or_null(&me.bearer_headers()).await.unwrap().is_some());

    // Admin: every session, active filter, keyset page tokens (a forged one is 400).
    let all = sessions.list(ListSessions { page_size: Some(1000), ..Default::default() }).await.unwrap();
    assert_eq!(all.items.len(), 4);
    let active = sessions.list(ListSessions { active: Some(true), ..Default::default() }).await.unwrap();
    assert_eq!(active.items.len(), 2);
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page =
            sessions.list(ListSessions { page_size: Some(1), page_token: token, ..Default::default() }).await.unwrap();
        seen.extend(page.items.into_iter().map(|s| s.id));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);
    let forged = ListSessions { page_token: Some("garbage".into()), ..Default::default() };
    assert_eq!(sessions.list(forged).await.unwrap_err().status(), Some(400));
}

#[tokio::test]
async fn schemas_and_namespaces_are_served_from_the_configuration() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let ids: Vec<String> = iam.schema().list().await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["customer", "default"]);
    let s = iam.schema().get("customer").await.unwrap();
    assert_eq!(s.schema, serde_json::from_str::<serde_json::Value>(ory_iam::testing::DEFAULT_IDENTITY_SCHEMA).unwrap());
    assert_eq!(iam.schema().get("nope").await.unwrap_err().kind(), ErrorKind::NotFound);
    let names = iam.permission().namespaces().await.unwrap();
    let mut want: Vec<String> = ory_iam::testing::DEFAULT_KETO_NAMESPACES.iter().map(|n| n.to_string()).collect();
    want.sort();
    let mut got = names.clone();
    got.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn native_settings_change_traits_and_password() {
    use ory_iam::dto::{FlowResult, SubmitFlow};
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let flows = iam.flow();
    let ada = iam.identity().create(identity("customer", json!({"email": "ada@example.org"}))).await.unwrap();
    let cred = fake.create_session("customer", &ada.id).unwrap();
    let with_token = || InitiateFlow { session_token: Some(cred.token.clone()), ..Default::default() };
    let submit_opts = || SubmitFlow { session_token: Some(cred.token.clone()), ..Default::default() };

    // Without a session: Kratos's 401.
    assert_eq!(flows.initiate_settings(InitiateFlow::default()).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    let f = flows.initiate_settings(with_token()).await.unwrap();
    let bad = json!({"method": "profile", "traits": {"email": "bad"}});
    let FlowResult::Continue { flow: back } = flows.submit_settings(&f.id, bad, submit_opts()).await.unwrap() else {
        panic!("expected the flow back")
    };
    assert_eq!(flow_messages(&back).0, [("traits.email".to_owned(), 4000001)]);
    let good = json!({"method": "profile", "traits": {"email": "ada@example.org", "name": {"first": "Ada"}}});
    assert!(matches!(flows.submit_settings(&f.id, good, submit_opts()).await.unwrap(), FlowResult::Success(_)));
    let stored = iam.identity().get_with_traits(&ada.id).await.unwrap();
    assert_eq!(stored.traits.unwrap()["name"]["first"], "Ada");

    // A new password, then a login with it.
    let f = flows.initiate_settings(with_token()).await.unwrap();
    let pw = json!({"method": "password", "password": "Another-Good-Password-7"});
    assert!(matches!(flows.submit_settings(&f.id, pw, submit_opts()).await.unwrap(), FlowResult::Success(_)));
    let l = flows.initiate_login(InitiateFlow::default()).await.unwrap();
    let body = json!({"method": "password", "identifier": "ada@example.org", "password": "Another-Good-Password-7"});
    assert!(matches!(flows.submit_login(&l.id, body, SubmitFlow::default()).await.unwrap(), FlowResult::Success(_)));
}

/// An ES256 JWT signed with `key` (header `kid: k1`).
fn es256(key: &p256::ecdsa::SigningKey, claims: serde_json::Value) -> Secret {
    use base64::Engine;
    use p256::ecdsa::signature::Signer;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let input = format!("{}.{}", b64(br#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    Secret::new(format!("{input}.{}", b64(&sig.to_bytes())))
}

fn public_jwk(key: &p256::ecdsa::SigningKey) -> serde_json::Value {
    use base64::Engine;
    let point = key.verifying_key().to_encoded_point(false);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    json!({"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
           "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
}

/// Hydra v2.3.0 (fosite v0.49) on the JWT-bearer grant, as probed on the stack: a trusted
/// issuer's assertion gives a token for its subject and audience (`expires_in` the client's
/// `jwt_bearer` lifespan); a replayed `jti`, a foreign audience, an untrusted issuer, a scope
/// the issuer was not trusted with, and a client without the grant are refused.
#[tokio::test]
async fn jwt_bearer_grant_checks_the_assertion_like_hydra() {
    use ory_iam::dto::{ClientLifespans, JwtBearerGrant, TrustIssuer};
    let fake = FakeOry::new(&["customer"]).unwrap();
    let iam = fake.iam();
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let issuer = "https://issuer.example.test";
    let trusted = iam
        .trusted_issuer()
        .trust(TrustIssuer {
            issuer: issuer.into(),
            subject: Some("alice".into()),
            allow_any_subject: None,
            scope: vec!["read".into()],
            expires_at: "2099-01-01T00:00:00Z".into(),
            public_key: public_jwk(&key),
        })
        .await
        .unwrap();
    let client = iam
        .oauth2_client()
        .create(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "scope": "read write"}))
        .await
        .unwrap();
    iam.oauth2_client()
        .set_lifespans(
            &client.client_id,
            ClientLifespans { jwt_bearer_grant_access_token_lifespan: Some("2m".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let token_url = iam.token().discover().await.unwrap().token_endpoint;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |jti: &str, aud: &str, iss: &str| json!({"iss": iss, "sub": "alice", "aud": aud, "exp": now + 600, "iat": now, "jti": jti});
    let grant = |assertion: Secret, scope: Option<&str>, id: &str, secret: &Option<Secret>| JwtBearerGrant {
        assertion,
        scope: scope.map(str::to_owned),
        client_id: Some(id.to_owned()),
        client_secret: secret.clone(),
    };
    let (id, secret) = (client.client_id.as_str(), &client.client_secret);
    let ok = es256(&key, claims("j1", &token_url, issuer));
    let tokens = iam.token().jwt_bearer(grant(ok.clone(), Some("read"), id, secret)).await.unwrap();
    assert_eq!(tokens.expires_in, Some(120));
    let i = iam.token().introspect(&tokens.access_token).await.unwrap();
    assert!(i.active);
    assert_eq!(i.sub.as_deref(), Some("alice"));
    assert_eq!(i.aud, Some(vec![token_url.clone()]));

    for (assertion, scope) in [
        (ok, None),                                                                  // replayed jti
        (es256(&key, claims("j2", "https://elsewhere.example.test", issuer)), None), // foreign audience
        (es256(&key, claims("j3", &token_url, "https://untrusted.example.test")), None),
        (es256(&key, claims("j4", &token_url, issuer)), Some("write")), // not trusted for it
        (es256(&p256::ecdsa::SigningKey::random(&mut rand_core::OsRng), claims("j5", &token_url, issuer)), None),
    ] {
        let e = iam.token().jwt_bearer(grant(assertion, scope, id, secret)).await.unwrap_err();
        assert_eq!(e.status(), Some(400), "{e:?}");
    }
    let other = iam.oauth2_client().create(json!({"grant_types": ["client_credentials"]})).await.unwrap();
    let e = iam
        .token()
        .jwt_bearer(grant(es256(&key, claims("j6", &token_url, issuer)), None, &other.client_id, &other.client_secret))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));

    // Deleting the trust ends the grant (and takes the key out of the issuer's set).
    iam.trusted_issuer().delete(&trusted.id).await.unwrap();
    let e = iam.trusted_issuer().get(&trusted.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = iam.token().jwt_bearer(grant(es256(&key, claims("j7", &token_url, issuer)), None, id, secret)).await;
    assert_eq!(e.unwrap_err().status(), Some(400));
}

/// Dynamic registration as Hydra v2.3.0 with registration enabled: every update rotates the
/// registration access token (the old one is then `unauthorized`), an admin update revokes it;
/// `delete_access_tokens` ends the client's access tokens; discovery names the fake's URLs.
#[tokio::test]
async fn registration_tokens_rotate_and_access_tokens_can_be_deleted() {
    let fake = FakeOry::new(&["customer"]).unwrap();
    let clients = fake.iam().oauth2_client();
    let reg = clients
        .register(json!({"client_name": "dyn", "grant_types": ["client_credentials"], "scope": "read"}))
        .await
        .unwrap();
    let first = reg.registration_access_token.clone().unwrap();
    assert!(reg.registration_client_uri.as_deref().unwrap().ends_with(&format!("/oauth2/register/{}", reg.client_id)));
    assert_eq!(clients.get_registered(&reg.client_id, &first).await.unwrap().client_name.as_deref(), Some("dyn"));
    let e = clients.get_registered(&reg.client_id, &Secret::new("wrong".to_owned())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    let set = clients.set_registered(&reg.client_id, &first, json!({"client_name": "dyn2"})).await.unwrap();
    let second = set.registration_access_token.unwrap();
    assert_eq!(clients.get_registered(&reg.client_id, &first).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert!(clients.get_registered(&reg.client_id, &second).await.is_ok());
    clients
        .set(&reg.client_id, json!({"client_name": "dyn3", "grant_types": ["client_credentials"], "scope": "read"}))
        .await
        .unwrap();
    assert_eq!(clients.get_registered(&reg.client_id, &second).await.unwrap_err().kind(), ErrorKind::Unauthorized);

    let iam = fake.iam();
    let token = fake.issue_token("customer", &reg.client_id, &["read"]).unwrap();
    assert!(iam.token().introspect(&token).await.unwrap().active);
    iam.token().delete_access_tokens(&reg.client_id).await.unwrap();
    assert!(!iam.token().introspect(&token).await.unwrap().active);

    let d = iam.token().discover().await.unwrap();
    assert!(d.token_endpoint.starts_with(d.issuer.trim_end_matches('/')));
    let jwks = iam.metadata().discover_jwks().await.unwrap();
    assert!(!jwks.keys.is_empty());
    assert!(d.jwks_uri.ends_with("/.well-known/jwks.json"));
}
