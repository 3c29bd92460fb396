//! Internet gateways: Create, Attach (at most one VPC per gateway and one gateway per VPC),
//! Detach, Delete and Describe. A route table's route to a gateway is what makes its subnets
//! public; a route to a gateway that is detached or deleted shows `blackhole` (see
//! [`crate::route_tables`]).

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::FilterSet;
use crate::generated::{
    AttachInternetGatewayRequest, CreateInternetGatewayRequest, CreateInternetGatewayResult,
    DeleteInternetGatewayRequest, DescribeInternetGatewaysRequest, DescribeInternetGatewaysResult,
    DetachInternetGatewayRequest, Error, InternetGateway, InternetGatewayAttachment,
};
use crate::nat_gateways;
use crate::paging::page;
use crate::records::{scope_prefix, scoped_key, InternetGatewayRecord, INTERNET_GATEWAYS, VPCS};
use crate::routing_lookups;
use crate::tags;
use crate::Ec2;
use wharf_core::RequestContext;
use wharf_store::Tx;

/// `State` of an attachment as DescribeInternetGateways shows it.
const ATTACHED: &str = "available";

/// Filter names DescribeInternetGateways accepts besides the tag filters.
const FILTERS: &[&str] = &[
    "attachment.state",
    "attachment.vpc-id",
    "internet-gateway-id",
    "owner-id",
];

impl InternetGatewayRecord {
    fn to_wire(&self) -> InternetGateway {
        InternetGateway {
            attachments: Some(
                self.attached_vpc
                    .iter()
                    .map(|vpc| InternetGatewayAttachment {
                        state: Some(ATTACHED.into()),
                        vpc_id: Some(vpc.clone()),
                    })
                    .collect(),
            ),
            internet_gateway_id: Some(self.id.clone()),
            owner_id: Some(self.owner_id.clone()),
            tags: tags::to_wire(&self.tags),
        }
    }

    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "attachment.state" => self.attached_vpc.iter().map(|_| ATTACHED.into()).collect(),
            "attachment.vpc-id" => self.attached_vpc.iter().cloned().collect(),
            "internet-gateway-id" => vec![self.id.clone()],
            "owner-id" => vec![self.owner_id.clone()],
            _ => Vec::new(),
        }
    }
}

/// AWS's answer for an internet gateway id that does not exist.
pub fn not_found(id: &str) -> Error {
    Error::InvalidInternetGatewayIDNotFound(format!("The internetGateway ID '{id}' does not exist"))
}

/// The internet gateway `id`, or AWS's not-found error.
pub fn get(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    id: &str,
) -> Result<InternetGatewayRecord, Error> {
    tx.get(INTERNET_GATEWAYS, &scoped_key(account, region, id))?
        .ok_or_else(|| not_found(id))
}

/// Refuses a VPC id that does not exist (AWS's `InvalidVpcID.NotFound`).
pub fn check_vpc(tx: &Tx<'_>, account: &str, region: &str, vpc_id: &str) -> Result<(), Error> {
    if tx.exists(VPCS, &scoped_key(account, region, vpc_id))? {
        Ok(())
    } else {
        Err(Error::InvalidVpcIDNotFound(format!(
            "The vpc ID '{vpc_id}' does not exist"
        )))
    }
}

/// CreateInternetGateway: a detached gateway.
pub fn create(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: CreateInternetGatewayRequest,
) -> Result<CreateInternetGatewayResult, Error> {
    check_dry_run(input.dry_run)?;
    let tags = tags::from_specifications(input.tag_specifications.as_deref(), "internet-gateway")?;
    let gateway = InternetGatewayRecord {
        id: format!("igw-{}", ec2.ids.hex(17)),
        attached_vpc: None,
        owner_id: ctx.account_id.clone(),
        tags,
    };
    ec2.store.write(|tx| {
        tx.put(
            INTERNET_GATEWAYS,
            &scoped_key(&ctx.account_id, &ctx.region, &gateway.id),
            &gateway,
        )
    })?;
    tracing::info!(igw = %gateway.id, "created internet gateway");
    Ok(CreateInternetGatewayResult {
        internet_gateway: Some(gateway.to_wire()),
    })
}

