//! (issue 14: being built)

use crate::generated::{
    CreateTagsRequest, DeleteTagsRequest, DescribeTagsRequest, DescribeTagsResult, Error,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn create(_ec2: &Ec2, _ctx: &RequestContext, _input: CreateTagsRequest) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(_ec2: &Ec2, _ctx: &RequestContext, _input: DeleteTagsRequest) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeTagsRequest,
) -> Result<DescribeTagsResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}
