//! Checks more than one resource applies: a task's network configuration is checked the same
//! way by RunTask and by CreateService / UpdateService.

use crate::generated::Error;
use crate::records::{NetworkConfigurationRecord, TaskDefinitionDescription};

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
