//! CreateWorkgroup, GetWorkgroup, ListWorkgroups, UpdateWorkgroup and DeleteWorkgroup.
//!
//! A workgroup is the compute in front of one namespace: its endpoint is a PostgreSQL
//! front on a port of its own, into the namespace's server. As on AWS, a namespace has at
//! most one workgroup.

use super::error::{Error, invalid};
use super::model::{
    CreateWorkgroupRequest, DeleteWorkgroupRequest, GetWorkgroupRequest, ListWorkgroupsRequest,
    ListWorkgroupsResponse, UpdateWorkgroupRequest, WorkgroupResponse,
};
use super::store::{Store, WorkgroupRecord};
use super::validate;
use crate::services::paging;
use crate::services::redshift::{Env, Server};

/// The port a workgroup reports when none is asked for.
pub const DEFAULT_PORT: i32 = 5439;
/// The base capacity (RPUs) of a workgroup when none is asked for.
pub const DEFAULT_BASE_CAPACITY: i32 = 128;

/// # Errors
/// The model's errors for CreateWorkgroup.
pub fn create(
    store: &mut Store,
    env: &Env<'_>,
    req: &CreateWorkgroupRequest,
) -> Result<WorkgroupResponse, Error> {
    validate::resource_name("workgroupName", &req.workgroup_name)?;
    validate::resource_name("namespaceName", &req.namespace_name)?;
    let base_capacity = req.settings.base_capacity.unwrap_or(DEFAULT_BASE_CAPACITY);
    validate::base_capacity(base_capacity)?;
    if let Some(max) = req.settings.max_capacity {
        validate::max_capacity(max, base_capacity)?;
    }
    let port = req.settings.port.unwrap_or(DEFAULT_PORT);
    validate::port(port)?;
    let config_parameters = validate::config_parameters(
        req.settings
            .config_parameters
            .as_deref()
            .unwrap_or_default(),
    )?;
    let ip_address_type = req
        .settings
        .ip_address_type
        .clone()
        .unwrap_or_else(|| "ipv4".to_owned());
    validate::ip_address_type(&ip_address_type)?;
    let track_name = req
        .settings
        .track_name
        .clone()
        .unwrap_or_else(|| "current".to_owned());
    validate::track_name(&track_name)?;
    if let Some(target) = &req.settings.price_performance_target {
        performance_target(target)?;
    }
    let tags = validate::merge_tags(
        &[],
        validate::tags(req.tags.as_deref().unwrap_or_default())?,
    )?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    if store.workgroups.contains_key(&req.workgroup_name) {
        return Err(Error::Conflict(format!(
            "Workgroup {} already exists.",
            req.workgroup_name
        )));
    }
    let namespace = store
        .namespaces
        .get(&req.namespace_name)
        .ok_or_else(|| Error::namespace_not_found(&req.namespace_name))?;
    if namespace.deleting_since.is_some() {
        return Err(Error::Conflict(format!(
            "There is an operation running on the namespace {}. Try again later.",
            namespace.name
        )));
    }
    if let Some(other) = store
        .workgroups
        .values()
        .find(|w| w.namespace_name == req.namespace_name)
    {
        return Err(Error::Conflict(format!(
            "Namespace {} already has the workgroup {}. A namespace can have only one workgroup.",
            req.namespace_name, other.name
        )));
    }
    let engine_port = (env.new_ports)(1)
        .map_err(|e| {
            Error::InsufficientCapacity(format!(
                "There is no capacity for the workgroup {}: {e}.",
                req.workgroup_name
            ))
        })?
        .and_then(|ports| ports.first().copied());
    let record = WorkgroupRecord {
        name: req.workgroup_name.clone(),
        id: uuid::Uuid::new_v4().to_string(),
        namespace_name: req.namespace_name.clone(),
        base_capacity,
        max_capacity: req.settings.max_capacity,
        port,
        config_parameters,
        enhanced_vpc_routing: req.settings.enhanced_vpc_routing.unwrap_or(false),
        publicly_accessible: req.settings.publicly_accessible.unwrap_or(false),
        security_group_ids: req.settings.security_group_ids.clone().unwrap_or_default(),
        subnet_ids: req.settings.subnet_ids.clone().unwrap_or_default(),
        ip_address_type,
        price_performance_target: req.settings.price_performance_target.clone(),
        track_name,
        extra_compute: req
            .settings
            .extra_compute_for_automatic_optimization
            .unwrap_or(false),
        tags,
        custom_domain: None,
        created: env.now,
        modified: None,
        deleting_since: None,
        engine_port,
    };
    let workgroup = record.view(env.scope, &env.settings.endpoint_host, None, "CREATING");
    store.workgroups.insert(record.name.clone(), record);
    Ok(WorkgroupResponse { workgroup })
}