/// AttachInternetGateway: one VPC per gateway, one gateway per VPC.
pub fn attach(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: AttachInternetGatewayRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let (igw_id, vpc_id) = (&input.internet_gateway_id, &input.vpc_id);
    ec2.store.write(|tx| {
        let mut gateway = get(tx, account, region, igw_id)?;
        check_vpc(tx, account, region, vpc_id)?;
        if let Some(attached) = &gateway.attached_vpc {
            return Err(Error::ResourceAlreadyAssociated(format!(
                "resource {igw_id} is already attached to network {attached}"
            )));
        }
        if routing_lookups::attached_to(tx, account, region, vpc_id)?.is_some() {
            return Err(Error::InvalidParameterValue(format!(
                "Network {vpc_id} already has an internet gateway attached"
            )));
        }
        gateway.attached_vpc = Some(vpc_id.clone());
        tx.put(
            INTERNET_GATEWAYS,
            &scoped_key(account, region, igw_id),
            &gateway,
        )?;
        Ok(())
    })?;
    tracing::info!(igw = %igw_id, vpc = %vpc_id, "attached internet gateway");
    Ok(())
}

/// DetachInternetGateway; refused while a public NAT gateway of the VPC holds an Elastic IP.
pub fn detach(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DetachInternetGatewayRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let (igw_id, vpc_id) = (&input.internet_gateway_id, &input.vpc_id);
    ec2.store.write(|tx| {
        let mut gateway = get(tx, account, region, igw_id)?;
        check_vpc(tx, account, region, vpc_id)?;
        if gateway.attached_vpc.as_deref() != Some(vpc_id.as_str()) {
            return Err(Error::GatewayNotAttached(format!(
                "resource {igw_id} is not attached to network {vpc_id}"
            )));
        }
        if nat_gateways::maps_public_addresses(tx, account, region, vpc_id)? {
            return Err(Error::DependencyViolation(format!(
                "Network {vpc_id} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
            )));
        }
        gateway.attached_vpc = None;
        tx.put(
            INTERNET_GATEWAYS,
            &scoped_key(account, region, igw_id),
            &gateway,
        )?;
        Ok(())
    })?;
    tracing::info!(igw = %igw_id, vpc = %vpc_id, "detached internet gateway");
    Ok(())
}

/// DeleteInternetGateway; refused while attached.
pub fn delete(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DeleteInternetGatewayRequest,
) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let igw_id = &input.internet_gateway_id;
    ec2.store.write(|tx| {
        let gateway = get(tx, account, region, igw_id)?;
        if gateway.attached_vpc.is_some() {
            return Err(Error::DependencyViolation(format!(
                "The internetGateway '{igw_id}' has dependencies and cannot be deleted."
            )));
        }
        tx.delete(INTERNET_GATEWAYS, &scoped_key(account, region, igw_id))?;
        Ok(())
    })?;
    tracing::info!(igw = %igw_id, "deleted internet gateway");
    Ok(())
}

