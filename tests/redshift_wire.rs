//! The exact XML of every Redshift answer and error, sent as raw AWS Query requests.
//! Values that change from run to run (request ids, times, ids, passwords) are replaced
//! by placeholders before comparing.

#![allow(
    clippy::too_many_lines,
    reason = "each test is one user journey, read top to bottom"
)]

mod common;

use common::server;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

struct Answer {
    status: u16,
    content_type: String,
    request_id: String,
    body: String,
}

async fn query(url: &str, body: &str) -> Answer {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", FORM)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let status = response.status().as_u16();
    let content_type = header("content-type");
    let request_id = header("x-amzn-requestid");
    let body = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        request_id,
        body,
    }
}

/// Replaces the values that vary between runs with placeholders.
fn normalize(a: &Answer) -> String {
    let mut s = a.body.replace(&a.request_id, "RID");
    for (pattern, with) in [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "TIME"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "UUID",
        ),
        (r"vpc-[0-9a-f]{17}", "VPC"),
        (
            r"<DbPassword>[A-Za-z0-9+/=]{76}</DbPassword>",
            "<DbPassword>PW</DbPassword>",
        ),
    ] {
        s = regex_lite::Regex::new(pattern)
            .unwrap()
            .replace_all(&s, with)
            .into_owned();
    }
    s
}

fn ok(a: &Answer) -> String {
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "text/xml");
    assert_eq!(a.request_id.len(), 36);
    normalize(a)
}

fn error(a: &Answer, status: u16, code: &str, message: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.content_type, "text/xml");
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    assert_eq!(
        normalize(a),
        format!(
            "<ErrorResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>RID</RequestId></ErrorResponse>"
        )
    );
}

const NS: &str = "xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"";

const CLUSTER_BODY: &str = "<ClusterIdentifier>c1</ClusterIdentifier><NodeType>dc2.large</NodeType><ClusterStatus>STATUS</ClusterStatus><ClusterAvailabilityStatus>AVAIL</ClusterAvailabilityStatus><MasterUsername>admin</MasterUsername><DBName>dev</DBName>ENDPOINT<ClusterCreateTime>TIME</ClusterCreateTime><AutomatedSnapshotRetentionPeriod>1</AutomatedSnapshotRetentionPeriod><ManualSnapshotRetentionPeriod>-1</ManualSnapshotRetentionPeriod><ClusterSecurityGroups></ClusterSecurityGroups><VpcSecurityGroups><VpcSecurityGroup><VpcSecurityGroupId>sg-1</VpcSecurityGroupId><Status>active</Status></VpcSecurityGroup></VpcSecurityGroups><ClusterParameterGroups><ClusterParameterGroup><ParameterGroupName>default.redshift-2.0</ParameterGroupName><ParameterApplyStatus>in-sync</ParameterApplyStatus></ClusterParameterGroup></ClusterParameterGroups><ClusterSubnetGroupName>default</ClusterSubnetGroupName><VpcId>VPC</VpcId><AvailabilityZone>us-east-1a</AvailabilityZone><PreferredMaintenanceWindow>sat:10:00-sat:10:30</PreferredMaintenanceWindow><PendingModifiedValues></PendingModifiedValues><ClusterVersion>1.0</ClusterVersion><AllowVersionUpgrade>true</AllowVersionUpgrade><NumberOfNodes>1</NumberOfNodes><PubliclyAccessible>false</PubliclyAccessible><Encrypted>true</Encrypted><ClusterNodes><member><NodeRole>SHARED</NodeRole><PrivateIPAddress>10.0.0.10</PrivateIPAddress></member></ClusterNodes><ClusterRevisionNumber>77467</ClusterRevisionNumber><Tags><Tag><Key>team</Key><Value>data</Value></Tag></Tags><EnhancedVpcRouting>false</EnhancedVpcRouting><IamRoles></IamRoles><MaintenanceTrackName>current</MaintenanceTrackName><ClusterNamespaceArn>arn:aws:redshift:us-east-1:000000000000:namespace:UUID</ClusterNamespaceArn><AquaConfiguration><AquaStatus>disabled</AquaStatus><AquaConfigurationStatus>auto</AquaConfigurationStatus></AquaConfiguration><MultiAZ>Disabled</MultiAZ>";