/// `pricePerformanceTarget`: level 1, 25, 50, 75 or 100; status `ENABLED` or `DISABLED`.
fn performance_target(target: &super::model::PerformanceTarget) -> Result<(), Error> {
    if let Some(level) = target.level
        && ![1, 25, 50, 75, 100].contains(&level)
    {
        return Err(invalid(
            "The price-performance level must be 1, 25, 50, 75 or 100.",
        ));
    }
    if let Some(status) = &target.status
        && !matches!(status.as_str(), "ENABLED" | "DISABLED")
    {
        return Err(invalid(
            "The price-performance target status must be ENABLED or DISABLED.",
        ));
    }
    Ok(())
}

/// # Errors
/// The model's errors for GetWorkgroup.
pub fn get(
    store: &mut Store,
    env: &Env<'_>,
    req: &GetWorkgroupRequest,
) -> Result<WorkgroupResponse, Error> {
    validate::resource_name("workgroupName", &req.workgroup_name)?;
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let record = store
        .workgroups
        .get(&req.workgroup_name)
        .ok_or_else(|| Error::workgroup_not_found(&req.workgroup_name))?;
    Ok(WorkgroupResponse {
        workgroup: record.view(
            env.scope,
            &env.settings.endpoint_host,
            (env.port_of)(Server::Namespace(&record.namespace_name)),
            record.status(env.now, delay),
        ),
    })
}

/// Workgroups in name order, a page at a time; another owner account's are none.
///
/// # Errors
/// The model's errors for ListWorkgroups.
pub fn list(
    store: &mut Store,
    env: &Env<'_>,
    req: &ListWorkgroupsRequest,
) -> Result<ListWorkgroupsResponse, Error> {
    let size = validate::max_results(req.max_results)?;
    if let Some(owner) = &req.owner_account
        && (owner.len() != 12 || !owner.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid("ownerAccount must be a 12-digit account ID."));
    }
    let delay = env.settings.cluster_creation_delay;
    store.purge(env.now, delay);
    let mine = req
        .owner_account
        .as_ref()
        .is_none_or(|owner| *owner == env.scope.account);
    let (page, next_token) =
        paging::page(&store.workgroups, req.next_token.as_deref(), size, |_| mine)
            .map_err(|_| invalid("The nextToken is not valid."))?;
    Ok(ListWorkgroupsResponse {
        workgroups: page
            .into_iter()
            .map(|w| {
                w.view(
                    env.scope,
                    &env.settings.endpoint_host,
                    (env.port_of)(Server::Namespace(&w.namespace_name)),
                    w.status(env.now, delay),
                )
            })
            .collect(),
        next_token,
    })
}

