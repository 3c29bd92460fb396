//! (issue 14: being built)

use crate::generated::{
    AllocateAddressRequest, AllocateAddressResult, DescribeAddressesRequest,
    DescribeAddressesResult, Error, ReleaseAddressRequest,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn allocate(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: AllocateAddressRequest,
) -> Result<AllocateAddressResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn release(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: ReleaseAddressRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeAddressesRequest,
) -> Result<DescribeAddressesResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
