//! (issue 14: being built)

use crate::generated::{DescribeAccountAttributesRequest, DescribeAccountAttributesResult, Error};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeAccountAttributesRequest,
) -> Result<DescribeAccountAttributesResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