/// Changes one setting of a workgroup, as the service allows per call.
///
/// # Errors
/// The model's errors for UpdateWorkgroup.
pub fn update(
    store: &mut Store,
    env: &Env<'_>,
    req: &UpdateWorkgroupRequest,
) -> Result<WorkgroupResponse, Error> {
    validate::resource_name("workgroupName", &req.workgroup_name)?;
    let settings = [
        req.settings.base_capacity.is_some(),
        req.settings.max_capacity.is_some(),
        req.settings.port.is_some(),
        req.settings.config_parameters.is_some(),
        req.settings.enhanced_vpc_routing.is_some(),
        req.settings.publicly_accessible.is_some(),
        req.settings.security_group_ids.is_some(),
        req.settings.subnet_ids.is_some(),
        req.settings.ip_address_type.is_some(),
        req.settings.price_performance_target.is_some(),
        req.settings.track_name.is_some(),
        req.settings
            .extra_compute_for_automatic_optimization
            .is_some(),
    ];
    if settings.iter().filter(|set| **set).count() > 1 {
        return Err(invalid(format!(
            "Can't update multiple configurations at the same time for workgroup {}.",
            req.workgroup_name
        )));
    }
    if let Some(port) = req.settings.port {
        validate::port(port)?;
    }
    if let Some(value) = &req.settings.ip_address_type {
        validate::ip_address_type(value)?;
    }
    if let Some(value) = &req.settings.track_name {
        validate::track_name(value)?;
    }
    if let Some(target) = &req.settings.price_performance_target {
        performance_target(target)?;
    }
    let config = req
        .settings
        .config_parameters
        .as_deref()
        .map(validate::config_parameters)
        .transpose()?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    let record = store
        .workgroups
        .get(&req.workgroup_name)
        .ok_or_else(|| Error::workgroup_not_found(&req.workgroup_name))?;
    if record.deleting_since.is_some() {
        return Err(Error::Conflict(format!(
            "There is an operation running on the workgroup {}. Try again later.",
            record.name
        )));
    }
    if let Some(base) = req.settings.base_capacity {
        validate::base_capacity(base)?;
        if let Some(max) = record.max_capacity {
            validate::max_capacity(max, base)?;
        }
    }
    // -1 removes the maximum.
    if let Some(max) = req.settings.max_capacity
        && max != -1
    {
        validate::max_capacity(max, record.base_capacity)?;
    }
    let Some(record) = store.workgroups.get_mut(&req.workgroup_name) else {
        return Err(Error::workgroup_not_found(&req.workgroup_name));
    };
    apply(record, req, config);
    record.modified = Some(env.now);
    Ok(WorkgroupResponse {
        workgroup: record.view(
            env.scope,
            &env.settings.endpoint_host,
            (env.port_of)(Server::Namespace(&record.namespace_name)),
            "MODIFYING",
        ),
    })
}

/// Sets the settings an update names.
fn apply(
    record: &mut WorkgroupRecord,
    req: &UpdateWorkgroupRequest,
    config: Option<Vec<(String, String)>>,
) {
    if let Some(base) = req.settings.base_capacity {
        record.base_capacity = base;
    }
    if let Some(max) = req.settings.max_capacity {
        record.max_capacity = (max != -1).then_some(max);
    }
    if let Some(port) = req.settings.port {
        record.port = port;
    }
    if let Some(config) = config {
        for (key, value) in config {
            match record.config_parameters.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => record.config_parameters.push((key, value)),
            }
        }
    }
    if let Some(on) = req.settings.enhanced_vpc_routing {
        record.enhanced_vpc_routing = on;
    }
    if let Some(on) = req.settings.publicly_accessible {
        record.publicly_accessible = on;
    }
    if let Some(ids) = &req.settings.security_group_ids {
        record.security_group_ids.clone_from(ids);
    }
    if let Some(ids) = &req.settings.subnet_ids {
        record.subnet_ids.clone_from(ids);
    }
    if let Some(kind) = &req.settings.ip_address_type {
        record.ip_address_type.clone_from(kind);
    }
    if let Some(target) = &req.settings.price_performance_target {
        record.price_performance_target = Some(target.clone());
    }
    if let Some(track) = &req.settings.track_name {
        record.track_name.clone_from(track);
    }
    if let Some(on) = req.settings.extra_compute_for_automatic_optimization {
        record.extra_compute = on;
    }
}

/// Starts the deletion of a workgroup: its endpoint stops; its namespace keeps its data.
///
/// # Errors
/// The model's errors for DeleteWorkgroup.
pub fn delete(
    store: &mut Store,
    env: &Env<'_>,
    req: &DeleteWorkgroupRequest,
) -> Result<WorkgroupResponse, Error> {
    validate::resource_name("workgroupName", &req.workgroup_name)?;
    store.purge(env.now, env.settings.cluster_creation_delay);
    let record = store
        .workgroups
        .get_mut(&req.workgroup_name)
        .ok_or_else(|| Error::workgroup_not_found(&req.workgroup_name))?;
    if record.deleting_since.is_some() {
        return Err(Error::Conflict(format!(
            "There is an operation running on the workgroup {}. Try deleting the workgroup again later.",
            record.name
        )));
    }
    record.deleting_since = Some(env.now);
    Ok(WorkgroupResponse {
        workgroup: record.view(env.scope, &env.settings.endpoint_host, None, "DELETING"),
    })
}
