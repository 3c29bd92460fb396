//! Network ACLs: DescribeNetworkAcls. wharf keeps each VPC's default ACL (allow everything in
//! and out, made with the VPC by [`crate::companions`]); every subnet of the VPC is associated
//! with it. Subnets created by CreateSubnet carry a stored association; the default subnets,
//! made before ACLs were modelled, get one whose id follows from the subnet's, so it is the
//! same in every answer.

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    DescribeNetworkAclsRequest, DescribeNetworkAclsResult, Error, NetworkAcl,
    NetworkAclAssociation, NetworkAclEntry,
};
use crate::paging::page;
use crate::records::{
    scope_prefix, NetworkAclAssociationRecord, NetworkAclEntryRecord, NetworkAclRecord,
    SubnetRecord, NETWORK_ACLS, SUBNETS,
};
use crate::tags;
use crate::Ec2;
use wharf_core::RequestContext;
use wharf_store::StoreError;

/// AWS's error for a network ACL id that does not exist.
pub fn not_found(id: &str) -> Error {
    Error::InvalidNetworkAclIDNotFound(format!("The networkAcl ID '{id}' does not exist"))
}

/// The stable association id of a subnet that has no stored one: `aclassoc-` and the hex
/// digits of the subnet's id.
fn derived_association_id(subnet_id: &str) -> String {
    let digits = subnet_id.strip_prefix("subnet-").unwrap_or(subnet_id);
    format!("aclassoc-{digits}")
}

/// An ACL as answers show it: its stored associations, and one for every other subnet of its
/// VPC when it is the VPC's default ACL.
struct Shown {
    acl: NetworkAclRecord,
    associations: Vec<NetworkAclAssociationRecord>,
}

impl Shown {
    fn new(acl: NetworkAclRecord, subnets: &[SubnetRecord]) -> Self {
        let mut associations = acl.associations.clone();
        if acl.is_default {
            for subnet in subnets.iter().filter(|s| s.vpc_id == acl.vpc_id) {
                if !associations.iter().any(|a| a.subnet_id == subnet.id) {
                    associations.push(NetworkAclAssociationRecord {
                        id: derived_association_id(&subnet.id),
                        subnet_id: subnet.id.clone(),
                    });
                }
            }
        }
        associations.sort_by(|a, b| a.subnet_id.cmp(&b.subnet_id));
        Self { acl, associations }
    }

    fn to_wire(&self) -> NetworkAcl {
        let acl = &self.acl;
        NetworkAcl {
            associations: Some(
                self.associations
                    .iter()
                    .map(|a| NetworkAclAssociation {
                        network_acl_association_id: Some(a.id.clone()),
                        network_acl_id: Some(acl.id.clone()),
                        subnet_id: Some(a.subnet_id.clone()),
                    })
                    .collect(),
            ),
            entries: Some(acl.entries.iter().map(entry_to_wire).collect()),
            is_default: Some(acl.is_default),
            network_acl_id: Some(acl.id.clone()),
            tags: tags::to_wire(&acl.tags),
            vpc_id: Some(acl.vpc_id.clone()),
            owner_id: Some(acl.owner_id.clone()),
        }
    }

    /// The values of filter `name`: one per association or entry for theirs.
    fn field(&self, name: &str) -> Vec<String> {
        let acl = &self.acl;
        let entries = |f: fn(&NetworkAclEntryRecord) -> Option<String>| {
            acl.entries.iter().filter_map(f).collect::<Vec<String>>()
        };
        match name {
            "network-acl-id" => vec![acl.id.clone()],
            "association.network-acl-id" => {
                self.associations.iter().map(|_| acl.id.clone()).collect()
            }
            "vpc-id" => vec![acl.vpc_id.clone()],
            "owner-id" => vec![acl.owner_id.clone()],
            "default" => bool_value(acl.is_default),
            "association.association-id" => {
                self.associations.iter().map(|a| a.id.clone()).collect()
            }
            "association.subnet-id" => self
                .associations
                .iter()
                .map(|a| a.subnet_id.clone())
                .collect(),
            "entry.cidr" => entries(|e| Some(e.cidr_block.clone())),
            "entry.egress" => entries(|e| Some(e.egress.to_string())),
            "entry.protocol" => entries(|e| Some(e.protocol.clone())),
            "entry.rule-action" => entries(|e| Some(e.rule_action.clone())),
            "entry.rule-number" => entries(|e| Some(e.rule_number.to_string())),
            // Entries of every protocol (-1): no ports, ICMP codes or IPv6 ranges to match.
            _ => Vec::new(),
        }
    }
}

fn entry_to_wire(e: &NetworkAclEntryRecord) -> NetworkAclEntry {
    NetworkAclEntry {
        cidr_block: Some(e.cidr_block.clone()),
        egress: Some(e.egress),
        protocol: Some(e.protocol.clone()),
        rule_action: Some(e.rule_action.clone()),
        rule_number: Some(e.rule_number),
        ..NetworkAclEntry::default()
    }
}

/// Filter names `DescribeNetworkAcls` accepts besides the tag filters.
const ACL_FILTERS: &[&str] = &[
    "association.association-id",
    "association.network-acl-id",
    "association.subnet-id",
    "default",
    "entry.cidr",
    "entry.icmp.code",
    "entry.icmp.type",
    "entry.ipv6-cidr",
    "entry.port-range.from",
    "entry.port-range.to",
    "entry.protocol",
    "entry.rule-action",
    "entry.egress",
    "entry.rule-number",
    "network-acl-id",
    "owner-id",
    "vpc-id",
];

