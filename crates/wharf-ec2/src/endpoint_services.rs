//! (issue 14: being built)

use crate::generated::{
    DescribePrefixListsRequest, DescribePrefixListsResult, DescribeVpcEndpointServicesRequest,
    DescribeVpcEndpointServicesResult, Error,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn describe_services(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeVpcEndpointServicesRequest,
) -> Result<DescribeVpcEndpointServicesResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe_prefix_lists(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribePrefixListsRequest,
) -> Result<DescribePrefixListsResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
