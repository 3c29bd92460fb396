//! Checks more than one resource applies: a task's network configuration is checked the same
//! way by RunTask and by CreateService / UpdateService, and its subnets and security groups
//! against EC2 (when wired) for tasks RunTask or a service's controller places.

use crate::generated::Error;
use crate::records::{NetworkConfigurationRecord, TaskDefinitionDescription};
use crate::Ecs;
use wharf_core::{PlacementSubnet, RequestContext};

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidParameterException(msg.into())
}

/// Checks the network configuration against the task definition and launch type.
pub fn check_network(
    net: Option<&NetworkConfigurationRecord>,
    def: &TaskDefinitionDescription,
    launch_type: &str,
) -> Result<(), Error> {
    let awsvpc = def.network_mode.as_deref() == Some("awsvpc");
    let Some(vpc) = net.and_then(|n| n.awsvpc_configuration.as_ref()) else {
        if awsvpc {
            return Err(invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ));
        }
        return Ok(());
    };
    if !awsvpc {
        return Err(invalid(
            "Network Configuration is only valid for task definitions with networkMode 'awsvpc'.",
        ));
    }
    if vpc.subnets.is_empty() {
        return Err(invalid("subnets can not be empty."));
    }
    if vpc.subnets.len() > 16 {
        return Err(invalid(
            "awsvpcConfiguration.subnets can have at most 16 items.",
        ));
    }
    if let Some(bad) = vpc.subnets.iter().find(|s| !s.starts_with("subnet-")) {
        return Err(invalid(format!(
            "Invalid subnet id '{bad}' in awsvpcConfiguration.subnets."
        )));
    }
    let sgs = vpc.security_groups.as_deref().unwrap_or_default();
    if sgs.len() > 5 {
        return Err(invalid(
            "awsvpcConfiguration.securityGroups can have at most 5 items.",
        ));
    }
    if let Some(bad) = sgs.iter().find(|s| !s.starts_with("sg-")) {
        return Err(invalid(format!(
            "Invalid security group id '{bad}' in awsvpcConfiguration.securityGroups."
        )));
    }
    if vpc.assign_public_ip.as_deref() == Some("ENABLED") && launch_type != "FARGATE" {
        return Err(invalid(
            "Assign public IP is not supported for this launch type.",
        ));
    }
    Ok(())
}

/// The subnets `ids` names, in order, or ECS's error for the first that does not exist.
pub fn placement_subnets(
    ecs: &Ecs,
    ctx: &RequestContext,
    ids: &[String],
) -> Result<Vec<PlacementSubnet>, Error> {
    let Some(network) = ecs.network() else {
        return Ok(ids
            .iter()
            .map(|id| PlacementSubnet {
                id: id.clone(),
                vpc_id: "vpc-00000000".into(),
                availability_zone: format!("{}a", ctx.region),
                cidr_block: "172.31.0.0/20".into(),
            })
            .collect());
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match network.subnet(&ctx.account_id, &ctx.region, id) {
            Ok(Some(s)) => out.push(s),
            Ok(None) => {
                return Err(Error::InvalidParameterException(format!(
                    "Error retrieving subnet information for [{id}]: The subnet ID '{id}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)"
                )))
            }
            Err(e) => return Err(Error::ServerException(e)),
        }
    }
    if let Some(other) = out.iter().find(|s| s.vpc_id != out[0].vpc_id) {
        return Err(Error::InvalidParameterException(format!(
            "The subnets {} and {} belong to different VPCs: all subnets of a task must be in one VPC.",
            out[0].id, other.id
        )));
    }
    Ok(out)
}

/// `ids` if every security group exists, else ECS's error for the first that does not.
pub fn check_security_groups(
    ecs: &Ecs,
    ctx: &RequestContext,
    ids: &[String],
) -> Result<Vec<String>, Error> {
    if let Some(network) = ecs.network() {
        for id in ids {
            match network.security_group_exists(&ctx.account_id, &ctx.region, id) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Error::InvalidParameterException(format!(
                        "Error retrieving security group information for [{id}]: The security group '{id}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroup.NotFound)"
                    )))
                }
                Err(e) => return Err(Error::ServerException(e)),
            }
        }
    }
    Ok(ids.to_vec())
}
