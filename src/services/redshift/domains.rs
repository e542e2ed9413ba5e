//! CreateCustomDomainAssociation, DescribeCustomDomainAssociations and
//! DeleteCustomDomainAssociation: the custom domain names that GetClusterCredentials
//! accepts in place of a cluster identifier, and that Amazon's drivers look up to find the
//! cluster behind a host name. The endpoint's certificate carries the name while it is
//! associated.

use std::collections::BTreeMap;

use chrono::Duration;

use super::Env;
use super::clusters::max_records;
use super::error::{Error, invalid};
use super::model::{
    Association, CreateCustomDomainAssociationMessage, CustomDomainAssociation,
    CustomDomainAssociationsMessage, DeleteCustomDomainAssociationMessage,
    DescribeCustomDomainAssociationsMessage,
};
use super::store::{Store, cluster_key};
use crate::services::paging;

/// # Errors
/// The model's errors for CreateCustomDomainAssociation.
pub fn create(
    store: &mut Store,
    env: &Env<'_>,
    req: &CreateCustomDomainAssociationMessage,
) -> Result<CustomDomainAssociation, Error> {
    let domain = req.custom_domain_name.to_ascii_lowercase();
    if !valid_domain(&domain) {
        return Err(invalid(format!(
            "Invalid custom domain name {}.",
            req.custom_domain_name
        )));
    }
    if !valid_certificate(&req.custom_domain_certificate_arn) {
        return Err(invalid(
            "CustomDomainCertificateArn must be an ACM certificate ARN.",
        ));
    }
    store.purge(env.now, env.settings.cluster_creation_delay);
    let id = cluster_key(&req.cluster_identifier).into_owned();
    if store
        .clusters
        .values()
        .any(|c| c.identifier != id && c.custom_domain.as_ref().is_some_and(|(d, _)| *d == domain))
    {
        return Err(Error::CustomCnameAssociation(format!(
            "The custom domain name {domain} is already associated with another cluster."
        )));
    }
    let cluster = store
        .clusters
        .get_mut(&id)
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_identifier.clone()))?;
    let expiry = env.now + Duration::days(365);
    cluster.custom_domain = Some((domain.clone(), req.custom_domain_certificate_arn.clone()));
    cluster.custom_domain_expiry = Some(expiry);
    Ok(CustomDomainAssociation {
        custom_domain_name: domain,
        certificate_arn: req.custom_domain_certificate_arn.clone(),
        cluster_identifier: id,
        expiry: expiry.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    })
}

/// The associations, one per certificate with each (domain name, cluster) that uses it,
/// in certificate ARN order; only those of the domain name and certificate given.
///
/// # Errors
/// `CustomDomainAssociationNotFoundFault` when a domain name or certificate was given and
/// no association has it; `InvalidParameterValue` for `MaxRecords` or `Marker`.
pub fn describe(
    store: &mut Store,
    env: &Env<'_>,
    req: &DescribeCustomDomainAssociationsMessage,
) -> Result<CustomDomainAssociationsMessage, Error> {
    let size = max_records(req.max_records)?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    let mut by_certificate: BTreeMap<String, Association> = BTreeMap::new();
    for cluster in store.clusters.values() {
        let Some((domain, certificate)) = &cluster.custom_domain else {
            continue;
        };
        if req
            .custom_domain_name
            .as_ref()
            .is_some_and(|d| !d.eq_ignore_ascii_case(domain))
            || req
                .custom_domain_certificate_arn
                .as_ref()
                .is_some_and(|c| c != certificate)
        {
            continue;
        }
        by_certificate
            .entry(certificate.clone())
            .or_insert_with(|| Association {
                certificate_arn: certificate.clone(),
                expiry: cluster
                    .custom_domain_expiry
                    .unwrap_or(cluster.created + Duration::days(365)),
                domains: Vec::new(),
            })
            .domains
            .push((domain.clone(), cluster.identifier.clone()));
    }
    let filtered = req.custom_domain_name.is_some() || req.custom_domain_certificate_arn.is_some();
    if filtered && by_certificate.is_empty() {
        return Err(Error::CustomDomainAssociationNotFound(
            "The custom domain association was not found.".to_owned(),
        ));
    }
    let (page, marker) = paging::page(&by_certificate, req.marker.as_deref(), size, |_| true)
        .map_err(|_| invalid("Invalid Marker."))?;
    Ok(CustomDomainAssociationsMessage {
        associations: page.into_iter().cloned().collect(),
        marker,
    })
}

/// # Errors
/// The model's errors for DeleteCustomDomainAssociation.
pub fn delete(
    store: &mut Store,
    env: &Env<'_>,
    req: &DeleteCustomDomainAssociationMessage,
) -> Result<(), Error> {
    store.purge(env.now, env.settings.cluster_creation_delay);
    let cluster = store
        .clusters
        .get_mut(&cluster_key(&req.cluster_identifier))
        .ok_or_else(|| Error::ClusterNotFound(req.cluster_identifier.clone()))?;
    match &cluster.custom_domain {
        Some((domain, _)) if domain.eq_ignore_ascii_case(&req.custom_domain_name) => {
            cluster.custom_domain = None;
            cluster.custom_domain_expiry = None;
            Ok(())
        }
        _ => Err(Error::CustomDomainAssociationNotFound(format!(
            "No custom domain association {} for cluster {}.",
            req.custom_domain_name, req.cluster_identifier
        ))),
    }
}

/// Labels of letters, digits and inner hyphens, at least two of them, 253 characters at most.
#[must_use]
pub fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[must_use]
pub fn valid_certificate(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    arn.len() >= 20
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "acm"
        && parts[4].bytes().all(|b| b.is_ascii_digit())
}
