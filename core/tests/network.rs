//! Ory Network control plane services against the spec-checking fake console of the stack.

mod common;

use futures::StreamExt;
use ory_iam::dto::{CreateApiKey, CreateProject, EventStreamInput, ListWorkspaces};
use ory_iam::{ErrorKind, Iam, IamConfig};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn workspaces_projects_keys_and_event_streams() {
    let mut cfg = common::cloud_config();
    cfg["audit"] = json!({"sink": "callback"});
    let sink = Arc::new(common::Collect::default());
    let iam = Iam::builder(IamConfig::from_value(&cfg).unwrap()).audit_sink(sink.clone()).build().unwrap();
    let ws = iam.workspace_admin();
    let w = ws.create("team-rust").await.unwrap();
    assert_eq!(ws.get(&w.id).await.unwrap().name, "team-rust");
    assert_eq!(ws.update(&w.id, "team-rust-2").await.unwrap().name, "team-rust-2");
    ws.create("team-rust-other").await.unwrap();
    let page = ws.list(ListWorkspaces { page_size: Some(1), page_token: None }).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next_page_token.is_some());
    let all: Vec<String> = ws.list_all(Some(1)).map(|w| w.unwrap().id).collect().await;
    assert!(all.contains(&w.id));

    let projects = iam.project_admin();
    let p = projects
        .create(CreateProject {
            name: "Shop".into(),
            workspace_id: Some(w.id.clone()),
            environment: Some("dev".into()),
            home_region: None,
        })
        .await
        .unwrap();
    assert_eq!(p.environment, "dev");
    let listed = projects.list().await.unwrap();
    let meta = listed.iter().find(|m| m.id == p.id).unwrap();
    assert_eq!(meta.hosts, vec![format!("{}.projects.oryapis.com", p.slug)]);
    assert_eq!(projects.get(&p.id).await.unwrap().hosts, meta.hosts, "get exposes the hosts");
    assert!(ws.list_projects(&w.id).await.unwrap().iter().any(|m| m.id == p.id));
    let renamed = projects
        .set(&p.id, json!({"name": "Shop 2", "services": {}, "cors_admin": {}, "cors_public": {}, "organizations": []}))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Shop 2");
    assert!(projects.list_members(&p.id).await.unwrap().is_empty());

    let key = projects.create_api_key(&p.id, CreateApiKey { name: "ci".into(), expires_at: None }).await.unwrap();
    let value = key.value.clone().expect("shown once");
    assert!(!format!("{key:?}").contains(value.expose()));
    let keys = projects.list_api_keys(&p.id).await.unwrap();
    assert!(keys.iter().all(|k| k.value.is_none()));
    projects.delete_api_key(&p.id, &key.id).await.unwrap();
    assert!(projects.list_api_keys(&p.id).await.unwrap().is_empty());
    let wkey = ws.create_api_key(&w.id, CreateApiKey { name: "deploy".into(), expires_at: None }).await.unwrap();
    assert!(wkey.value.is_some());
    assert_eq!(ws.list_api_keys(&w.id).await.unwrap().len(), 1);
    ws.delete_api_key(&w.id, &wkey.id).await.unwrap();

    let events = iam.events();
    let s = events
        .create(
            &p.id,
            EventStreamInput {
                stream_type: Some("sns".into()),
                topic_arn: Some("arn:aws:sns:eu-1:1:t".into()),
                role_arn: Some("arn:aws:iam::1:role/r".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.list(&p.id).await.unwrap().len(), 1);
    let again = EventStreamInput {
        stream_type: Some("https".into()),
        https_endpoint: Some("https://hooks.example.test/ory".into()),
        ..Default::default()
    };
    assert_eq!(events.create(&p.id, again).await.unwrap_err().kind(), ErrorKind::Conflict);
    let changed = events
        .set(&p.id, &s.id, EventStreamInput { topic_arn: Some("arn:aws:sns:eu-1:1:t2".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(changed.topic_arn.as_deref(), Some("arn:aws:sns:eu-1:1:t2"));
    events.delete(&p.id, &s.id).await.unwrap();
    assert!(events.list(&p.id).await.unwrap().is_empty());
    assert_eq!(
        events
            .create(&p.id, EventStreamInput { stream_type: Some("sns".into()), ..Default::default() })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );

    projects.purge(&p.id).await.unwrap();
    assert_eq!(projects.get(&p.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    let names: Vec<String> = sink.0.lock().unwrap().iter().map(|e| e.name.clone()).collect();
    for want in ["project.api_key.delete", "workspace.api_key.delete", "event_stream.delete", "project.purge"] {
        assert!(names.iter().any(|n| n == want), "{want} audited");
    }
    assert!(!serde_json::to_string(&*sink.0.lock().unwrap()).unwrap().contains(value.expose()));
    assert_eq!(common::console_violations().await, Vec::<String>::new());
}

#[tokio::test]
async fn console_error_paths() {
    let iam = Iam::from_value(&common::cloud_config()).unwrap();
    // Wrong key → 401 → unauthorized.
    let mut wrong = common::cloud_config();
    wrong["tenants"]["cloud"]["console"]["workspace_api_key"] = json!("ory_wak_wrong");
    assert_eq!(
        Iam::from_value(&wrong).unwrap().workspace_admin().list(Default::default()).await.unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    // Unknown id → 404.
    assert_eq!(
        iam.project_admin().get("9f425a8d-7efc-4768-8f23-7647a74fdf13").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Bad input never leaves the library.
    assert_eq!(iam.project_admin().get("nope").await.unwrap_err().kind(), ErrorKind::Validation);
    assert_eq!(
        iam.project_admin()
            .create(CreateProject {
                name: "x".into(),
                workspace_id: None,
                environment: Some("qa".into()),
                home_region: None
            })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    // 503 twice is retried (retries: 2) and succeeds; three times → upstream_unavailable with retry_after.
    common::console_fault(503, 2, None).await;
    assert!(iam.workspace_admin().list(Default::default()).await.is_ok());
    common::console_fault(503, 3, Some(0)).await;
    let e = iam.workspace_admin().list(Default::default()).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::UpstreamUnavailable, Some(503)));
    assert!(e.retry_after().is_some());
    // No workspace key / not cloud → configuration errors naming the key.
    let mut no_key = common::cloud_config();
    no_key["tenants"]["cloud"]["console"].as_object_mut().unwrap().remove("workspace_api_key");
    let e = Iam::from_value(&no_key).unwrap().project_admin().list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.message().contains("console.workspace_api_key"));
    let self_hosted = Iam::from_value(&common::iam_config()).unwrap();
    assert_eq!(
        self_hosted.workspace_admin().list(Default::default()).await.unwrap_err().kind(),
        ErrorKind::Configuration
    );
    assert_eq!(common::console_violations().await, Vec::<String>::new());
}
