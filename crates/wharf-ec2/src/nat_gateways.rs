//! (issue 14: being built)

use crate::generated::{
    CreateNatGatewayRequest, CreateNatGatewayResult, DeleteNatGatewayRequest,
    DeleteNatGatewayResult, DescribeNatGatewaysRequest, DescribeNatGatewaysResult, Error,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn create(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateNatGatewayRequest,
) -> Result<CreateNatGatewayResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DeleteNatGatewayRequest,
) -> Result<DeleteNatGatewayResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeNatGatewaysRequest,
) -> Result<DescribeNatGatewaysResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
