//! Model-based test: random sequences of MemoryDB and Redshift calls, valid and invalid,
//! go to the server and to a small reference model. After every call the two must agree
//! on the outcome (success, or one of the errors the model allows), and the server's
//! listings must match the model and keep their invariants: the `default` user and the
//! `open-access` ACL exist, membership is two-way, a failed call changed nothing, and the
//! user quota holds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::Request;
use http_body_util::{BodyExt, Full};
use memshift::Config;
use memshift::server::{Shared, prepare, respond};
use proptest::prelude::*;
use serde_json::{Value, json};

const USER_QUOTA: usize = 6;
const USERS: &[&str] = &["default", "alice", "bob", "carol", "dave", "erin", "frank"];
const ACLS: &[&str] = &["open-access", "team-a", "team-b", "team-c"];
const CLUSTERS: &[&str] = &["c1", "c2", "c3"];
const ACCESS: &[&str] = &[
    "on ~* +@all",
    "on ~app:* +@read",
    "off ~* -@all",
    "on ~* +@nonsense",
];
/// The forms the server stores the valid access strings in.
const CANONICAL: &[&str] = &[
    "on ~* resetchannels +@all",
    "on ~app:* resetchannels -@all +@read",
    "off ~* resetchannels -@all",
];
const PASSWORDS: &[&str] = &["a-valid-password-0001", "short"];

#[derive(Debug, Clone)]
enum Op {
    CreateUser {
        user: usize,
        access: usize,
        password: usize,
    },
    UpdateUser {
        user: usize,
        access: usize,
    },
    DeleteUser {
        user: usize,
    },
    CreateAcl {
        acl: usize,
        users: Vec<usize>,
    },
    UpdateAcl {
        acl: usize,
        add: Vec<usize>,
        remove: Vec<usize>,
    },
    DeleteAcl {
        acl: usize,
    },
    CreateCluster {
        cluster: usize,
    },
    DeleteCluster {
        cluster: usize,
    },
    GetCredentials {
        cluster: usize,
        user: usize,
    },
}

fn subset() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::btree_set(0..USERS.len(), 0..3).prop_map(|s| s.into_iter().collect())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..USERS.len(), 0..ACCESS.len(), 0..PASSWORDS.len())
            .prop_map(|(user, access, password)| Op::CreateUser { user, access, password }),
        2 => (0..USERS.len(), 0..ACCESS.len()).prop_map(|(user, access)| Op::UpdateUser { user, access }),
        2 => (0..USERS.len()).prop_map(|user| Op::DeleteUser { user }),
        3 => (0..ACLS.len(), subset()).prop_map(|(acl, users)| Op::CreateAcl { acl, users }),
        4 => (0..ACLS.len(), subset(), subset()).prop_map(|(acl, add, remove)| Op::UpdateAcl { acl, add, remove }),
        2 => (0..ACLS.len()).prop_map(|acl| Op::DeleteAcl { acl }),
        2 => (0..CLUSTERS.len()).prop_map(|cluster| Op::CreateCluster { cluster }),
        1 => (0..CLUSTERS.len()).prop_map(|cluster| Op::DeleteCluster { cluster }),
        2 => (0..CLUSTERS.len(), 0..USERS.len()).prop_map(|(cluster, user)| Op::GetCredentials { cluster, user }),
    ]
}

/// What the model expects of a call: success, or one of these error codes.
type Expected = Result<(), BTreeSet<&'static str>>;

#[derive(Debug, Default)]
struct Model {
    /// user -> access string
    users: BTreeMap<String, String>,
    /// acl -> members
    acls: BTreeMap<String, BTreeSet<String>>,
    clusters: BTreeSet<String>,
}

impl Model {
    fn new() -> Self {
        let mut m = Model::default();
        m.users.insert("default".into(), "on ~* &* +@all".into());
        m.acls
            .insert("open-access".into(), BTreeSet::from(["default".into()]));
        m
    }