/// DescribeNetworkAcls.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeNetworkAclsRequest,
) -> Result<DescribeNetworkAclsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), ACL_FILTERS)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let scope = scope_prefix(account, region);
    let (acls, subnets) = ec2.store.read(|tx| {
        let acls: Vec<(String, NetworkAclRecord)> = tx.list(NETWORK_ACLS, &scope)?;
        let subnets: Vec<(String, SubnetRecord)> = tx.list(SUBNETS, &scope)?;
        Ok::<_, StoreError>((acls, subnets))
    })?;
    let subnets: Vec<SubnetRecord> = subnets.into_iter().map(|(_, s)| s).collect();
    let mut shown: Vec<Shown> = acls
        .into_iter()
        .map(|(_, acl)| Shown::new(acl, &subnets))
        .collect();
    if let Some(ids) = input
        .network_acl_ids
        .as_deref()
        .filter(|ids| !ids.is_empty())
    {
        if let Some(missing) = ids
            .iter()
            .find(|id| !shown.iter().any(|s| s.acl.id == **id))
        {
            return Err(not_found(missing));
        }
        shown.retain(|s| ids.contains(&s.acl.id));
    }
    shown.retain(|s| filters.matches(|name| s.field(name), &s.acl.tags));
    let (shown, next_token) = page(
        shown,
        |s| s.acl.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeNetworkAclsResult {
        network_acls: Some(shown.iter().map(Shown::to_wire).collect()),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{CreateSubnetRequest, CreateVpcRequest, DeleteSubnetRequest, Ec2Api};
    use crate::tests::{filter, setup};

    fn acls(
        ec2: &Ec2,
        ctx: &RequestContext,
        filters: Vec<crate::generated::Filter>,
    ) -> Vec<NetworkAcl> {
        ec2.describe_network_acls(
            ctx,
            DescribeNetworkAclsRequest {
                filters: Some(filters),
                ..Default::default()
            },
        )
        .unwrap()
        .network_acls
        .unwrap()
    }

    #[test]
    fn every_subnet_is_associated_with_its_vpcs_default_acl() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        let default = acls(&ec2, &ctx, vec![filter("vpc-id", &[&net.vpc_id])]);
        assert_eq!(default.len(), 1);
        let acl = &default[0];
        assert_eq!(acl.is_default, Some(true));
        let assocs = acl.associations.clone().unwrap();
        assert_eq!(assocs.len(), 3, "the three default subnets");
        assert!(assocs.iter().all(|a| a
            .network_acl_association_id
            .as_deref()
            .unwrap()
            .starts_with("aclassoc-")));
        let again = acls(&ec2, &ctx, vec![filter("vpc-id", &[&net.vpc_id])]);
        assert_eq!(again[0].associations, acl.associations, "ids are stable");
        let entries = acl.entries.clone().unwrap();
        assert_eq!(entries.len(), 4);
        assert!(entries
            .iter()
            .any(|e| e.rule_number == Some(100) && e.rule_action.as_deref() == Some("allow")));

        let vpc = ec2
            .create_vpc(
                &ctx,
                CreateVpcRequest {
                    cidr_block: Some("10.0.0.0/16".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        let subnet = ec2
            .create_subnet(
                &ctx,
                CreateSubnetRequest {
                    vpc_id: vpc.clone(),
                    cidr_block: Some("10.0.1.0/24".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        let by_subnet = acls(
            &ec2,
            &ctx,
            vec![filter("association.subnet-id", &[&subnet])],
        );
        assert_eq!(by_subnet.len(), 1);
        assert_eq!(by_subnet[0].vpc_id.as_deref(), Some(vpc.as_str()));
        assert_eq!(
            acls(&ec2, &ctx, vec![filter("default", &["true"])]).len(),
            2
        );
        assert_eq!(
            acls(&ec2, &ctx, vec![filter("default", &["false"])]).len(),
            0
        );
        assert_eq!(
            acls(&ec2, &ctx, vec![filter("entry.rule-number", &["32767"])]).len(),
            2
        );
        assert_eq!(
            acls(
                &ec2,
                &ctx,
                vec![
                    filter("entry.rule-action", &["deny"]),
                    filter("vpc-id", &[&vpc])
                ]
            )
            .len(),
            1
        );

        ec2.delete_subnet(
            &ctx,
            DeleteSubnetRequest {
                subnet_id: subnet.clone(),
                dry_run: None,
            },
        )
        .unwrap();
        assert!(acls(
            &ec2,
            &ctx,
            vec![filter("association.subnet-id", &[&subnet])]
        )
        .is_empty());
    }

    #[test]
    fn unknown_acl_ids_and_filters_are_refused() {
        let (_dir, ec2, ctx) = setup();
        let err = ec2
            .describe_network_acls(
                &ctx,
                DescribeNetworkAclsRequest {
                    network_acl_ids: Some(vec!["acl-0000".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidNetworkAclIDNotFound(
                "The networkAcl ID 'acl-0000' does not exist".into()
            )
        );
        assert!(ec2
            .describe_network_acls(
                &ctx,
                DescribeNetworkAclsRequest {
                    filters: Some(vec![filter("colour", &["x"])]),
                    ..Default::default()
                },
            )
            .is_err());
    }
}
