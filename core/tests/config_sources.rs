//! The same config from a YAML file, a JSON file and environment variables, against the stack.

mod common;

use ory_iam::{ErrorKind, Iam, IamConfig};

#[tokio::test]
async fn file_and_env_configs_reach_the_servers() {
    let cfg = common::iam_config();
    let dir = std::env::temp_dir().join(format!("ory-iam-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("ory-iam.yaml");
    std::fs::write(&yaml, serde_yaml::to_string(&cfg).unwrap()).unwrap();
    let json = dir.join("ory-iam.json");
    std::fs::write(&json, serde_json::to_string(&cfg).unwrap()).unwrap();
    for path in [&yaml, &json] {
        let iam = Iam::from_file(path).unwrap();
        assert_eq!(iam.tenants(), vec!["admin", "customer"]);
        assert!(iam.metadata().version().await.unwrap().kratos.is_some());
    }
    let k = &cfg["tenants"]["customer"]["kratos"];
    let env = vec![
        ("ORY_IAM__TENANTS__SHOP__KRATOS__PUBLIC_URL".to_owned(), k["public_url"].as_str().unwrap().to_owned()),
        ("ORY_IAM__TENANTS__SHOP__KRATOS__ADMIN_URL".to_owned(), k["admin_url"].as_str().unwrap().to_owned()),
        ("ORY_IAM__TENANTS__SHOP__HTTP__TIMEOUT_MS".to_owned(), "3000".to_owned()),
    ];
    let iam = Iam::from_config(IamConfig::from_env_vars(env).unwrap()).unwrap();
    assert_eq!(iam.default_tenant(), "shop");
    assert!(iam.metadata().version().await.unwrap().kratos.is_some());
    let e =
        IamConfig::from_env_vars(vec![(ory_iam::config::ENV_CONFIG_FILE.to_owned(), "/nonexistent.yaml".to_owned())])
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    std::fs::write(dir.join("bad.yaml"), "tenants: [oops\n  admin_token: SECRET_IN_BAD_FILE").unwrap();
    let e = Iam::from_file(dir.join("bad.yaml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(!e.to_string().contains("SECRET_IN_BAD_FILE"), "parse errors do not quote the file");
    // Through ORY_IAM_CONFIG_FILE the same file is reported with the same line and column.
    let via_env = IamConfig::from_env_vars(vec![(
        ory_iam::config::ENV_CONFIG_FILE.to_owned(),
        dir.join("bad.yaml").display().to_string(),
    )])
    .unwrap_err();
    let at = |e: &ory_iam::Error| e.fields()[0].reason.split(" at ").nth(1).map(str::to_owned);
    assert!(at(&e).is_some_and(|l| l.starts_with("line ")), "from_file names the line");
    assert_eq!((via_env.fields()[0].path.as_str(), at(&via_env)), ("ORY_IAM_CONFIG_FILE", at(&e)));
    assert!(!via_env.to_string().contains("SECRET_IN_BAD_FILE"));
    std::fs::remove_dir_all(&dir).unwrap();
}