    fn apply(&mut self, op: &Op) -> Expected {
        let mut errors = BTreeSet::new();
        match op {
            Op::CreateUser {
                user,
                access,
                password,
            } => {
                let name = USERS[*user];
                if ACCESS[*access].contains("nonsense") || PASSWORDS[*password] == "short" {
                    errors.insert("InvalidParameterValueException");
                }
                if self.users.contains_key(name) {
                    errors.insert("UserAlreadyExistsFault");
                } else if self.users.len() >= USER_QUOTA {
                    errors.insert("UserQuotaExceededFault");
                }
                if errors.is_empty() {
                    self.users.insert(name.into(), CANONICAL[*access].into());
                }
            }
            Op::UpdateUser { user, access } => {
                let name = USERS[*user];
                if !self.users.contains_key(name) {
                    errors.insert("UserNotFoundFault");
                }
                if name == "default" || ACCESS[*access].contains("nonsense") {
                    errors.insert("InvalidParameterValueException");
                }
                if errors.is_empty() {
                    self.users.insert(name.into(), CANONICAL[*access].into());
                }
            }
            Op::DeleteUser { user } => {
                let name = USERS[*user];
                if name == "default" {
                    errors.insert("InvalidParameterValueException");
                } else if !self.users.contains_key(name) {
                    errors.insert("UserNotFoundFault");
                } else {
                    self.users.remove(name);
                    for members in self.acls.values_mut() {
                        members.remove(name);
                    }
                }
            }
            Op::CreateAcl { acl, users } => {
                let name = ACLS[*acl];
                if self.acls.contains_key(name) {
                    errors.insert("ACLAlreadyExistsFault");
                }
                if users.iter().any(|u| !self.users.contains_key(USERS[*u])) {
                    errors.insert("UserNotFoundFault");
                }
                if errors.is_empty() {
                    let members = users.iter().map(|u| USERS[*u].to_owned()).collect();
                    self.acls.insert(name.into(), members);
                }
            }
            Op::UpdateAcl { acl, add, remove } => return self.update_acl(*acl, add, remove),
            Op::DeleteAcl { acl } => {
                let name = ACLS[*acl];
                if name == "open-access" {
                    errors.insert("InvalidParameterValueException");
                } else if self.acls.remove(name).is_none() {
                    errors.insert("ACLNotFoundFault");
                }
            }
            Op::CreateCluster { cluster } => {
                if !self.clusters.insert(CLUSTERS[*cluster].into()) {
                    errors.insert("ClusterAlreadyExists");
                }
            }
            Op::DeleteCluster { cluster } => {
                if !self.clusters.remove(CLUSTERS[*cluster]) {
                    errors.insert("ClusterNotFound");
                }
            }
            Op::GetCredentials { cluster, user } => {
                if !self.clusters.contains(CLUSTERS[*cluster]) {
                    errors.insert("ClusterNotFound");
                }
                if USERS[*user] == "default" {
                    // DEFAULT is a reserved word of Redshift: no database user has it.
                    errors.insert("InvalidParameterValue");
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn update_acl(&mut self, acl: usize, add: &[usize], remove: &[usize]) -> Expected {
        let name = ACLS[acl];
        let Some(members) = self.acls.get(name) else {
            return Err(BTreeSet::from(["ACLNotFoundFault"]));
        };
        let mut errors = BTreeSet::new();
        if name == "open-access" {
            errors.insert("InvalidParameterValueException");
        }
        if add.is_empty() && remove.is_empty() {
            errors.insert("InvalidParameterCombinationException");
        }
        let missing = add
            .iter()
            .chain(remove)
            .any(|u| !self.users.contains_key(USERS[*u]));
        if missing {
            errors.insert("UserNotFoundFault");
        }
        if add.iter().any(|u| remove.contains(u)) {
            errors.insert("InvalidParameterCombinationException");
        }
        if add.iter().any(|u| members.contains(USERS[*u])) {
            errors.insert("DuplicateUserNameFault");
        }
        if remove.iter().any(|u| !members.contains(USERS[*u])) {
            errors.insert("InvalidParameterValueException");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let members = self.acls.get_mut(name).expect("checked above");
        members.extend(add.iter().map(|u| USERS[*u].to_owned()));
        for u in remove {
            members.remove(USERS[*u]);
        }
        Ok(())
    }
}

/// One call through the server's own request path, in process.
async fn call(shared: &Arc<Shared>, request: Request<Full<Bytes>>) -> (u16, Bytes) {
    let response = respond(Arc::clone(shared), request).await;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

async fn memorydb(shared: &Arc<Shared>, operation: &str, input: &Value) -> Result<Value, String> {
    let request = Request::post("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AmazonMemoryDB.{operation}"))
        .body(Full::new(Bytes::from(input.to_string())))
        .unwrap();
    let (status, body) = call(shared, request).await;
    let value: Value = serde_json::from_slice(&body).expect("a JSON answer");
    if status == 200 {
        Ok(value)
    } else {
        assert!(
            (400..500).contains(&status),
            "{operation}: status {status}: {value}"
        );
        Err(value["__type"].as_str().expect("an error code").to_owned())
    }
}

async fn redshift(shared: &Arc<Shared>, params: &str) -> Result<String, String> {
    let request = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!(
            "{params}&Version=2012-12-01"
        ))))
        .unwrap();
    let (status, body) = call(shared, request).await;
    let text = String::from_utf8(body.to_vec()).expect("UTF-8");
    if status == 200 {
        Ok(text)
    } else {
        assert!(
            (400..500).contains(&status),
            "{params}: status {status}: {text}"
        );
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|rest| rest.split("</Code>").next())
            .expect("an error code");
        Err(code.to_owned())
    }
}

async fn send(shared: &Arc<Shared>, op: &Op) -> Result<(), String> {
    let names = |list: &[usize]| list.iter().map(|u| USERS[*u]).collect::<Vec<_>>();
    match op {
        Op::CreateUser { user, access, password } => memorydb(
            shared,
            "CreateUser",
            &json!({"UserName": USERS[*user], "AccessString": ACCESS[*access],
                    "AuthenticationMode": {"Type": "password", "Passwords": [PASSWORDS[*password]]}}),
        )
        .await
        .map(drop),
        Op::UpdateUser { user, access } => memorydb(
            shared,
            "UpdateUser",
            &json!({"UserName": USERS[*user], "AccessString": ACCESS[*access]}),
        )
        .await
        .map(drop),
        Op::DeleteUser { user } => memorydb(shared, "DeleteUser", &json!({"UserName": USERS[*user]}))
            .await
            .map(drop),
        Op::CreateAcl { acl, users } => {
            let mut input = json!({"ACLName": ACLS[*acl]});
            if !users.is_empty() {
                input["UserNames"] = json!(names(users));
            }
            memorydb(shared, "CreateACL", &input).await.map(drop)
        }
        Op::UpdateAcl { acl, add, remove } => {
            let mut input = json!({"ACLName": ACLS[*acl]});
            if !add.is_empty() {
                input["UserNamesToAdd"] = json!(names(add));
            }
            if !remove.is_empty() {
                input["UserNamesToRemove"] = json!(names(remove));
            }
            memorydb(shared, "UpdateACL", &input).await.map(drop)
        }
        Op::DeleteAcl { acl } => memorydb(shared, "DeleteACL", &json!({"ACLName": ACLS[*acl]}))
            .await
            .map(drop),
        Op::CreateCluster { cluster } => redshift(
            shared,
            &format!(
                "Action=CreateCluster&ClusterIdentifier={}&NodeType=dc2.large\
                 &MasterUsername=admin&MasterUserPassword=Sup3rSecret",
                CLUSTERS[*cluster]
            ),
        )
        .await
        .map(drop),
        Op::DeleteCluster { cluster } => redshift(
            shared,
            &format!(
                "Action=DeleteCluster&ClusterIdentifier={}&SkipFinalClusterSnapshot=true",
                CLUSTERS[*cluster]
            ),
        )
        .await
        .map(drop),
        Op::GetCredentials { cluster, user } => redshift(
            shared,
            &format!(
                "Action=GetClusterCredentials&ClusterIdentifier={}&DbUser={}",
                CLUSTERS[*cluster], USERS[*user]
            ),
        )
        .await
        .map(drop),
    }
}

/// The server's listings, checked against the model and the invariants.
async fn check_state(shared: &Arc<Shared>, model: &Model) {
    let users = memorydb(shared, "DescribeUsers", &json!({})).await.unwrap();
    let acls = memorydb(shared, "DescribeACLs", &json!({})).await.unwrap();
    let mut seen_users = BTreeMap::new();
    for u in users["Users"].as_array().unwrap() {
        let name = u["Name"].as_str().unwrap().to_owned();
        let acl_names: BTreeSet<String> = u["ACLNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        seen_users.insert(
            name,
            (u["AccessString"].as_str().unwrap().to_owned(), acl_names),
        );
    }
    let mut seen_acls = BTreeMap::new();
    for a in acls["ACLs"].as_array().unwrap() {
        let members: BTreeSet<String> = a["UserNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
        seen_acls.insert(a["Name"].as_str().unwrap().to_owned(), members);
    }
    // The built-in user and ACL always exist; the quota holds.
    assert!(seen_users.contains_key("default"));
    assert!(seen_acls.contains_key("open-access"));
    assert!(seen_users.len() <= USER_QUOTA);
    // The same users and ACLs as the model, with the same members.
    assert_eq!(
        seen_users.keys().collect::<Vec<_>>(),
        model.users.keys().collect::<Vec<_>>()
    );
    assert_eq!(seen_acls, model.acls);
    for (name, (access, acl_names)) in &seen_users {
        // Access strings come back in their canonical form.
        assert_eq!(access, &model.users[name], "access string of {name}");
        // Membership is two-way.
        let listed_in: BTreeSet<String> = seen_acls
            .iter()
            .filter(|(_, members)| members.contains(name))
            .map(|(acl, _)| acl.clone())
            .collect();
        assert_eq!(acl_names, &listed_in, "ACLNames of {name}");
    }
    let clusters = redshift(shared, "Action=DescribeClusters").await.unwrap();
    let ids: BTreeSet<String> = clusters
        .split("<ClusterIdentifier>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids, model.clusters);
}

async fn run(ops: Vec<Op>) {
    let mut config = Config::ephemeral();
    config.services.memorydb_user_quota = USER_QUOTA;
    let shared = prepare(&config).await.unwrap();
    let mut model = Model::new();
    check_state(&shared, &model).await;
    for (step, op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        let got = send(&shared, op).await;
        match (&expected, &got) {
            (Ok(()), Ok(())) => {}
            (Err(allowed), Err(code)) => assert!(
                allowed.contains(code.as_str()),
                "step {step} {op:?}: server answered {code}, the model allows {allowed:?}"
            ),
            _ => panic!("step {step} {op:?}: model {expected:?}, server {got:?}"),
        }
        check_state(&shared, &model).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_server_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}
