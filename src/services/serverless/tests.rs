//! The service's rules, without a wire or an engine.

use std::time::Duration;

use chrono::Utc;

use super::credentials::{self, check};
use super::model::{
    CreateNamespaceRequest, CreateWorkgroupRequest, DeleteNamespaceRequest, DeleteWorkgroupRequest,
    GetCredentialsRequest, UpdateNamespaceRequest, UpdateWorkgroupRequest,
};
use super::{Error, Store, namespaces, workgroups};
use crate::services::ServiceSettings;
use crate::services::redshift::Env;
use crate::services::redshift::logins::{Login, Refusal};
use crate::state::{IamIdentity, Scope};

fn env<'a>(scope: &'a Scope, settings: &'a ServiceSettings, key: Option<&'a str>) -> Env<'a> {
    Env {
        scope,
        now: Utc::now(),
        access_key_id: key,
        settings,
        new_ports: &|_| Ok(None),
        port_of: &|_| None,
        recovering: &|_| false,
    }
}

fn from<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
    serde_json::from_value(json).unwrap()
}

fn namespace(store: &mut Store, env: &Env<'_>, name: &str) {
    let req: CreateNamespaceRequest = from(serde_json::json!({
        "namespaceName": name, "adminUsername": "admin", "adminUserPassword": "Sup3rSecret"
    }));
    namespaces::create(store, env, &req).unwrap();
}

fn workgroup(store: &mut Store, env: &Env<'_>, name: &str, namespace: &str) -> Result<(), Error> {
    let req: CreateWorkgroupRequest =
        from(serde_json::json!({"workgroupName": name, "namespaceName": namespace}));
    workgroups::create(store, env, &req).map(drop)
}

#[test]
fn namespaces_take_both_admin_settings_or_neither() {
    let scope = Scope::new("000000000000", "us-east-1");
    let settings = ServiceSettings::default();
    let env = env(&scope, &settings, None);
    let mut store = Store::default();
    let half: CreateNamespaceRequest =
        from(serde_json::json!({"namespaceName": "ns1", "adminUsername": "admin"}));
    let e = namespaces::create(&mut store, &env, &half).unwrap_err();
    assert_eq!(
        e,
        Error::Validation("Specify both the user name and password, or neither.".into())
    );
    assert!(
        store.namespaces.is_empty(),
        "a refused call changes nothing"
    );

    let bare: CreateNamespaceRequest = from(serde_json::json!({"namespaceName": "ns1"}));
    let out = namespaces::create(&mut store, &env, &bare)
        .unwrap()
        .namespace;
    assert_eq!((out.db_name.as_str(), out.status), ("dev", "AVAILABLE"));
    assert_eq!(out.admin_username, None);
    assert_eq!(out.kms_key_id, "AWS_OWNED_KMS_KEY");
    assert!(
        out.namespace_arn
            .ends_with(&format!(":namespace/{}", out.namespace_id))
    );
    let again = namespaces::create(&mut store, &env, &bare).unwrap_err();
    assert_eq!(again.code(), "ConflictException");

    let managed: CreateNamespaceRequest =
        from(serde_json::json!({"namespaceName": "ns2", "manageAdminPassword": true}));
    let out = namespaces::create(&mut store, &env, &managed)
        .unwrap()
        .namespace;
    assert_eq!(out.admin_username.as_deref(), Some("admin"));
    let secret = out.admin_password_secret_arn.unwrap();
    assert!(
        secret.starts_with(
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:redshift!ns2-admin-"
        ),
        "{secret}"
    );
    assert!(store.namespaces["ns2"].admin_password.is_none());
}

#[test]
fn a_namespace_has_one_workgroup_and_outlives_it() {
    let scope = Scope::new("000000000000", "us-east-1");
    let settings = ServiceSettings::default();
    let env = env(&scope, &settings, None);
    let mut store = Store::default();
    assert_eq!(
        workgroup(&mut store, &env, "wg1", "ns1").unwrap_err(),
        Error::namespace_not_found("ns1")
    );
    namespace(&mut store, &env, "ns1");
    workgroup(&mut store, &env, "wg1", "ns1").unwrap();
    assert_eq!(
        workgroup(&mut store, &env, "wg2", "ns1")
            .unwrap_err()
            .code(),
        "ConflictException"
    );
    assert_eq!(
        workgroup(&mut store, &env, "wg1", "ns1")
            .unwrap_err()
            .code(),
        "ConflictException"
    );

    let delete_ns: DeleteNamespaceRequest = from(serde_json::json!({"namespaceName": "ns1"}));
    assert_eq!(
        namespaces::delete(&mut store, &env, &delete_ns)
            .unwrap_err()
            .code(),
        "ConflictException"
    );
    let delete_wg: DeleteWorkgroupRequest = from(serde_json::json!({"workgroupName": "wg1"}));
    let out = workgroups::delete(&mut store, &env, &delete_wg)
        .unwrap()
        .workgroup;
    assert_eq!(out.status, "DELETING");
    // Gone from the next call on; then the namespace takes another workgroup.
    workgroup(&mut store, &env, "wg2", "ns1").unwrap();
    assert!(!store.workgroups.contains_key("wg1"));
    assert_eq!(
        store.workgroup_of("ns1").map(|w| w.name.as_str()),
        Some("wg2")
    );
}

