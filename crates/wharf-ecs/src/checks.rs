//! Checks more than one resource applies: a task's network configuration is checked the same
//! way by RunTask and by CreateService / UpdateService, and its subnets and security groups
//! against EC2 (when wired) for tasks RunTask or a service's controller places.

use crate::errors::invalid;
use crate::generated::Error;
use crate::records::{NetworkConfigurationRecord, TaskDefinitionDescription};
use crate::Ecs;
use wharf_core::{PlacementSubnet, RequestContext};

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

/// `ids` if every security group exists (and, given the subnets' `vpc_id`, is in that VPC),
/// else ECS's error for the first that does not.
pub fn check_security_groups(
    ecs: &Ecs,
    ctx: &RequestContext,
    ids: &[String],
    vpc_id: Option<&str>,
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
            let Some(vpc_id) = vpc_id else { continue };
            match network.security_group_in_vpc(&ctx.account_id, &ctx.region, id, vpc_id) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Error::InvalidParameterException(format!(
                        "Security group {id} and the subnets of VPC {vpc_id} belong to different networks: a task's security groups must be in its subnets' VPC."
                    )))
                }
                Err(e) => return Err(Error::ServerException(e)),
            }
        }
    }
    Ok(ids.to_vec())
}

/// Checks a service's awsvpc subnets and security groups against EC2 (they exist, the groups
/// are in the subnets' VPC), as CreateService / UpdateService do. Ids that are not even
/// well-formed are left to [`check_network`], which gives AWS's message for them.
pub fn check_awsvpc_resources(
    ecs: &Ecs,
    ctx: &RequestContext,
    net: Option<&NetworkConfigurationRecord>,
) -> Result<(), Error> {
    let Some(vpc) = net.and_then(|n| n.awsvpc_configuration.as_ref()) else {
        return Ok(());
    };
    let groups = vpc.security_groups.as_deref().unwrap_or_default();
    let well_formed = !vpc.subnets.is_empty()
        && vpc.subnets.iter().all(|s| s.starts_with("subnet-"))
        && groups.iter().all(|g| g.starts_with("sg-"));
    if ecs.network().is_none() || !well_formed {
        return Ok(());
    }
    let subnets = placement_subnets(ecs, ctx, &vpc.subnets)?;
    let vpc_id = subnets.first().map(|s| s.vpc_id.as_str());
    check_security_groups(ecs, ctx, groups, vpc_id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::AwsVpcConfigurationRecord;
    use crate::testing;
    use std::sync::Arc;
    use wharf_core::{NetworkInterfaces, NewNetworkInterface};

    /// Two VPCs: `subnet-a` and `sg-a` in `vpc-a`, `subnet-b` and `sg-b` in `vpc-b`.
    struct TwoVpcs;

    impl NetworkInterfaces for TwoVpcs {
        fn subnet(&self, _: &str, _: &str, id: &str) -> Result<Option<PlacementSubnet>, String> {
            let vpc = match id {
                "subnet-a" => "vpc-a",
                "subnet-b" => "vpc-b",
                _ => return Ok(None),
            };
            Ok(Some(PlacementSubnet {
                id: id.into(),
                vpc_id: vpc.into(),
                availability_zone: "us-east-1a".into(),
                cidr_block: "10.0.0.0/24".into(),
            }))
        }
        fn security_group_exists(&self, _: &str, _: &str, id: &str) -> Result<bool, String> {
            Ok(id == "sg-a" || id == "sg-b")
        }
        fn security_group_in_vpc(
            &self,
            _: &str,
            _: &str,
            id: &str,
            vpc: &str,
        ) -> Result<bool, String> {
            Ok(id.strip_prefix("sg-") == vpc.strip_prefix("vpc-"))
        }
        fn create_interface(&self, _: NewNetworkInterface) -> Result<String, String> {
            Err("not used".into())
        }
        fn delete_interface(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
            Ok(())
        }
    }

    fn net(subnets: &[&str], groups: &[&str]) -> NetworkConfigurationRecord {
        NetworkConfigurationRecord {
            awsvpc_configuration: Some(AwsVpcConfigurationRecord {
                subnets: subnets.iter().map(|s| s.to_string()).collect(),
                security_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
                assign_public_ip: None,
            }),
        }
    }

    #[test]
    fn awsvpc_groups_must_be_in_the_subnets_vpc() {
        let (_dir, ecs) = testing::ecs();
        let ecs = ecs.with_network(Arc::new(TwoVpcs));
        let ctx = testing::ctx();
        let check = |subnets: &[&str], groups: &[&str]| {
            check_awsvpc_resources(&ecs, &ctx, Some(&net(subnets, groups)))
        };
        assert!(check(&["subnet-a"], &["sg-a"]).is_ok());
        assert!(check(&["subnet-b"], &["sg-b"]).is_ok());
        assert!(check(&["subnet-a"], &[]).is_ok());
        let err = check(&["subnet-a"], &["sg-b"]).unwrap_err();
        assert!(
            err.to_string().contains("belong to different networks"),
            "{err}"
        );
        let err = check(&["subnet-a"], &["sg-c"]).unwrap_err();
        assert!(err.to_string().contains("InvalidGroup.NotFound"), "{err}");
        let err = check(&["subnet-c"], &["sg-a"]).unwrap_err();
        assert!(
            err.to_string().contains("InvalidSubnetID.NotFound"),
            "{err}"
        );
        assert!(check(&["subnet-a", "subnet-b"], &[]).is_err());
        // Malformed ids are check_network's to refuse, with its own message.
        assert!(check(&["nope"], &["sg-b"]).is_ok());
        assert!(check_awsvpc_resources(&ecs, &ctx, None).is_ok());
    }
}
