//! VPCs: DescribeVpcs, and the VPC lookup the load balancer uses
//! ([`wharf_core::NetworkInterfaces::vpc`]). wharf has only each account's default VPC (see
//! [`crate::default_network`]).

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::{bool_value, FilterSet};
use crate::generated::{
    BlockPublicAccessStates, DescribeVpcsRequest, DescribeVpcsResult, Error, Vpc,
    VpcCidrBlockAssociation, VpcCidrBlockState,
};
use crate::generated::{
    CreateVpcRequest, CreateVpcResult, DeleteVpcRequest, DescribeVpcAttributeRequest,
    DescribeVpcAttributeResult, ModifyVpcAttributeRequest,
};
use crate::paging::page;
use crate::records::{scope_prefix, scoped_key, VpcRecord, VPCS};
use crate::tags;
use crate::Ec2;
use wharf_core::{RequestContext, VpcInfo};
use wharf_store::StoreError;

impl VpcRecord {
    fn to_wire(&self) -> Vpc {
        Vpc {
            owner_id: Some(self.owner_id.clone()),
            instance_tenancy: Some("default".into()),
            cidr_block_association_set: Some(vec![VpcCidrBlockAssociation {
                association_id: Some(self.cidr_association_id.clone()),
                cidr_block: Some(self.cidr_block.clone()),
                cidr_block_state: Some(VpcCidrBlockState {
                    state: Some("associated".into()),
                    status_message: None,
                }),
            }]),
            is_default: Some(self.is_default),
            tags: tags::to_wire(&self.tags),
            block_public_access_states: Some(BlockPublicAccessStates {
                internet_gateway_block_mode: Some("off".into()),
            }),
            vpc_id: Some(self.id.clone()),
            state: Some("available".into()),
            cidr_block: Some(self.cidr_block.clone()),
            dhcp_options_id: Some(self.dhcp_options_id.clone()),
            ..Vpc::default()
        }
    }

    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "vpc-id" => vec![self.id.clone()],
            "isDefault" | "is-default" => bool_value(self.is_default),
            "cidr" | "cidr-block" | "cidrBlock" | "cidr-block-association.cidr-block" => {
                vec![self.cidr_block.clone()]
            }
            "cidr-block-association.association-id" => vec![self.cidr_association_id.clone()],
            "cidr-block-association.state" => vec!["associated".into()],
            "dhcp-options-id" => vec![self.dhcp_options_id.clone()],
            "owner-id" => vec![self.owner_id.clone()],
            "state" => vec!["available".into()],
            _ => Vec::new(),
        }
    }
}

/// Filter names `DescribeVpcs` accepts besides the tag filters.
const VPC_FILTERS: &[&str] = &[
    "vpc-id",
    "isDefault",
    "is-default",
    "cidr",
    "cidr-block",
    "cidrBlock",
    "cidr-block-association.cidr-block",
    "cidr-block-association.association-id",
    "cidr-block-association.state",
    "dhcp-options-id",
    "owner-id",
    "state",
];

/// DescribeVpcs.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeVpcsRequest,
) -> Result<DescribeVpcsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), VPC_FILTERS)?;
    default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let rows: Vec<(String, VpcRecord)> = ec2
        .store
        .read(|tx| tx.list(VPCS, &scope_prefix(&ctx.account_id, &ctx.region)))?;
    let mut vpcs: Vec<VpcRecord> = rows.into_iter().map(|(_, v)| v).collect();
    if let Some(ids) = input.vpc_ids.as_deref().filter(|ids| !ids.is_empty()) {
        if let Some(missing) = ids.iter().find(|id| !vpcs.iter().any(|v| v.id == **id)) {
            return Err(Error::InvalidVpcIDNotFound(format!(
                "The vpc ID '{missing}' does not exist"
            )));
        }
        vpcs.retain(|v| ids.contains(&v.id));
    }
    vpcs.retain(|v| filters.matches(|name| v.field(name), &v.tags));
    let (vpcs, next_token) = page(
        vpcs,
        |v| v.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeVpcsResult {
        vpcs: Some(vpcs.iter().map(VpcRecord::to_wire).collect()),
        next_token,
    })
}

