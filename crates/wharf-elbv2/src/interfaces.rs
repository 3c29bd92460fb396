//! A load balancer's network interfaces: one per subnet, recorded in EC2 with AWS's description
//! `ELB app/<name>/<id>` and the load balancer's security groups, so DescribeNetworkInterfaces
//! lists them and a task rule naming the load balancer's group (`--source-group`) admits it.
//!
//! wharf's load balancer runs on the machine and reaches a subnet through its router, so each
//! interface's address is its subnet's router address, and EC2 resolves a group a load
//! balancer carries to the routers of the VPC (see wharf-ec2's `interface_filters`).

use crate::records::{StoredLoadBalancer, LOAD_BALANCERS};
use crate::Elbv2;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::{Arn, NewNetworkInterface};

/// AWS's description of a load balancer's interfaces.
pub fn description(lb: &StoredLoadBalancer) -> String {
    format!("ELB app/{}/{}", lb.name, lb.id)
}

/// Makes EC2's interfaces of `lb` match it (one per zone's subnet, with its groups).
pub(crate) fn sync(elbv2: &Elbv2, lb: &StoredLoadBalancer) -> Result<(), String> {
    let (account, region) = scope_of(lb)?;
    let mut wanted = Vec::new();
    for zone in &lb.zones {
        let Some(subnet) = elbv2.network.subnet(&account, &region, &zone.subnet_id)? else {
            continue;
        };
        let Some(router) = Ipv4Net::parse(&subnet.cidr_block).map(|n| n.gateway()) else {
            continue;
        };
        wanted.push(NewNetworkInterface {
            account: account.clone(),
            region: region.clone(),
            subnet_id: subnet.id,
            private_ip: router.to_string(),
            mac_address: String::new(),
            public_ip: None,
            security_groups: lb.security_groups.clone(),
            description: description(lb),
        });
    }
    elbv2
        .network
        .sync_described_interfaces(&account, &region, &description(lb), wanted)
}

/// Removes EC2's interfaces of `lb` (it was deleted).
pub(crate) fn remove(elbv2: &Elbv2, lb: &StoredLoadBalancer) -> Result<(), String> {
    let (account, region) = scope_of(lb)?;
    elbv2
        .network
        .sync_described_interfaces(&account, &region, &description(lb), Vec::new())
}

/// Makes every load balancer's interfaces match it: load balancers created before wharf
/// recorded them get theirs at start.
pub fn sync_all(elbv2: &Elbv2) {
    let all: Result<Vec<(String, StoredLoadBalancer)>, _> =
        elbv2.store.read(|tx| tx.list(LOAD_BALANCERS, ""));
    match all {
        Ok(all) => {
            for (_, lb) in all {
                if let Err(e) = sync(elbv2, &lb) {
                    tracing::warn!(lb = %lb.arn, error = %e, "cannot record the load balancer's network interfaces");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read load balancers"),
    }
}

fn scope_of(lb: &StoredLoadBalancer) -> Result<(String, String), String> {
    let arn = Arn::parse(&lb.arn).ok_or_else(|| format!("bad load balancer ARN {}", lb.arn))?;
    Ok((arn.account, arn.region))
}
