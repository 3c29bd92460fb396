//! A load balancer's network interfaces: one per subnet, recorded in EC2 with AWS's description
//! `ELB app/<name>/<id>` and the load balancer's security groups, so DescribeNetworkInterfaces
//! lists them and a task rule naming the load balancer's group (`--source-group`) admits it.
//!
//! Each interface has an address of its subnet (EC2 gives the highest free one). The data
//! plane connects to targets from it (the target group's `source_address` in the snapshot) and
//! serves only the clients the interface's filter admits (the load balancer's `client_filter`).

use crate::records::{scope, StoredLoadBalancer, LOAD_BALANCERS};
use crate::Elbv2;
use std::collections::BTreeMap;
use wharf_core::packet_filter::FilterRule;
use wharf_core::{Arn, NewNetworkInterface};

/// AWS's description of a load balancer's interfaces.
pub fn description(lb: &StoredLoadBalancer) -> String {
    format!("ELB app/{}/{}", lb.name, lb.id)
}

/// Makes EC2's interfaces of `lb` match it (one per zone's subnet, with its groups) and keeps
/// their ids and addresses in its zones.
pub(crate) fn sync(elbv2: &Elbv2, lb: &StoredLoadBalancer) -> Result<(), String> {
    let (account, region) = scope_of(lb)?;
    let wanted = lb
        .zones
        .iter()
        .map(|zone| NewNetworkInterface {
            account: account.clone(),
            region: region.clone(),
            subnet_id: zone.subnet_id.clone(),
            private_ip: String::new(),
            mac_address: String::new(),
            public_ip: None,
            security_groups: lb.security_groups.clone(),
            description: description(lb),
        })
        .collect();
    let recorded =
        elbv2
            .network
            .sync_described_interfaces(&account, &region, &description(lb), wanted)?;
    let mut zones = lb.zones.clone();
    for zone in &mut zones {
        if let Some(eni) = recorded.iter().find(|e| e.subnet_id == zone.subnet_id) {
            zone.interface_id = eni.id.clone();
            zone.address = eni.private_ip.clone();
        }
    }
    if zones == lb.zones {
        return Ok(());
    }
    let key = format!("{}{}", scope(&account, &region), lb.id);
    elbv2
        .write(|tx| {
            // Only if the load balancer is still there (it may have been deleted meanwhile).
            if let Some(mut current) = tx.get::<StoredLoadBalancer>(LOAD_BALANCERS, &key)? {
                current.zones = zones;
                tx.put(LOAD_BALANCERS, &key, &current)?;
            }
            Ok(())
        })
        .map_err(|e| format!("cannot keep the load balancer's interfaces: {e}"))
}

/// Removes EC2's interfaces of `lb` (it was deleted).
pub(crate) fn remove(elbv2: &Elbv2, lb: &StoredLoadBalancer) -> Result<(), String> {
    let (account, region) = scope_of(lb)?;
    elbv2
        .network
        .sync_described_interfaces(&account, &region, &description(lb), Vec::new())
        .map(drop)
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

/// The clients each load balancer of `lbs` admits: the ingress rules of its interfaces'
/// filter (EC2 resolves its groups' rules). A load balancer whose interfaces EC2 does not
/// filter (not recorded yet, or a network that keeps no groups) is left out: it admits all.
pub(crate) fn client_filters(
    elbv2: &Elbv2,
    lbs: &[StoredLoadBalancer],
) -> BTreeMap<String, Vec<FilterRule>> {
    let mut by_scope: BTreeMap<(String, String), Vec<&StoredLoadBalancer>> = BTreeMap::new();
    for lb in lbs {
        if let Ok(scope) = scope_of(lb) {
            by_scope.entry(scope).or_default().push(lb);
        }
    }
    let mut out = BTreeMap::new();
    for ((account, region), lbs) in by_scope {
        let ids: Vec<String> = lbs
            .iter()
            .filter_map(|lb| first_interface(lb).map(str::to_string))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let filters = match elbv2.network.interface_filters(&account, &region, &ids) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(%account, %region, error = %e, "cannot read the load balancers' security group rules");
                continue;
            }
        };
        for lb in lbs {
            if let Some(filter) = first_interface(lb).and_then(|id| filters.get(id)) {
                out.insert(lb.arn.clone(), filter.ingress.clone());
            }
        }
    }
    out
}

/// The load balancer's first recorded interface (all of them carry the same groups).
fn first_interface(lb: &StoredLoadBalancer) -> Option<&str> {
    lb.zones
        .iter()
        .map(|z| z.interface_id.as_str())
        .find(|id| !id.is_empty())
}

fn scope_of(lb: &StoredLoadBalancer) -> Result<(String, String), String> {
    let arn = Arn::parse(&lb.arn).ok_or_else(|| format!("bad load balancer ARN {}", lb.arn))?;
    Ok((arn.account, arn.region))
}