#[test]
fn statuses_follow_the_creation_delay() {
    let scope = Scope::new("000000000000", "us-east-1");
    let settings = ServiceSettings {
        cluster_creation_delay: Duration::from_mins(1),
        ..ServiceSettings::default()
    };
    let env = env(&scope, &settings, None);
    let mut store = Store::default();
    namespace(&mut store, &env, "ns1");
    workgroup(&mut store, &env, "wg1", "ns1").unwrap();
    let record = &store.workgroups["wg1"];
    assert_eq!(
        record.status(env.now, settings.cluster_creation_delay),
        "CREATING"
    );
    let later = env.now + chrono::Duration::seconds(61);
    assert_eq!(
        record.status(later, settings.cluster_creation_delay),
        "AVAILABLE"
    );
    let update: UpdateNamespaceRequest =
        from(serde_json::json!({"namespaceName": "ns1", "logExports": ["userlog"]}));
    assert_eq!(
        namespaces::update(&mut store, &env, &update)
            .unwrap()
            .namespace
            .status,
        "MODIFYING"
    );
    let record = &store.namespaces["ns1"];
    assert_eq!(
        record.status(env.now, settings.cluster_creation_delay),
        "MODIFYING"
    );
    assert_eq!(
        record.status(later, settings.cluster_creation_delay),
        "AVAILABLE"
    );
}

#[test]
fn workgroup_updates_take_one_setting_and_check_it() {
    let scope = Scope::new("000000000000", "us-east-1");
    let settings = ServiceSettings::default();
    let env = env(&scope, &settings, None);
    let mut store = Store::default();
    namespace(&mut store, &env, "ns1");
    workgroup(&mut store, &env, "wg1", "ns1").unwrap();
    let update = |json| -> Result<_, Error> {
        let req: UpdateWorkgroupRequest = from(json);
        let mut copy = store.clone();
        workgroups::update(&mut copy, &env, &req).map(|out| (out.workgroup, copy))
    };
    let two = update(serde_json::json!({"workgroupName": "wg1", "baseCapacity": 64, "port": 5440}));
    assert_eq!(
        two.unwrap_err(),
        Error::Validation(
            "Can't update multiple configurations at the same time for workgroup wg1.".into()
        )
    );
    for bad in [
        serde_json::json!({"workgroupName": "wg1", "baseCapacity": 12}),
        serde_json::json!({"workgroupName": "wg1", "port": 5000}),
        serde_json::json!({"workgroupName": "wg1", "configParameters": [{"parameterKey": "work_mem", "parameterValue": "1"}]}),
        serde_json::json!({"workgroupName": "wg1", "maxCapacity": 64}),
    ] {
        assert_eq!(
            update(bad.clone()).unwrap_err().code(),
            "ValidationException",
            "{bad}"
        );
    }
    let (out, _) = update(serde_json::json!({"workgroupName": "wg1", "baseCapacity": 64})).unwrap();
    assert_eq!((out.base_capacity, out.status), (64, "MODIFYING"));
    let (out, _) = update(serde_json::json!({"workgroupName": "wg1", "maxCapacity": -1})).unwrap();
    assert_eq!(out.max_capacity, None);
}

#[test]
fn credentials_are_the_callers_identity_and_log_in_until_they_expire() {
    let scope = Scope::new("000000000000", "us-east-1");
    let mut settings = ServiceSettings::default();
    settings
        .iam_identities
        .insert("AKIAETL".into(), IamIdentity::Role("etl".into()));
    let mut store = Store::default();
    let env_etl = env(&scope, &settings, Some("AKIAETL"));
    namespace(&mut store, &env_etl, "ns1");
    workgroup(&mut store, &env_etl, "wg1", "ns1").unwrap();
    let req: GetCredentialsRequest =
        from(serde_json::json!({"workgroupName": "wg1", "dbName": ""}));
    let out = credentials::get(&mut store, &env_etl, &req).unwrap();
    assert_eq!(out.db_user, "IAMR:etl");
    assert!((out.expiration - out.next_refresh_time).abs() < 1e-9);
    let left = out.expiration - f64::from(u32::try_from(env_etl.now.timestamp()).unwrap());
    assert!((899.0..=901.0).contains(&left), "{left}");
    let password = out.db_password.expose().to_owned();
    let now = env_etl.now;
    assert!(matches!(
        check(&store, "ns1", "IAMR:etl", "dev", &password, now),
        Ok(Login::Temporary(_))
    ));
    assert_eq!(
        check(&store, "ns1", "IAMR:etl", "dev", "wrong", now),
        Err(Refusal::BadPassword)
    );
    let later = now + chrono::Duration::seconds(901);
    assert_eq!(
        check(&store, "ns1", "IAMR:etl", "dev", &password, later),
        Err(Refusal::BadPassword)
    );
    assert_eq!(
        check(&store, "ns1", "admin", "dev", "Sup3rSecret", later),
        Ok(Login::Master)
    );

    let other = env(&scope, &settings, Some("AKIAOTHER"));
    let limited: GetCredentialsRequest =
        from(serde_json::json!({"workgroupName": "wg1", "dbName": "dev", "durationSeconds": 3600}));
    let out = credentials::get(&mut store, &other, &limited).unwrap();
    assert_eq!(out.db_user, "IAM:AKIAOTHER");
    assert_eq!(
        check(
            &store,
            "ns1",
            "IAM:AKIAOTHER",
            "other",
            out.db_password.expose(),
            now
        ),
        Err(Refusal::OnlyDatabase("dev".into()))
    );

    for bad in [
        serde_json::json!({"workgroupName": "wg1", "durationSeconds": 899}),
        serde_json::json!({}),
        serde_json::json!({"workgroupName": "wg1", "customDomainName": "db.example.com"}),
        serde_json::json!({"workgroupName": "wg1", "dbName": "1bad"}),
    ] {
        let req: GetCredentialsRequest = from(bad.clone());
        assert_eq!(
            credentials::get(&mut store, &other, &req)
                .unwrap_err()
                .code(),
            "ValidationException",
            "{bad}"
        );
    }
    let missing: GetCredentialsRequest = from(serde_json::json!({"workgroupName": "nope"}));
    assert_eq!(
        credentials::get(&mut store, &other, &missing).unwrap_err(),
        Error::workgroup_not_found("nope")
    );
}

