//! Custom domain associations: a domain name (with its ACM certificate) that reaches a
//! workgroup, which GetCredentials accepts in place of the workgroup's name. The
//! endpoint's certificate carries the name while it is associated.

use chrono::Duration;

use super::error::{Error, invalid};
use super::model::{
    Association, CustomDomainAssociationRequest, CustomDomainRequest, Empty,
    ListCustomDomainAssociationsRequest, ListCustomDomainAssociationsResponse,
};
use super::store::{CustomDomain, Store, WorkgroupRecord};
use super::validate;
use crate::services::paging;
use crate::services::redshift::Env;
use crate::services::redshift::domains::{valid_certificate, valid_domain};

/// How long an associated certificate is reported valid.
const CERTIFICATE_DAYS: i64 = 365;

fn check(workgroup: &str, domain: &str, certificate: Option<&str>) -> Result<String, Error> {
    validate::resource_name("workgroupName", workgroup)?;
    let domain = domain.to_ascii_lowercase();
    if !valid_domain(&domain) {
        return Err(invalid(format!("Invalid custom domain name {domain}.")));
    }
    if let Some(arn) = certificate
        && !valid_certificate(arn)
    {
        return Err(invalid(
            "customDomainCertificateArn must be an ACM certificate ARN.",
        ));
    }
    Ok(domain)
}

/// # Errors
/// The model's errors for CreateCustomDomainAssociation.
pub fn create(
    store: &mut Store,
    env: &Env<'_>,
    req: &CustomDomainAssociationRequest,
) -> Result<Association, Error> {
    let domain = check(
        &req.workgroup_name,
        &req.custom_domain_name,
        Some(&req.custom_domain_certificate_arn),
    )?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    if let Some(other) = store.workgroup_for_domain(&domain)
        && other.name != req.workgroup_name
    {
        return Err(Error::Conflict(format!(
            "The custom domain name {domain} is already associated with the workgroup {}.",
            other.name
        )));
    }
    let workgroup = store
        .workgroups
        .get(&req.workgroup_name)
        .filter(|w| w.deleting_since.is_none())
        .ok_or_else(|| Error::workgroup_not_found(&req.workgroup_name))?;
    if let Some(current) = &workgroup.custom_domain
        && current.name != domain
    {
        return Err(Error::Conflict(format!(
            "The workgroup {} is already associated with the custom domain name {}.",
            workgroup.name, current.name
        )));
    }
    let Some(workgroup) = store.workgroups.get_mut(&req.workgroup_name) else {
        return Err(Error::workgroup_not_found(&req.workgroup_name));
    };
    Ok(associate(workgroup, domain, req, env))
}

/// Associates the domain and its certificate with a workgroup, and answers the
/// association.
fn associate(
    workgroup: &mut WorkgroupRecord,
    domain: String,
    req: &CustomDomainAssociationRequest,
    env: &Env<'_>,
) -> Association {
    let custom = CustomDomain {
        name: domain,
        certificate_arn: req.custom_domain_certificate_arn.clone(),
        expiry: env.now + Duration::days(CERTIFICATE_DAYS),
    };
    let association = custom.association(&workgroup.name);
    workgroup.custom_domain = Some(custom);
    association
}

/// The workgroup the domain is associated with, to change the association.
fn associated<'a>(
    store: &'a mut Store,
    workgroup: &str,
    domain: &str,
) -> Result<&'a mut WorkgroupRecord, Error> {
    store
        .workgroups
        .get_mut(workgroup)
        .filter(|w| w.custom_domain.as_ref().is_some_and(|d| d.name == domain))
        .ok_or_else(|| not_associated(domain, workgroup))
}

/// # Errors
/// The model's errors for GetCustomDomainAssociation.
pub fn get(
    store: &mut Store,
    env: &Env<'_>,
    req: &CustomDomainRequest,
) -> Result<Association, Error> {
    let domain = check(&req.workgroup_name, &req.custom_domain_name, None)?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    store
        .workgroups
        .get(&req.workgroup_name)
        .filter(|w| w.custom_domain.as_ref().is_some_and(|d| d.name == domain))
        .and_then(super::store::WorkgroupRecord::association)
        .ok_or_else(|| not_associated(&domain, &req.workgroup_name))
}

fn not_associated(domain: &str, workgroup: &str) -> Error {
    Error::ResourceNotFound(format!(
        "The custom domain name {domain} is not associated with the workgroup {workgroup}."
    ))
}

/// Gives an association another certificate.
///
/// # Errors
/// The model's errors for UpdateCustomDomainAssociation.
pub fn update(
    store: &mut Store,
    env: &Env<'_>,
    req: &CustomDomainAssociationRequest,
) -> Result<Association, Error> {
    let domain = check(
        &req.workgroup_name,
        &req.custom_domain_name,
        Some(&req.custom_domain_certificate_arn),
    )?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    let workgroup = associated(store, &req.workgroup_name, &domain)?;
    Ok(associate(workgroup, domain, req, env))
}

/// # Errors
/// The model's errors for DeleteCustomDomainAssociation.
pub fn delete(store: &mut Store, env: &Env<'_>, req: &CustomDomainRequest) -> Result<Empty, Error> {
    let domain = check(&req.workgroup_name, &req.custom_domain_name, None)?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    associated(store, &req.workgroup_name, &domain)?.custom_domain = None;
    Ok(Empty {})
}

/// Associations in workgroup order, filtered by domain name and certificate.
///
/// # Errors
/// The model's errors for ListCustomDomainAssociations.
pub fn list(
    store: &mut Store,
    env: &Env<'_>,
    req: &ListCustomDomainAssociationsRequest,
) -> Result<ListCustomDomainAssociationsResponse, Error> {
    let size = validate::max_results(req.max_results)?;
    if let Some(arn) = &req.custom_domain_certificate_arn
        && !valid_certificate(arn)
    {
        return Err(invalid(
            "customDomainCertificateArn must be an ACM certificate ARN.",
        ));
    }
    store.purge(env.now, env.settings.cluster_creation_delay);
    let domain = req
        .custom_domain_name
        .as_ref()
        .map(|d| d.to_ascii_lowercase());
    let (page, next_token) =
        paging::page(&store.workgroups, req.next_token.as_deref(), size, |w| {
            w.custom_domain.as_ref().is_some_and(|d| {
                domain.as_ref().is_none_or(|want| d.name == *want)
                    && req
                        .custom_domain_certificate_arn
                        .as_ref()
                        .is_none_or(|arn| d.certificate_arn == *arn)
            })
        })
        .map_err(|_| Error::InvalidPagination("The nextToken is not valid.".to_owned()))?;
    Ok(ListCustomDomainAssociationsResponse {
        associations: page
            .into_iter()
            .filter_map(super::store::WorkgroupRecord::association)
            .collect(),
        next_token,
    })
}