fn cluster(status: &str) -> String {
    let (avail, endpoint) = match status {
        "creating" => ("Unavailable", ""),
        "deleting" => (
            "Unavailable",
            "<Endpoint><Address>localhost</Address><Port>5439</Port></Endpoint>",
        ),
        _ => (
            "Available",
            "<Endpoint><Address>localhost</Address><Port>5439</Port></Endpoint>",
        ),
    };
    CLUSTER_BODY
        .replace("STATUS", status)
        .replace("AVAIL", avail)
        .replace("ENDPOINT", endpoint)
}

#[tokio::test]
async fn golden_cluster_answers_and_errors() {
    let server = server().await;
    let url = server.url();
    let create = "Action=CreateCluster&Version=2012-12-01&ClusterIdentifier=c1&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret&VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-1&Tags.Tag.1.Key=team&Tags.Tag.1.Value=data";
    let a = query(&url, create).await;
    assert_eq!(
        ok(&a),
        format!(
            "<CreateClusterResponse {NS}><CreateClusterResult><Cluster>{}</Cluster></CreateClusterResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></CreateClusterResponse>",
            cluster("creating")
        )
    );
    error(
        &query(&url, create).await,
        400,
        "ClusterAlreadyExists",
        "Cluster already exists",
    );

    let a = query(&url, "Action=DescribeClusters&Version=2012-12-01").await;
    assert_eq!(
        ok(&a),
        format!(
            "<DescribeClustersResponse {NS}><DescribeClustersResult><Clusters><Cluster>{}</Cluster></Clusters></DescribeClustersResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DescribeClustersResponse>",
            cluster("available")
        )
    );
    error(
        &query(
            &url,
            "Action=DescribeClusters&Version=2012-12-01&ClusterIdentifier=c9",
        )
        .await,
        404,
        "ClusterNotFound",
        "Cluster c9 not found.",
    );

    error(
        &query(
            &url,
            "Action=DeleteCluster&Version=2012-12-01&ClusterIdentifier=c1",
        )
        .await,
        400,
        "InvalidParameterCombination",
        "FinalClusterSnapshotIdentifier is required unless SkipFinalClusterSnapshot is specified.",
    );
    let a = query(&url, "Action=DeleteCluster&Version=2012-12-01&ClusterIdentifier=c1&SkipFinalClusterSnapshot=true").await;
    assert_eq!(
        ok(&a),
        format!(
            "<DeleteClusterResponse {NS}><DeleteClusterResult><Cluster>{}</Cluster></DeleteClusterResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DeleteClusterResponse>",
            cluster("deleting")
        )
    );
}

