//! (issue 14: being built)

use crate::generated::{
    CreateVpcEndpointRequest, CreateVpcEndpointResult, DeleteVpcEndpointsRequest,
    DeleteVpcEndpointsResult, DescribeVpcEndpointsRequest, DescribeVpcEndpointsResult, Error,
    ModifyVpcEndpointRequest, ModifyVpcEndpointResult,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn create(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateVpcEndpointRequest,
) -> Result<CreateVpcEndpointResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DeleteVpcEndpointsRequest,
) -> Result<DeleteVpcEndpointsResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeVpcEndpointsRequest,
) -> Result<DescribeVpcEndpointsResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn modify(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: ModifyVpcEndpointRequest,
) -> Result<ModifyVpcEndpointResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
