//! Issue 25: the rest of the Ory APIs a backend calls, against the real stack. Keto
//! `patchRelationships`, `deleteRelationships` by query, `listRelationshipNamespaces`; Kratos
//! `deleteIdentitySessions`, admin `listSessions`/`getSession`, recovery links and codes,
//! `getFlowError`.

mod common;

use ory_iam::dto::{
    CheckOptions, DeleteMatching, FlowResult, InitiateFlow, ListMySessions, ListSessions, PermissionPatch,
    PermissionQuery, PermissionTuple, RecoveryOptions, Subject, SubmitFlow,
};
use ory_iam::transport::header_map;
use ory_iam::{AuditEvent, ErrorKind, Iam, IamConfig, Secret};
use serde_json::{json, Value};
use std::sync::Arc;

fn iam(cfg: Value) -> (Iam, Arc<common::Collect>) {
    let sink = Arc::new(common::Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    (iam, sink)
}

/// The stack's config with a decision cache and a session cache, audited into a sink.
fn cached() -> (Iam, Arc<common::Collect>) {
    let mut cfg = common::iam_config();
    cfg["session_cache"] = json!("memory");
    cfg["audit"] = json!({"sink": "callback"});
    cfg["tenants"]["customer"]["cache"] = json!({"permission_ttl_ms": 60_000, "session_ttl_ms": 60_000});
    iam(cfg)
}

fn take(sink: &common::Collect) -> Vec<AuditEvent> {
    std::mem::take(&mut *sink.0.lock().unwrap())
}

fn obj() -> String {
    format!("doc-{}", uuid::Uuid::new_v4().simple())
}

async fn objects_of(iam: &Iam, ns: &str, object: &str) -> Vec<PermissionTuple> {
    let q = PermissionQuery { namespace: ns.into(), object: Some(object.into()), ..Default::default() };
    iam.permission().list(q).await.unwrap().items
}

#[tokio::test]
async fn a_patch_applies_as_one_transaction_and_invalidates_the_decision_cache_once() {
    let (iam, sink) = cached();
    let p = iam.permission();
    let (folder_a, folder_b, doc) = (obj(), obj(), obj());
    let in_a = PermissionTuple::with_subject("folders", &folder_a, "parent", Subject::Id(doc.clone()));
    let in_b = PermissionTuple::with_subject("folders", &folder_b, "parent", Subject::Id(doc.clone()));
    p.grant(&in_a).await.unwrap();
    assert!(p.check(&in_a, CheckOptions::default()).await.unwrap(), "cached as allowed");
    assert!(!p.check(&in_b, CheckOptions::default()).await.unwrap(), "cached as denied");
    take(&sink);

    // Move the document: one delete and one insert in one transaction.
    p.patch(&[PermissionPatch::delete(in_a.clone()), PermissionPatch::insert(in_b.clone())]).await.unwrap();
    assert!(objects_of(&iam, "folders", &folder_a).await.is_empty());
    assert_eq!(objects_of(&iam, "folders", &folder_b).await, vec![in_b.clone()]);
    // Both cached answers are gone.
    assert!(!p.check(&in_a, CheckOptions::default()).await.unwrap());
    assert!(p.check(&in_b, CheckOptions::default()).await.unwrap());
    let events = take(&sink);
    let mutations: Vec<(&str, &str, &Value)> = events
        .iter()
        .filter(|e| e.name != "authz.permission.deny")
        .map(|e| (e.name.as_str(), e.result.as_str(), &e.attributes["via"]))
        .collect();
    assert_eq!(
        mutations,
        [
            ("authz.permission.revoke", "success", &json!("patch")),
            ("authz.permission.grant", "success", &json!("patch"))
        ]
    );
    assert!(events.iter().all(|e| e.name == "authz.permission.deny" || e.request_id == events[0].request_id));

    // One entry Keto refuses (an unknown namespace): nothing of the patch applies.
    let doc2 = obj();
    let fine = PermissionTuple::new("documents", &doc2, "view", "alice");
    let unknown = PermissionTuple::new("no-such-namespace", &doc2, "view", "alice");
    let err = p
        .patch(&[
            PermissionPatch::insert(fine.clone()),
            PermissionPatch::delete(in_b.clone()),
            PermissionPatch::insert(unknown),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(objects_of(&iam, "documents", &doc2).await.is_empty(), "the valid insert was rolled back");
    assert_eq!(objects_of(&iam, "folders", &folder_b).await, vec![in_b.clone()], "the delete was rolled back");
    let failed = take(&sink);
    assert_eq!(failed.len(), 3, "each entry audited");
    assert!(failed.iter().all(|e| e.result == "failure" && e.attributes["error"] == json!("not_found")));

    // An entry invalid locally: refused before anything is sent, with the entry's path.
    let err = p
        .patch(&[
            PermissionPatch::insert(fine.clone()),
            PermissionPatch::insert(PermissionTuple::new("documents", "", "v", "a")),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.fields()[0].path, "patch[1].tuple.object");
    assert!(objects_of(&iam, "documents", &doc2).await.is_empty());
    assert!(take(&sink).is_empty(), "nothing sent, nothing audited");

    p.patch(&[]).await.unwrap();
    p.revoke(&in_b).await.unwrap();
}

#[tokio::test]
async fn delete_matching_removes_every_tuple_of_an_object_and_refuses_a_namespace_alone() {
    let (iam, sink) = cached();
    let p = iam.permission();
    let (doc, other) = (obj(), obj());
    for s in ["alice", "bob", "carol"] {
        p.grant(&PermissionTuple::new("documents", &doc, "view", s)).await.unwrap();
    }
    p.grant(&PermissionTuple::new("documents", &doc, "edit", "alice")).await.unwrap();
    let kept = PermissionTuple::new("documents", &other, "view", "alice");
    p.grant(&kept).await.unwrap();
    let alice_views = PermissionTuple::new("documents", &doc, "view", "alice");
    assert!(p.check(&alice_views, CheckOptions::default()).await.unwrap());
    take(&sink);

    // A namespace alone would delete the whole namespace: refused locally, nothing sent.
    let err = p.delete_matching(&DeleteMatching { namespace: "documents".into(), ..Default::default() }).await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.fields()[0].path, "query");
    assert!(take(&sink).is_empty());
    assert_eq!(objects_of(&iam, "documents", &doc).await.len(), 4);

    // One relation of the object, then the whole object.
    let q = DeleteMatching {
        namespace: "documents".into(),
        object: Some(doc.clone()),
        relation: Some("edit".into()),
        subject: None,
    };
    p.delete_matching(&q).await.unwrap();
    assert_eq!(objects_of(&iam, "documents", &doc).await.len(), 3);
    let e = take(&sink);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].name.as_str(), e[0].result.as_str()), ("authz.permission.delete_matching", "success"));
    assert_eq!(e[0].target_id.as_deref(), Some(doc.as_str()));
    assert_eq!(e[0].attributes["by"], json!(["namespace", "object", "relation"]));
    p.delete_matching(&DeleteMatching {
        namespace: "documents".into(),
        object: Some(doc.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(objects_of(&iam, "documents", &doc).await.is_empty());
    assert!(!p.check(&alice_views, CheckOptions::default()).await.unwrap(), "the cached allow is gone");
    assert_eq!(objects_of(&iam, "documents", &other).await, vec![kept.clone()], "other objects are untouched");
    // Nothing matching is a success; an unknown namespace is not found.
    p.delete_matching(&DeleteMatching {
        namespace: "documents".into(),
        object: Some(doc.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = p
        .delete_matching(&DeleteMatching {
            namespace: "no-such-namespace".into(),
            object: Some(doc),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // By subject: every tuple of a deleted user in the namespace.
    p.delete_matching(&DeleteMatching {
        namespace: "documents".into(),
        subject: Some(Subject::Id("alice".into())),
        object: Some(other.clone()),
        relation: None,
    })
    .await
    .unwrap();
    assert!(objects_of(&iam, "documents", &other).await.is_empty());
}

#[tokio::test]
async fn namespaces_are_listed_sorted() {
    let (iam, _) = cached();
    assert_eq!(iam.permission().namespaces().await.unwrap(), ["documents", "folders", "groups"]);
}

/// Log out everywhere: every session of the identity is refused afterwards, also the one the
/// session cache holds.
#[tokio::test]
async fn revoke_sessions_logs_out_everywhere_including_the_session_cache() {
    let (iam, sink) = cached();
    let (id, token) = common::native_session(&iam, "customer").await;
    let headers = header_map([("x-session-token", token.expose())]);
    let s = iam.session().whoami(&headers).await.unwrap();
    assert!(iam.session().whoami(&headers).await.unwrap().cache_hit, "now cached");

    // Admin views of the session.
    let got = iam.session().get(&s.id).await.unwrap();
    assert_eq!((got.id.as_str(), got.identity.id.as_str(), got.active), (s.id.as_str(), id.as_str(), true));
    assert!(got.identity.traits.is_none(), "admin views carry no traits");
    let mut found = false;
    let mut token_ = None;
    for _ in 0..1000 {
        let page = iam
            .session()
            .list(ListSessions { page_size: Some(2), page_token: token_.clone(), active: Some(true) })
            .await
            .unwrap();
        assert!(page.items.len() <= 2 && page.items.iter().all(|x| x.active));
        found |= page.items.iter().any(|x| x.id == s.id);
        token_ = page.next_page_token;
        if token_.is_none() || found {
            break;
        }
    }
    assert!(found, "the session is in the admin listing");
    take(&sink);

    iam.identity().revoke_sessions(&id).await.unwrap();
    let e = take(&sink);
    assert_eq!(
        e.iter().map(|e| (e.name.as_str(), e.result.as_str(), e.target_id.as_deref())).collect::<Vec<_>>(),
        [("authz.session.revoke_all", "success", Some(id.as_str()))]
    );
    assert_eq!(iam.session().whoami(&headers).await.unwrap_err().kind(), ErrorKind::Unauthorized);
    assert_eq!(iam.session().get(&s.id).await.unwrap_err().kind(), ErrorKind::NotFound, "Kratos v1.3.1 deletes them");
    let inactive = iam.session().list(ListSessions { active: Some(false), ..Default::default() }).await.unwrap();
    assert!(inactive.items.iter().all(|x| !x.active));

    // Hostile and unknown ids.
    for bad in ["../sessions", "", "not-a-uuid"] {
        assert_eq!(iam.identity().revoke_sessions(bad).await.unwrap_err().kind(), ErrorKind::Validation);
        assert_eq!(iam.session().get(bad).await.unwrap_err().kind(), ErrorKind::Validation);
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(iam.session().get(&unknown).await.unwrap_err().kind(), ErrorKind::NotFound);
    iam.identity().delete(&id).await.unwrap();
}

/// `Cookie` header of the `Set-Cookie` headers of a reply.
fn cookies(r: &reqwest::Response) -> String {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_recovery_link_and_a_recovery_code_each_recover_the_account() {
    let (iam, sink) = cached();
    let (id, _) = common::native_session(&iam, "customer").await;
    take(&sink);

    // The link: opening it signs the owner in (a session cookie) and starts a settings flow.
    let rec =
        iam.identity().create_recovery_link(&id, RecoveryOptions { expires_in: Some("10m".into()) }).await.unwrap();
    assert!(rec.code.is_none() && rec.expires_at.is_some());
    assert!(!format!("{rec:?}").contains(rec.link.expose()), "Debug hides the link");
    let e = take(&sink);
    assert_eq!(
        e.iter().map(|e| (e.name.as_str(), e.result.as_str(), &e.attributes["method"])).collect::<Vec<_>>(),
        [("identity.recovery.create", "success", &json!("link"))]
    );
    assert!(!serde_json::to_string(&e).unwrap().contains(rec.link.expose()), "no link in the audit");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(rec.link.expose()).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = cookies(&r);
    let s = iam.session().whoami(&header_map([("cookie", cookie.as_str())])).await.unwrap();
    assert_eq!(s.identity.id, id);
    assert!(s.authentication_methods.contains(&"link_recovery".to_owned()), "{:?}", s.authentication_methods);

    // The code: entered in the recovery flow the link opens, it signs the owner in too.
    let rec = iam.identity().create_recovery_code(&id, RecoveryOptions::default()).await.unwrap();
    let code = rec.code.clone().expect("a code");
    let flow_id = url::Url::parse(rec.link.expose())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "flow")
        .map(|(_, v)| v.into_owned())
        .expect("the link names its flow");
    let done = iam
        .flow()
        .submit_recovery(&flow_id, json!({"method": "code", "code": code.expose()}), SubmitFlow::default())
        .await
        .unwrap();
    let FlowResult::Success(done) = done else { panic!("the code recovers the account: {done:?}") };
    let jar: Vec<Secret> = done.set_cookie;
    let cookie = jar.iter().filter_map(|c| c.expose().split(';').next()).collect::<Vec<_>>().join("; ");
    let s = iam.session().whoami(&header_map([("cookie", cookie.as_str())])).await.unwrap();
    assert_eq!(s.identity.id, id);

    // Wrong input: a bad duration locally, an unknown identity (Kratos v1.3.1: 400, not 404).
    let bad = RecoveryOptions { expires_in: Some("soon".into()) };
    let err = iam.identity().create_recovery_link(&id, bad).await.unwrap_err();
    assert_eq!((err.kind(), err.fields()[0].path.as_str()), (ErrorKind::Validation, "expires_in"));
    let unknown = uuid::Uuid::new_v4().to_string();
    let err = iam.identity().create_recovery_link(&unknown, RecoveryOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "Kratos v1.3.1: 400 for a link");
    let err = iam.identity().create_recovery_code(&unknown, RecoveryOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "and 404 for a code");
    assert_eq!(
        iam.identity().create_recovery_link("../x", RecoveryOptions::default()).await.unwrap_err().kind(),
        ErrorKind::Validation
    );
    iam.identity().delete(&id).await.unwrap();
}

#[tokio::test]
async fn a_flow_error_is_read_by_the_id_of_kratos_redirect() {
    let (iam, _) = cached();
    let public = common::stack()["kratos"]["customer"]["public_url"].as_str().unwrap().to_owned();
    // A browser flow asked to return to a foreign site: Kratos redirects to its error UI.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r =
        http.get(format!("{public}self-service/login/browser?return_to=https://evil.example/")).send().await.unwrap();
    let to = url::Url::parse(r.headers()[reqwest::header::LOCATION].to_str().unwrap()).unwrap();
    let id = to.query_pairs().find(|(k, _)| k == "id").map(|(_, v)| v.into_owned()).expect("an error id");
    let e = iam.flow().get_error(&id).await.unwrap();
    assert_eq!((e.id.as_str(), e.tenant.as_str()), (id.as_str(), "customer"));
    assert_eq!(e.error["code"], json!(400));
    assert_eq!(iam.flow().get_error(&uuid::Uuid::new_v4().to_string()).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(iam.flow().get_error("stub:500").await.unwrap_err().kind(), ErrorKind::Validation);
}

/// A second session of an identity registered with [`common::native_session`]: a password login.
async fn login(iam: &Iam, email: &str) -> Secret {
    let flows = iam.flow();
    let flow = flows.initiate_login(InitiateFlow::default()).await.unwrap();
    let body = json!({"method": "password", "identifier": email, "password": "a-Long-and-unique-passphrase-42"});
    match flows.submit_login(&flow.id, body, SubmitFlow::default()).await.unwrap() {
        FlowResult::Success(s) => s.session_token.unwrap(),
        other => panic!("login failed: {other:?}"),
    }
}

/// A user's "your devices" page: list the other sessions, revoke one, sign out everywhere else;
/// each revoked session is refused afterwards, also when the session cache held it.
#[tokio::test]
async fn a_user_manages_their_own_sessions() {
    let (iam, sink) = cached();
    let email = common::unique_email("devices");
    let flows = iam.flow();
    let flow = flows.initiate_registration(InitiateFlow::default()).await.unwrap();
    let body = json!({"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}});
    let FlowResult::Success(reg) = flows.submit_registration(&flow.id, body, SubmitFlow::default()).await.unwrap()
    else {
        panic!("registration")
    };
    let id = reg.identity.unwrap().id;
    let tok = |t: &Secret| header_map([("x-session-token", t.expose().to_owned())]);
    let a = tok(&reg.session_token.unwrap());
    let b = tok(&login(&iam, &email).await);
    let c = tok(&login(&iam, &email).await);
    let sb = iam.session().whoami(&b).await.unwrap();
    let sc = iam.session().whoami(&c).await.unwrap();
    let sa = iam.session().whoami(&a).await.unwrap();
    assert!(iam.session().whoami(&b).await.unwrap().cache_hit && iam.session().whoami(&c).await.unwrap().cache_hit);

    let mine = iam.session().list_mine(&a, ListMySessions::default()).await.unwrap();
    let mut ids: Vec<&str> = mine.items.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    let mut want = vec![sb.id.as_str(), sc.id.as_str()];
    want.sort();
    assert_eq!(ids, want, "the other sessions, not the current one");
    assert!(mine.items.iter().all(|s| s.identity.id == id && s.identity.traits.is_none()));
    let paged = iam.session().list_mine(&a, ListMySessions { page_size: Some(1), page_token: None }).await.unwrap();
    assert_eq!(paged.items.len(), 1);
    assert!(paged.next_page_token.is_some());
    take(&sink);

    // One device: B. The current session cannot revoke itself this way.
    iam.session().revoke_mine(&a, &sb.id).await.unwrap();
    let e: Vec<_> = take(&sink).into_iter().filter(|e| e.name.starts_with("authz.session")).collect();
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].name.as_str(), e[0].target_id.as_deref(), &e[0].attributes["by"]),
        ("authz.session.revoke", Some(sb.id.as_str()), &json!("owner"))
    );
    assert_eq!(iam.session().whoami(&b).await.unwrap_err().kind(), ErrorKind::Unauthorized, "B was cached");
    assert_eq!(iam.session().revoke_mine(&a, &sa.id).await.unwrap_err().kind(), ErrorKind::Validation);
    // Someone else's session.
    let (other_id, other_token) = common::native_session(&iam, "customer").await;
    let other = iam.session().whoami(&tok(&other_token)).await.unwrap();
    // Kratos v1.3.1 answers 204 and changes nothing.
    iam.session().revoke_mine(&a, &other.id).await.unwrap();
    assert!(iam.session().whoami(&tok(&other_token)).await.is_ok(), "untouched");
    assert!(iam.session().get(&other.id).await.unwrap().active, "untouched");
    assert_eq!(iam.session().revoke_mine(&a, "../x").await.unwrap_err().kind(), ErrorKind::Validation);

    // Everywhere else: C goes, A stays.
    take(&sink);
    // Kratos v1.3.1 counts every other session it marked inactive: C, and B again.
    assert_eq!(iam.session().revoke_my_other_sessions(&a).await.unwrap(), 2);
    let e: Vec<_> = take(&sink).into_iter().filter(|e| e.name.starts_with("authz.session")).collect();
    assert_eq!(
        e.iter().map(|e| (e.name.as_str(), e.target_id.as_deref(), &e.attributes["scope"])).collect::<Vec<_>>(),
        [("authz.session.revoke_all", Some(id.as_str()), &json!("others"))]
    );
    assert_eq!(iam.session().whoami(&c).await.unwrap_err().kind(), ErrorKind::Unauthorized, "C was cached");
    assert_eq!(iam.session().whoami(&a).await.unwrap().id, sa.id);
    assert!(iam.session().list_mine(&a, ListMySessions::default()).await.unwrap().items.is_empty());

    // Without a valid credential: unauthorized, nothing sent on the user's behalf.
    let nobody = header_map([("x-session-token", "not-a-session")]);
    assert_eq!(
        iam.session().list_mine(&nobody, ListMySessions::default()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    assert_eq!(
        iam.session().revoke_my_other_sessions(&header_map(Vec::<(&str, &str)>::new())).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    iam.identity().delete(&id).await.unwrap();
    iam.identity().delete(&other_id).await.unwrap();
}

const OPL: &str = r#"import { Namespace, Context } from "@ory/keto-namespace-types"

class User implements Namespace {}

class Document implements Namespace {
  related: {
    viewers: User[]
  }

  permits = {
    view: (ctx: Context): boolean => this.related.viewers.includes(ctx.subject),
  }
}
"#;

#[tokio::test]
async fn opl_syntax_is_checked_by_ketos_opl_server() {
    let (iam, sink) = cached();
    let p = iam.permission();
    assert_eq!(p.check_opl_syntax(OPL).await.unwrap(), vec![], "a valid file");
    let errors = p
        .check_opl_syntax("class User implements Namespace {}\nclass Doc implements Namespace {\n  related: {\n")
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert!(!errors[0].message.is_empty());
    assert_eq!(errors[0].start.line, 3, "Keto v0.14 spells it `Line`");
    assert!(errors[0].start.column > 0);
    assert!(take(&sink).is_empty(), "a read: not audited");
    // Without `keto.opl_url`: a configuration error naming the key.
    let mut cfg = common::iam_config();
    cfg["tenants"]["customer"]["keto"].as_object_mut().unwrap().remove("opl_url");
    let without = Iam::from_value(&cfg).unwrap();
    let err = without.permission().check_opl_syntax(OPL).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let huge = "x".repeat((1 << 20) + 1);
    assert_eq!(p.check_opl_syntax(&huge).await.unwrap_err().kind(), ErrorKind::Validation);
}

/// A bulk import: one result per input, in order; a refused identity does not stop the others.
#[tokio::test]
async fn create_many_imports_identities_with_a_result_each() {
    use ory_iam::dto::{CreateIdentity, ListIdentities};
    let (iam, sink) = cached();
    let (a, b, c) = (common::unique_email("bulk"), common::unique_email("bulk"), common::unique_email("bulk"));
    let input = |traits: Value| CreateIdentity { schema_id: "customer".into(), traits, ..Default::default() };
    let out = iam
        .identity()
        .create_many(vec![input(json!({"email": a})), input(json!({"email": 42})), input(json!({"email": b}))])
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = out.iter().map(|r| r.error.as_deref()).collect();
    assert_eq!(codes, [None, Some("validation"), None]);
    let (ia, ib) = (out[0].identity_id.clone().unwrap(), out[2].identity_id.clone().unwrap());
    let got = iam.identity().get_with_traits(&ia).await.unwrap();
    assert_eq!(got.traits.unwrap()["email"], json!(a));
    iam.identity().get(&ib).await.unwrap();
    let e = take(&sink);
    assert_eq!(
        e.iter().map(|e| (e.name.as_str(), e.result.as_str(), e.target_id.clone())).collect::<Vec<_>>(),
        [
            ("identity.create", "success", Some(ia.clone())),
            ("identity.create", "failure", None),
            ("identity.create", "success", Some(ib.clone()))
        ]
    );
    assert!(e.iter().all(|x| x.attributes["via"] == json!("batch") && x.request_id == e[0].request_id));
    assert!(!serde_json::to_string(&e).unwrap().contains(&a), "no trait in the audit");

    // A duplicate: Kratos v1.3.1 reports an id for `c` but keeps nothing of the batch.
    let out = iam.identity().create_many(vec![input(json!({"email": a})), input(json!({"email": c}))]).await.unwrap();
    let codes: Vec<Option<&str>> = out.iter().map(|r| r.error.as_deref()).collect();
    assert_eq!(codes, [Some("conflict"), Some("upstream_unavailable")], "c was not kept: not reported as created");
    let by_c = ListIdentities { credentials_identifier: Some(c.clone()), ..Default::default() };
    assert!(iam.identity().list(by_c.clone()).await.unwrap().items.is_empty());
    let again = iam.identity().create_many(vec![input(json!({"email": c}))]).await.unwrap();
    let ic = again[0].identity_id.clone().expect("sent again alone, it is created");
    assert_eq!(iam.identity().list(by_c).await.unwrap().items.len(), 1);

    // Invalid locally: nothing sent, the input named.
    let err = iam
        .identity()
        .create_many(vec![input(json!({"email": "x@example.test"})), input(json!([]))])
        .await
        .unwrap_err();
    assert_eq!((err.kind(), err.fields()[0].path.as_str()), (ErrorKind::Validation, "inputs[1].traits"));
    assert_eq!(iam.identity().create_many(vec![]).await.unwrap_err().kind(), ErrorKind::Validation);
    for id in [ia, ib, ic] {
        iam.identity().delete(&id).await.unwrap();
    }
}
