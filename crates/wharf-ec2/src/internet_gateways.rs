//! (issue 14: being built)

use crate::generated::{
    AttachInternetGatewayRequest, CreateInternetGatewayRequest, CreateInternetGatewayResult,
    DeleteInternetGatewayRequest, DescribeInternetGatewaysRequest, DescribeInternetGatewaysResult,
    DetachInternetGatewayRequest, Error,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn create(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateInternetGatewayRequest,
) -> Result<CreateInternetGatewayResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DeleteInternetGatewayRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn attach(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: AttachInternetGatewayRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn detach(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DetachInternetGatewayRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeInternetGatewaysRequest,
) -> Result<DescribeInternetGatewaysResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