#[tokio::test]
async fn golden_credential_answers_and_errors() {
    let server = server().await;
    let url = server.url();
    query(&url, "Action=CreateCluster&Version=2012-12-01&ClusterIdentifier=c1&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret").await;
    let a = query(&url, "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=c1&DbUser=alice&DbGroups.DbGroup.1=analysts").await;
    assert_eq!(
        ok(&a),
        format!(
            "<GetClusterCredentialsResponse {NS}><GetClusterCredentialsResult><DbUser>IAM:alice</DbUser><DbPassword>PW</DbPassword><Expiration>TIME</Expiration></GetClusterCredentialsResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></GetClusterCredentialsResponse>"
        )
    );
    error(
        &query(
            &url,
            "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=nope&DbUser=alice",
        )
        .await,
        404,
        "ClusterNotFound",
        "Cluster nope not found.",
    );
    error(
        &query(
            &url,
            "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=c1",
        )
        .await,
        400,
        "MissingParameter",
        "The request must contain the parameter DbUser.",
    );
    error(
        &query(&url, "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=c1&DbUser=a&DurationSeconds=60").await,
        400,
        "InvalidParameterValue",
        "DurationSeconds must be between 900 and 3600 seconds.",
    );
    error(
        &query(&url, "Action=GetClusterCredentials&Version=2012-12-01&ClusterIdentifier=c1&DbUser=a&DurationSeconds=lots").await,
        400,
        "InvalidParameterValue",
        "Invalid value for parameter DurationSeconds: expected an integer.",
    );

    let a = query(
        &url,
        "Action=GetClusterCredentialsWithIAM&Version=2012-12-01&ClusterIdentifier=c1",
    )
    .await;
    assert_eq!(
        ok(&a),
        format!(
            "<GetClusterCredentialsWithIAMResponse {NS}><GetClusterCredentialsWithIAMResult><DbUser>IAM:anonymous</DbUser><DbPassword>PW</DbPassword><Expiration>TIME</Expiration><NextRefreshTime>TIME</NextRefreshTime></GetClusterCredentialsWithIAMResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></GetClusterCredentialsWithIAMResponse>"
        )
    );
    error(
        &query(
            &url,
            "Action=GetClusterCredentialsWithIAM&Version=2012-12-01&ClusterIdentifier=c2",
        )
        .await,
        404,
        "ClusterNotFound",
        "Cluster c2 not found.",
    );
}

#[tokio::test]
async fn golden_tag_and_domain_answers_and_errors() {
    let server = server().await;
    let url = server.url();
    query(&url, "Action=CreateCluster&Version=2012-12-01&ClusterIdentifier=c1&NodeType=dc2.large&MasterUsername=admin&MasterUserPassword=Sup3rSecret").await;
    let arn = "arn%3Aaws%3Aredshift%3Aus-east-1%3A000000000000%3Acluster%3Ac1";
    let a = query(&url, &format!("Action=CreateTags&Version=2012-12-01&ResourceName={arn}&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v")).await;
    assert_eq!(
        ok(&a),
        format!(
            "<CreateTagsResponse {NS}><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></CreateTagsResponse>"
        )
    );
    let a = query(
        &url,
        &format!("Action=DescribeTags&Version=2012-12-01&ResourceName={arn}"),
    )
    .await;
    assert_eq!(
        ok(&a),
        format!(
            "<DescribeTagsResponse {NS}><DescribeTagsResult><TaggedResources><TaggedResource><Tag><Key>k</Key><Value>v</Value></Tag><ResourceName>arn:aws:redshift:us-east-1:000000000000:cluster:c1</ResourceName><ResourceType>cluster</ResourceType></TaggedResource></TaggedResources></DescribeTagsResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DescribeTagsResponse>"
        )
    );
    let a = query(
        &url,
        &format!("Action=DeleteTags&Version=2012-12-01&ResourceName={arn}&TagKeys.TagKey.1=k"),
    )
    .await;
    assert_eq!(
        ok(&a),
        format!(
            "<DeleteTagsResponse {NS}><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DeleteTagsResponse>"
        )
    );
    let ghost = "arn:aws:redshift:us-east-1:000000000000:cluster:ghost";
    for action in [
        "CreateTags&Tags.Tag.1.Key=k",
        "DeleteTags&TagKeys.TagKey.1=k",
        "DescribeTags",
    ] {
        error(
            &query(
                &url,
                &format!("Action={action}&Version=2012-12-01&ResourceName={ghost}"),
            )
            .await,
            404,
            "ResourceNotFoundFault",
            &format!("The resource {ghost} could not be found."),
        );
    }
    let a = query(&url, "Action=CreateCustomDomainAssociation&Version=2012-12-01&ClusterIdentifier=c1&CustomDomainName=db.example.com&CustomDomainCertificateArn=arn:aws:acm:us-east-1:000000000000:certificate/abc").await;
    assert_eq!(
        ok(&a),
        format!(
            "<CreateCustomDomainAssociationResponse {NS}><CreateCustomDomainAssociationResult><CustomDomainName>db.example.com</CustomDomainName><CustomDomainCertificateArn>arn:aws:acm:us-east-1:000000000000:certificate/abc</CustomDomainCertificateArn><ClusterIdentifier>c1</ClusterIdentifier><CustomDomainCertExpiryTime>TIME</CustomDomainCertExpiryTime></CreateCustomDomainAssociationResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></CreateCustomDomainAssociationResponse>"
        )
    );
    // Amazon's drivers look a host name up with it, and read the cluster identifier.
    let a = query(&url, "Action=DescribeCustomDomainAssociations&Version=2012-12-01&CustomDomainName=db.example.com").await;
    assert_eq!(
        ok(&a),
        format!(
            "<DescribeCustomDomainAssociationsResponse {NS}><DescribeCustomDomainAssociationsResult><Associations><Association><CustomDomainCertificateArn>arn:aws:acm:us-east-1:000000000000:certificate/abc</CustomDomainCertificateArn><CustomDomainCertificateExpiryDate>TIME</CustomDomainCertificateExpiryDate><CertificateAssociations><CertificateAssociation><CustomDomainName>db.example.com</CustomDomainName><ClusterIdentifier>c1</ClusterIdentifier></CertificateAssociation></CertificateAssociations></Association></Associations></DescribeCustomDomainAssociationsResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DescribeCustomDomainAssociationsResponse>"
        )
    );
    error(
        &query(
            &url,
            "Action=DescribeCustomDomainAssociations&Version=2012-12-01&CustomDomainName=127.0.0.1",
        )
        .await,
        404,
        "CustomDomainAssociationNotFoundFault",
        "The custom domain association was not found.",
    );
    let a = query(&url, "Action=DeleteCustomDomainAssociation&Version=2012-12-01&ClusterIdentifier=c1&CustomDomainName=db.example.com").await;
    assert_eq!(
        ok(&a),
        format!(
            "<DeleteCustomDomainAssociationResponse {NS}><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></DeleteCustomDomainAssociationResponse>"
        )
    );
    error(
        &query(&url, "Action=DeleteCustomDomainAssociation&Version=2012-12-01&ClusterIdentifier=c1&CustomDomainName=db.example.com").await,
        404,
        "CustomDomainAssociationNotFoundFault",
        "No custom domain association db.example.com for cluster c1.",
    );
}