#[test]
fn an_update_never_leaves_a_namespace_without_its_admin_by_accident() {
    let scope = Scope::new("000000000000", "us-east-1");
    let settings = ServiceSettings::default();
    let env = env(&scope, &settings, None);
    let mut store = Store::default();
    namespace(&mut store, &env, "ns1");
    let update = |store: &mut Store, json| {
        let req: UpdateNamespaceRequest = from(json);
        namespaces::update(store, &env, &req)
    };
    // A secret's KMS key only goes with a managed password.
    let e = update(
        &mut store,
        serde_json::json!({"namespaceName": "ns1", "adminPasswordSecretKmsKeyId": "k"}),
    );
    assert_eq!(e.unwrap_err().code(), "ValidationException");
    // Not managing a password that is not managed changes nothing.
    update(
        &mut store,
        serde_json::json!({"namespaceName": "ns1", "manageAdminPassword": false}),
    )
    .unwrap();
    let now = env.now;
    assert_eq!(
        check(&store, "ns1", "admin", "dev", "Sup3rSecret", now),
        Ok(Login::Master)
    );
    // Managed: the admin keeps its name and loses its password; to stop, a new one is given.
    let out = update(
        &mut store,
        serde_json::json!({"namespaceName": "ns1", "manageAdminPassword": true}),
    )
    .unwrap();
    assert_eq!(out.namespace.admin_username.as_deref(), Some("admin"));
    assert!(out.namespace.admin_password_secret_arn.is_some());
    assert_eq!(
        check(&store, "ns1", "admin", "dev", "Sup3rSecret", now),
        Err(Refusal::BadPassword)
    );
    let e = update(
        &mut store,
        serde_json::json!({"namespaceName": "ns1", "manageAdminPassword": false}),
    );
    assert_eq!(e.unwrap_err().code(), "ValidationException");
    update(
        &mut store,
        serde_json::json!({"namespaceName": "ns1", "manageAdminPassword": false,
        "adminUsername": "owner", "adminUserPassword": "N3wSecret"}),
    )
    .unwrap();
    assert_eq!(
        check(&store, "ns1", "owner", "dev", "N3wSecret", now),
        Ok(Login::Master)
    );
    assert!(store.namespaces["ns1"].managed_secret_suffix.is_none());
}

#[test]
fn a_deleting_workgroup_gives_up_its_custom_domain() {
    use super::domains;
    use super::model::CustomDomainAssociationRequest;
    let scope = Scope::new("000000000000", "us-east-1");
    let settings = ServiceSettings {
        cluster_creation_delay: Duration::from_mins(1),
        ..ServiceSettings::default()
    };
    let env = env(&scope, &settings, None);
    let mut store = Store::default();
    for (ns, wg) in [("ns1", "wg1"), ("ns2", "wg2")] {
        namespace(&mut store, &env, ns);
        workgroup(&mut store, &env, wg, ns).unwrap();
    }
    let associate = |store: &mut Store, wg: &str| {
        let req: CustomDomainAssociationRequest = from(serde_json::json!({
            "workgroupName": wg, "customDomainName": "db.example.com",
            "customDomainCertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/abc"
        }));
        domains::create(store, &env, &req).map(drop)
    };
    associate(&mut store, "wg1").unwrap();
    assert_eq!(
        associate(&mut store, "wg2").unwrap_err().code(),
        "ConflictException"
    );
    let delete: DeleteWorkgroupRequest = from(serde_json::json!({"workgroupName": "wg1"}));
    workgroups::delete(&mut store, &env, &delete).unwrap();
    associate(&mut store, "wg2").unwrap();
    assert_eq!(
        store
            .workgroup_for_domain("db.example.com")
            .map(|w| w.name.as_str()),
        Some("wg2")
    );
}
