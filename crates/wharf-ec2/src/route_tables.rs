//! (issue 14: being built)

use crate::generated::{
    AssociateRouteTableRequest, AssociateRouteTableResult, CreateRouteRequest, CreateRouteResult,
    CreateRouteTableRequest, CreateRouteTableResult, DeleteRouteRequest, DeleteRouteTableRequest,
    DescribeRouteTablesRequest, DescribeRouteTablesResult, DisassociateRouteTableRequest, Error,
    ReplaceRouteRequest, ReplaceRouteTableAssociationRequest, ReplaceRouteTableAssociationResult,
};
use crate::Ec2;
use wharf_core::RequestContext;

/// Being built.
pub fn create(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateRouteTableRequest,
) -> Result<CreateRouteTableResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DeleteRouteTableRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn describe(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DescribeRouteTablesRequest,
) -> Result<DescribeRouteTablesResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn associate(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: AssociateRouteTableRequest,
) -> Result<AssociateRouteTableResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn disassociate(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DisassociateRouteTableRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn replace_association(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: ReplaceRouteTableAssociationRequest,
) -> Result<ReplaceRouteTableAssociationResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn create_route(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: CreateRouteRequest,
) -> Result<CreateRouteResult, Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn replace_route(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: ReplaceRouteRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}

/// Being built.
pub fn delete_route(
    _ec2: &Ec2,
    _ctx: &RequestContext,
    _input: DeleteRouteRequest,
) -> Result<(), Error> {
    Err(Error::InternalError("not served yet".into()))
}