#[tokio::test]
async fn protocol_errors_in_xml() {
    let server = server().await;
    let url = server.url();
    error(
        &query(&url, "Action=LaunchRocket&Version=2012-12-01").await,
        400,
        "InvalidAction",
        "The action LaunchRocket is not valid for this web service.",
    );
    error(
        &query(
            &url,
            "Action=ModifyCluster&Version=2012-12-01&ClusterIdentifier=c1",
        )
        .await,
        400,
        "NotImplemented",
        "The operation ModifyCluster of Redshift is not implemented by memshift.",
    );
    error(
        &query(&url, "Action=DescribeClusters&ClusterIdentifier=%zz").await,
        400,
        "MalformedQueryString",
        "The request has a malformed percent-encoding.",
    );
    error(
        &query(&url, "Action=DescribeClusters&ClusterIdentifier=%ff%fe").await,
        400,
        "MalformedQueryString",
        "The request is not valid UTF-8 once decoded.",
    );
    error(
        &query(&url, "Action=DescribeClusters&MaxRecords=many").await,
        400,
        "InvalidParameterValue",
        "Invalid value for parameter MaxRecords: expected an integer.",
    );
    error(
        &query(&url, "Version=2012-12-01").await,
        400,
        "MissingAction",
        "Unrecognized request: expected an X-Amz-Target header (AWS JSON 1.1) or a form body with an Action parameter (AWS Query).",
    );

    // GET with the parameters in the query string is AWS Query too.
    let response = reqwest::get(format!("{url}/?Action=DescribeClusters&Version=2012-12-01"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with(&format!(
            "<DescribeClustersResponse {NS}><DescribeClustersResult><Clusters></Clusters>"
        )),
        "{body}"
    );
}
