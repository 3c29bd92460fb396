//! DescribeAccountAttributes: what EC2 tells an account about itself in a region. wharf
//! serves VPCs only (`supported-platforms` is `VPC`), names the region's default VPC, and
//! reports the limits it enforces.

use crate::addresses::MAX_ADDRESSES_PER_REGION;
use crate::checks::check_dry_run;
use crate::default_network;
use crate::generated::{
    AccountAttribute, AccountAttributeValue, DescribeAccountAttributesRequest,
    DescribeAccountAttributesResult, Error,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// `max-instances`: AWS's default On-Demand instance limit (wharf runs no instances).
const MAX_INSTANCES: usize = 20;
/// `vpc-max-security-groups-per-interface`: AWS's default.
const MAX_GROUPS_PER_INTERFACE: usize = 5;

/// The attributes of an account whose default VPC in the region is `default_vpc`, in AWS's
/// order.
fn attributes(default_vpc: &str) -> Vec<(&'static str, Vec<String>)> {
    vec![
        (
            "vpc-max-security-groups-per-interface",
            vec![MAX_GROUPS_PER_INTERFACE.to_string()],
        ),
        ("max-instances", vec![MAX_INSTANCES.to_string()]),
        ("supported-platforms", vec!["VPC".into()]),
        ("default-vpc", vec![default_vpc.to_string()]),
        (
            "max-elastic-ips",
            vec![MAX_ADDRESSES_PER_REGION.to_string()],
        ),
        (
            "vpc-max-elastic-ips",
            vec![MAX_ADDRESSES_PER_REGION.to_string()],
        ),
    ]
}

/// DescribeAccountAttributes: every attribute, or those `AttributeNames` selects.
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeAccountAttributesRequest,
) -> Result<DescribeAccountAttributesResult, Error> {
    check_dry_run(input.dry_run)?;
    let network = default_network::ensure(ec2, &ctx.account_id, &ctx.region)?;
    let mut all = attributes(&network.vpc_id);
    if let Some(names) = input.attribute_names.as_deref().filter(|n| !n.is_empty()) {
        if let Some(bad) = names.iter().find(|n| !all.iter().any(|(a, _)| a == n)) {
            return Err(Error::InvalidParameterValue(format!(
                "Value ({bad}) for parameter attributeName is invalid. Unknown attribute."
            )));
        }
        all.retain(|(a, _)| names.iter().any(|n| n == a));
    }
    Ok(DescribeAccountAttributesResult {
        account_attributes: Some(
            all.into_iter()
                .map(|(name, values)| AccountAttribute {
                    attribute_name: Some(name.into()),
                    attribute_values: Some(
                        values
                            .into_iter()
                            .map(|v| AccountAttributeValue {
                                attribute_value: Some(v),
                            })
                            .collect(),
                    ),
                })
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::tests::setup;

    fn values(result: &DescribeAccountAttributesResult, name: &str) -> Vec<String> {
        result
            .account_attributes
            .iter()
            .flatten()
            .filter(|a| a.attribute_name.as_deref() == Some(name))
            .flat_map(|a| a.attribute_values.iter().flatten())
            .filter_map(|v| v.attribute_value.clone())
            .collect()
    }

    #[test]
    fn names_the_default_vpc_and_the_limits() {
        let (_dir, ec2, ctx) = setup();
        let all = ec2
            .describe_account_attributes(&ctx, DescribeAccountAttributesRequest::default())
            .unwrap();
        assert_eq!(all.account_attributes.as_ref().unwrap().len(), 6);
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        assert_eq!(values(&all, "default-vpc"), vec![net.vpc_id]);
        assert_eq!(values(&all, "supported-platforms"), vec!["VPC"]);
        assert_eq!(values(&all, "max-elastic-ips"), vec!["5"]);
        assert_eq!(
            values(&all, "vpc-max-security-groups-per-interface"),
            vec!["5"]
        );

        let one = ec2
            .describe_account_attributes(
                &ctx,
                DescribeAccountAttributesRequest {
                    attribute_names: Some(vec!["supported-platforms".into()]),
                    dry_run: None,
                },
            )
            .unwrap();
        assert_eq!(one.account_attributes.unwrap().len(), 1);
        assert!(matches!(
            ec2.describe_account_attributes(
                &ctx,
                DescribeAccountAttributesRequest {
                    attribute_names: Some(vec!["colour".into()]),
                    dry_run: None,
                },
            ),
            Err(Error::InvalidParameterValue(_))
        ));
    }
}