/// DescribeInternetGateways.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeInternetGatewaysRequest,
) -> Result<DescribeInternetGatewaysResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), FILTERS)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let rows: Vec<(String, InternetGatewayRecord)> = ec2
        .store
        .read(|tx| tx.list(INTERNET_GATEWAYS, &scope_prefix(account, region)))?;
    let mut gateways: Vec<InternetGatewayRecord> = rows.into_iter().map(|(_, g)| g).collect();
    if let Some(ids) = input
        .internet_gateway_ids
        .as_deref()
        .filter(|i| !i.is_empty())
    {
        if let Some(missing) = ids.iter().find(|id| !gateways.iter().any(|g| g.id == **id)) {
            return Err(not_found(missing));
        }
        gateways.retain(|g| ids.contains(&g.id));
    }
    gateways.retain(|g| filters.matches(|name| g.field(name), &g.tags));
    let (gateways, next_token) = page(
        gateways,
        |g| g.id.clone(),
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeInternetGatewaysResult {
        internet_gateways: Some(
            gateways
                .iter()
                .map(InternetGatewayRecord::to_wire)
                .collect(),
        ),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::routing_lookups::fixtures::vpc;
    use crate::tests::{filter, setup};

    fn new_gateway(ec2: &Ec2, ctx: &RequestContext) -> String {
        ec2.create_internet_gateway(ctx, CreateInternetGatewayRequest::default())
            .unwrap()
            .internet_gateway
            .unwrap()
            .internet_gateway_id
            .unwrap()
    }

    #[test]
    fn internet_gateway_rules() {
        let (_dir, ec2, ctx) = setup();
        let (vpc_id, _) = vpc(&ec2, &ctx, "10.0.0.0/16");
        let igw = new_gateway(&ec2, &ctx);
        let second = new_gateway(&ec2, &ctx);
        let attach = |igw: &str, vpc: &str| {
            ec2.attach_internet_gateway(
                &ctx,
                AttachInternetGatewayRequest {
                    internet_gateway_id: igw.into(),
                    vpc_id: vpc.into(),
                    dry_run: None,
                },
            )
        };
        attach(&igw, &vpc_id).unwrap();
        assert_eq!(
            attach(&second, &vpc_id),
            Err(Error::InvalidParameterValue(format!(
                "Network {} already has an internet gateway attached",
                vpc_id
            )))
        );
        let (other, _) = vpc(&ec2, &ctx, "10.9.0.0/16");
        assert_eq!(
            attach(&igw, &other),
            Err(Error::ResourceAlreadyAssociated(format!(
                "resource {} is already attached to network {}",
                igw, vpc_id
            )))
        );
        assert!(matches!(
            attach(&second, "vpc-nope"),
            Err(Error::InvalidVpcIDNotFound(_))
        ));
        assert!(matches!(
            attach("igw-nope", &other),
            Err(Error::InvalidInternetGatewayIDNotFound(_))
        ));
        assert_eq!(
            ec2.delete_internet_gateway(
                &ctx,
                DeleteInternetGatewayRequest {
                    internet_gateway_id: igw.clone(),
                    dry_run: None
                }
            ),
            Err(Error::DependencyViolation(format!(
                "The internetGateway '{}' has dependencies and cannot be deleted.",
                igw
            )))
        );
        assert_eq!(
            ec2.detach_internet_gateway(
                &ctx,
                DetachInternetGatewayRequest {
                    internet_gateway_id: second.clone(),
                    vpc_id: vpc_id.clone(),
                    dry_run: None
                }
            ),
            Err(Error::GatewayNotAttached(format!(
                "resource {second} is not attached to network {}",
                vpc_id
            )))
        );
        let describe = |filters| {
            ec2.describe_internet_gateways(
                &ctx,
                crate::generated::DescribeInternetGatewaysRequest {
                    filters: Some(filters),
                    ..Default::default()
                },
            )
            .unwrap()
            .internet_gateways
            .unwrap()
        };
        let attached = describe(vec![filter("attachment.vpc-id", &[&vpc_id])]);
        assert_eq!(attached.len(), 1);
        let attachment = &attached[0].attachments.as_ref().unwrap()[0];
        assert_eq!(attachment.state.as_deref(), Some("available"));
        // The default VPC's gateway, this one: two attached; the second is not.
        assert_eq!(
            describe(vec![filter("attachment.state", &["available"])]).len(),
            2
        );
        assert_eq!(
            describe(vec![filter("internet-gateway-id", &[&second])])[0].attachments,
            Some(Vec::new())
        );
    }
}