/// The VPC `id` of `account` in `region` with its default security group, if it exists.
pub fn info(
    ec2: &Ec2,
    account: &str,
    region: &str,
    id: &str,
) -> Result<Option<VpcInfo>, StoreError> {
    default_network::ensure(ec2, account, region)?;
    ec2.store.read(|tx| {
        let Some(vpc) = tx.get(VPCS, &scoped_key(account, region, id))? else {
            return Ok(None);
        };
        let default_security_group =
            default_network::default_group(tx, account, region, &vpc.id)?.map(|g| g.id);
        Ok(Some(VpcInfo {
            id: vpc.id,
            cidr_block: vpc.cidr_block,
            default_security_group,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::tests::filter;
    use crate::tests::setup;

    #[test]
    fn default_vpc_is_created_once_and_stays() {
        let (_dir, ec2, ctx) = setup();
        let by_filter = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    filters: Some(vec![filter("isDefault", &["true"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(by_filter.len(), 1);
        let vpc = &by_filter[0];
        assert_eq!(vpc.cidr_block.as_deref(), Some("172.31.0.0/16"));
        assert_eq!(vpc.is_default, Some(true));
        assert_eq!(vpc.state.as_deref(), Some("available"));
        assert_eq!(vpc.owner_id.as_deref(), Some("123456789012"));
        let id = vpc.vpc_id.clone().unwrap();
        assert!(id.starts_with("vpc-") && id.len() == 21);
        assert!(vpc.dhcp_options_id.as_deref().unwrap().starts_with("dopt-"));
        assert_eq!(
            vpc.cidr_block_association_set.as_ref().unwrap()[0]
                .cidr_block
                .as_deref(),
            Some("172.31.0.0/16")
        );

        let again = ec2
            .describe_vpcs(&ctx, DescribeVpcsRequest::default())
            .unwrap()
            .vpcs
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].vpc_id.as_deref(), Some(id.as_str()));

        let other_region = RequestContext::for_tests("eu-west-1", "123456789012", ctx.now);
        let there = ec2
            .describe_vpcs(&other_region, DescribeVpcsRequest::default())
            .unwrap()
            .vpcs
            .unwrap();
        assert_ne!(there[0].vpc_id, Some(id));
    }

    #[test]
    fn describe_vpcs_by_id_and_filters() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        let got = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    vpc_ids: Some(vec![net.vpc_id.clone()]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(got.vpcs.unwrap().len(), 1);
        let err = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    vpc_ids: Some(vec!["vpc-0000".into()]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidVpcIDNotFound("The vpc ID 'vpc-0000' does not exist".into())
        );
        for (name, value, expected) in [
            ("isDefault", "false", 0),
            ("cidr", "172.31.0.0/16", 1),
            ("cidr-block", "172.31.*", 1),
            ("state", "available", 1),
            ("vpc-id", "vpc-*", 1),
            ("tag:Name", "*", 0),
            ("tag-key", "*", 0),
        ] {
            let vpcs = ec2
                .describe_vpcs(
                    &ctx,
                    DescribeVpcsRequest {
                        filters: Some(vec![filter(name, &[value])]),
                        ..Default::default()
                    },
                )
                .unwrap()
                .vpcs
                .unwrap();
            assert_eq!(vpcs.len(), expected, "{name}={value}");
        }
        let err = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    filters: Some(vec![filter("bogus", &["x"])]),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameterValue("The filter 'bogus' is invalid".into())
        );
    }

    #[test]
    fn dry_run_is_refused_with_dry_run_operation() {
        let (_dir, ec2, ctx) = setup();
        let err = ec2
            .describe_vpcs(
                &ctx,
                DescribeVpcsRequest {
                    dry_run: Some(true),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::DryRunOperation(_)));
    }
}

// ---- being built (issue 14) ----

/// Being built.
pub fn create(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateVpcRequest,
) -> Result<CreateVpcResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(_ec2: &Ec2, _ctx: &RequestContext, _input: DeleteVpcRequest) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn modify_attribute(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: ModifyVpcAttributeRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe_attribute(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeVpcAttributeRequest,
) -> Result<DescribeVpcAttributeResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
