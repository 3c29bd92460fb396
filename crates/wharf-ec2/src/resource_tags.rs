//! CreateTags, DeleteTags and DescribeTags over every EC2 resource wharf keeps. A resource's
//! kind follows from its id's prefix (`vpc-`, `subnet-`, `sg-`, ...); [`KINDS`] says, for each
//! prefix, the resource type DescribeTags shows, the NotFound error AWS gives for an unknown
//! id, and how to reach the tags of its records, so no operation holds one copy per type.
//! Tags live inside each resource's own record (see `records`), so a resource and its tags
//! come and go together.

use crate::checks::check_dry_run;
use crate::default_network;
use crate::filters::FilterSet;
use crate::generated::{
    CreateTagsRequest, DeleteTagsRequest, DescribeTagsRequest, DescribeTagsResult, Error, Tag,
    TagDescription,
};
use crate::paging::page;
use crate::records::{
    scope_prefix, scoped_key, AddressRecord, GroupRecord, InterfaceRecord, InternetGatewayRecord,
    NatGatewayRecord, NetworkAclRecord, ResourceTag, RouteTableRecord, SubnetRecord,
    VpcEndpointRecord, VpcRecord, ADDRESSES, GROUPS, INTERFACES, INTERNET_GATEWAYS, NAT_GATEWAYS,
    NETWORK_ACLS, ROUTE_TABLES, SUBNETS, VPCS, VPC_ENDPOINTS,
};
use crate::Ec2;
use crate::{addresses, internet_gateways, network_acls, route_tables, subnets, tags, vpcs};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wharf_core::RequestContext;
use wharf_store::{StoreError, Table, Tx};

/// A stored record that carries tags, and the table it lives in.
trait Tagged: Serialize + DeserializeOwned + Sized {
    const TABLE: Table<Self>;
    fn tags_mut(&mut self) -> &mut Vec<ResourceTag>;
    fn into_tags(self) -> Vec<ResourceTag>;
}

macro_rules! tagged {
    ($($record:ty => $table:expr),* $(,)?) => {$(
        impl Tagged for $record {
            const TABLE: Table<Self> = $table;
            fn tags_mut(&mut self) -> &mut Vec<ResourceTag> {
                &mut self.tags
            }
            fn into_tags(self) -> Vec<ResourceTag> {
                self.tags
            }
        }
    )*};
}

tagged! {
    VpcRecord => VPCS,
    SubnetRecord => SUBNETS,
    GroupRecord => GROUPS,
    InternetGatewayRecord => INTERNET_GATEWAYS,
    RouteTableRecord => ROUTE_TABLES,
    AddressRecord => ADDRESSES,
    NatGatewayRecord => NAT_GATEWAYS,
    VpcEndpointRecord => VPC_ENDPOINTS,
    NetworkAclRecord => NETWORK_ACLS,
    InterfaceRecord => INTERFACES,
}

/// The tags of the record at `key`, if there is one.
fn read<T: Tagged>(tx: &Tx<'_>, key: &str) -> Result<Option<Vec<ResourceTag>>, StoreError> {
    Ok(tx.get(T::TABLE, key)?.map(T::into_tags))
}

/// Replaces the tags of the record at `key` (which exists: it was just read).
fn write<T: Tagged>(tx: &Tx<'_>, key: &str, tags: Vec<ResourceTag>) -> Result<(), StoreError> {
    if let Some(mut record) = tx.get::<T>(T::TABLE, key)? {
        *record.tags_mut() = tags;
        tx.put(T::TABLE, key, &record)?;
    }
    Ok(())
}

/// The tags of one resource.
type Tags = Vec<ResourceTag>;
/// Resources as DescribeTags reads them: (id, tags).
type TaggedRows = Vec<(String, Tags)>;

/// Every record of the table under `scope`, as (id, tags).
fn list<T: Tagged>(tx: &Tx<'_>, scope: &str) -> Result<TaggedRows, StoreError> {
    let rows: Vec<(String, T)> = tx.list(T::TABLE, scope)?;
    Ok(rows
        .into_iter()
        .map(|(key, record)| {
            let id = key.strip_prefix(scope).unwrap_or(&key).to_string();
            (id, record.into_tags())
        })
        .collect())
}

/// One kind of taggable resource.
struct Kind {
    /// The id prefix before the first `-` (`vpc`, `eipalloc`...).
    prefix: &'static str,
    /// `ResourceType` as DescribeTags shows it and filters it.
    resource_type: &'static str,
    /// AWS's error for an id of this kind that does not exist.
    not_found: fn(&str) -> Error,
    /// The tags of the record at a key ([`read`] for the kind's record type).
    read: fn(&Tx<'_>, &str) -> Result<Option<Tags>, StoreError>,
    /// Replaces the tags of the record at a key ([`write`]).
    write: fn(&Tx<'_>, &str, Vec<ResourceTag>) -> Result<(), StoreError>,
    /// Every record under a scope, as (id, tags) ([`list`]).
    list: fn(&Tx<'_>, &str) -> Result<TaggedRows, StoreError>,
}

macro_rules! kind {
    ($prefix:literal, $type:literal, $record:ty, $not_found:expr) => {
        Kind {
            prefix: $prefix,
            resource_type: $type,
            not_found: $not_found,
            read: read::<$record>,
            write: write::<$record>,
            list: list::<$record>,
        }
    };
}

/// Every kind of resource CreateTags, DeleteTags and DescribeTags reach. The NotFound errors
/// are the owning module's where it shares one.
const KINDS: &[Kind] = &[
    kind!("vpc", "vpc", VpcRecord, vpcs::not_found),
    kind!("subnet", "subnet", SubnetRecord, subnets::not_found),
    kind!("sg", "security-group", GroupRecord, |id| {
        Error::InvalidGroupNotFound(format!("The security group '{id}' does not exist"))
    }),
    kind!(
        "igw",
        "internet-gateway",
        InternetGatewayRecord,
        internet_gateways::not_found
    ),
    kind!(
        "rtb",
        "route-table",
        RouteTableRecord,
        route_tables::not_found
    ),
    kind!(
        "eipalloc",
        "elastic-ip",
        AddressRecord,
        addresses::not_found
    ),
    kind!("nat", "natgateway", NatGatewayRecord, |id| {
        Error::NatGatewayNotFound(format!("NAT gateway {id} was not found"))
    }),
    kind!("vpce", "vpc-endpoint", VpcEndpointRecord, |id| {
        Error::InvalidVpcEndpointIdNotFound(format!("The Vpc Endpoint Id '{id}' does not exist"))
    }),
    kind!(
        "acl",
        "network-acl",
        NetworkAclRecord,
        network_acls::not_found
    ),
    kind!("eni", "network-interface", InterfaceRecord, |id| {
        Error::InvalidNetworkInterfaceIDNotFound(format!(
            "The networkInterface ID '{id}' does not exist"
        ))
    }),
];

/// The kind of resource `id` names, or AWS's `InvalidID` for an id of no kind wharf keeps.
fn kind_of(id: &str) -> Result<&'static Kind, Error> {
    let (prefix, rest) = id.split_once('-').unwrap_or((id, ""));
    let well_formed = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    KINDS
        .iter()
        .find(|k| k.prefix == prefix)
        .filter(|_| well_formed)
        .ok_or_else(|| Error::InvalidID(format!("The ID '{id}' is not valid")))
}

/// Applies `change` to the tags of every resource in `ids`, in one transaction: an unknown or
/// malformed id changes nothing.
fn change_tags(
    ec2: &Ec2,
    ctx: &RequestContext,
    ids: &[String],
    change: impl Fn(&mut Vec<ResourceTag>) -> Result<(), Error>,
) -> Result<(), Error> {
    if ids.is_empty() {
        return Err(Error::MissingParameter(
            "The request must contain the parameter resourceIdSet".into(),
        ));
    }
    let kinds = ids
        .iter()
        .map(|id| kind_of(id))
        .collect::<Result<Vec<_>, Error>>()?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    ec2.store.write(|tx| {
        for (id, kind) in ids.iter().zip(kinds) {
            let key = scoped_key(account, region, id);
            let mut tags = (kind.read)(tx, &key)?.ok_or_else(|| (kind.not_found)(id))?;
            change(&mut tags)?;
            (kind.write)(tx, &key, tags)?;
        }
        Ok(())
    })
}

/// CreateTags: adds or overwrites tags on every resource named; at most 50 per resource.
pub fn create(ec2: &Ec2, ctx: &RequestContext, input: CreateTagsRequest) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let new = tags::from_wire(&input.tags)?;
    change_tags(ec2, ctx, &input.resources, |current| {
        wharf_core::tags::merge(current, new.iter().cloned(), |t| &t.key);
        tags::check_count(current.len())
    })
}

/// DeleteTags: removes the tags named (a tag given with a value only when the value matches),
/// or every tag when none are named.
pub fn delete(ec2: &Ec2, ctx: &RequestContext, input: DeleteTagsRequest) -> Result<(), Error> {
    check_dry_run(input.dry_run)?;
    let named = input.tags.clone();
    change_tags(ec2, ctx, &input.resources, |tags| {
        match &named {
            None => tags.clear(),
            Some(named) => tags.retain(|t| !named.iter().any(|n| removes(n, t))),
        }
        Ok(())
    })
}

/// Whether DeleteTags' `named` tag removes `tag`: same key, and same value when one is given.
fn removes(named: &Tag, tag: &ResourceTag) -> bool {
    named.key.as_deref() == Some(tag.key.as_str())
        && named.value.as_deref().is_none_or(|v| v == tag.value)
}

/// Filter names DescribeTags accepts besides `tag:<key>`.
const TAG_FILTERS: &[&str] = &["key", "value", "resource-id", "resource-type"];

/// One tag of one resource, as DescribeTags lists it.
struct Row {
    resource_id: String,
    resource_type: &'static str,
    tag: ResourceTag,
    /// All tags of the resource, for `tag:<key>` filters.
    all: Vec<ResourceTag>,
}

impl Row {
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "key" => vec![self.tag.key.clone()],
            "value" => vec![self.tag.value.clone()],
            "resource-id" => vec![self.resource_id.clone()],
            "resource-type" => vec![self.resource_type.to_string()],
            _ => Vec::new(),
        }
    }

    /// The paging key: resource id, then tag key.
    fn sort_key(&self) -> String {
        format!("{}\u{0}{}", self.resource_id, self.tag.key)
    }
}

/// DescribeTags: one entry per tag of every resource, filtered, in pages of `MaxResults`
/// (5 to 1000).
pub fn describe(
    ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeTagsRequest,
) -> Result<DescribeTagsResult, Error> {
    check_dry_run(input.dry_run)?;
    if let Some(max) = input.max_results.filter(|m| !(5..=1000).contains(m)) {
        return Err(Error::InvalidParameterValue(format!(
            "Value ( {max} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."
        )));
    }
    let filters = FilterSet::parse(input.filters.as_deref(), TAG_FILTERS)?;
    let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
    default_network::ensure(ec2, account, region)?;
    let scope = scope_prefix(account, region);
    let mut rows = ec2.store.read(|tx| {
        let mut rows = Vec::new();
        for kind in KINDS {
            for (resource_id, tags) in (kind.list)(tx, &scope)? {
                for tag in &tags {
                    rows.push(Row {
                        resource_id: resource_id.clone(),
                        resource_type: kind.resource_type,
                        tag: tag.clone(),
                        all: tags.clone(),
                    });
                }
            }
        }
        Ok::<_, StoreError>(rows)
    })?;
    rows.retain(|r| filters.matches(|name| r.field(name), &r.all));
    rows.sort_by_key(Row::sort_key);
    let (rows, next_token) = page(
        rows,
        Row::sort_key,
        input.next_token.as_deref(),
        input.max_results,
    )?;
    Ok(DescribeTagsResult {
        tags: Some(
            rows.into_iter()
                .map(|r| TagDescription {
                    key: Some(r.tag.key),
                    value: Some(r.tag.value),
                    resource_id: Some(r.resource_id),
                    resource_type: Some(r.resource_type.to_string()),
                })
                .collect(),
        ),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{CreateVpcRequest, Ec2Api, Filter};
    use crate::tests::{filter, setup};

    fn tag(key: &str, value: Option<&str>) -> Tag {
        Tag {
            key: Some(key.into()),
            value: value.map(String::from),
        }
    }

    fn tag_all(ec2: &Ec2, ctx: &RequestContext, ids: &[&str], tags: Vec<Tag>) -> Result<(), Error> {
        ec2.create_tags(
            ctx,
            CreateTagsRequest {
                dry_run: None,
                resources: ids.iter().map(|s| s.to_string()).collect(),
                tags,
            },
        )
    }

    fn described(
        ec2: &Ec2,
        ctx: &RequestContext,
        filters: Vec<Filter>,
    ) -> Vec<(String, String, String, String)> {
        ec2.describe_tags(
            ctx,
            DescribeTagsRequest {
                filters: Some(filters),
                ..Default::default()
            },
        )
        .unwrap()
        .tags
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                t.resource_id.unwrap(),
                t.resource_type.unwrap(),
                t.key.unwrap(),
                t.value.unwrap(),
            )
        })
        .collect()
    }

    #[test]
    fn ids_are_routed_by_prefix() {
        assert_eq!(kind_of("vpc-0a1").unwrap().resource_type, "vpc");
        assert_eq!(kind_of("eipalloc-1").unwrap().resource_type, "elastic-ip");
        assert_eq!(kind_of("nat-1").unwrap().resource_type, "natgateway");
        assert_eq!(kind_of("vpce-1").unwrap().resource_type, "vpc-endpoint");
        for bad in ["i-123", "vpc-", "vpc", "vpc-x_y", ""] {
            assert!(matches!(kind_of(bad), Err(Error::InvalidID(_))), "{bad}");
        }
        assert!(matches!(
            (kind_of("acl-1").unwrap().not_found)("acl-1"),
            Error::InvalidNetworkAclIDNotFound(m) if m == "The networkAcl ID 'acl-1' does not exist"
        ));
    }

    #[test]
    fn create_describe_and_delete_tags() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        let vpc = ec2
            .create_vpc(
                &ctx,
                CreateVpcRequest {
                    cidr_block: Some("10.0.0.0/16".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        let subnet = net.subnet_ids[0].clone();
        let group = net.security_group_id.clone();
        tag_all(
            &ec2,
            &ctx,
            &[&vpc, &subnet, &group],
            vec![tag("env", Some("lab")), tag("Name", Some("x"))],
        )
        .unwrap();
        let all = described(&ec2, &ctx, vec![]);
        assert_eq!(all.len(), 6);
        let subnets = described(&ec2, &ctx, vec![filter("resource-type", &["subnet"])]);
        assert_eq!(
            subnets,
            vec![
                (subnet.clone(), "subnet".into(), "Name".into(), "x".into()),
                (subnet.clone(), "subnet".into(), "env".into(), "lab".into()),
            ]
        );
        assert_eq!(
            described(
                &ec2,
                &ctx,
                vec![filter("resource-id", &[&group]), filter("key", &["env"])]
            )
            .len(),
            1
        );
        assert_eq!(
            described(&ec2, &ctx, vec![filter("tag:Name", &["x"])]).len(),
            6
        );
        assert_eq!(
            described(&ec2, &ctx, vec![filter("value", &["la?"])]).len(),
            3
        );

        // A value given to DeleteTags must match; no value removes the key.
        ec2.delete_tags(
            &ctx,
            DeleteTagsRequest {
                dry_run: None,
                resources: vec![vpc.clone(), subnet.clone()],
                tags: Some(vec![tag("env", Some("other")), tag("Name", None)]),
            },
        )
        .unwrap();
        let left = described(&ec2, &ctx, vec![filter("resource-id", &[&vpc])]);
        assert_eq!(
            left,
            vec![(vpc.clone(), "vpc".into(), "env".into(), "lab".into())]
        );
        ec2.delete_tags(
            &ctx,
            DeleteTagsRequest {
                dry_run: None,
                resources: vec![group.clone()],
                tags: None,
            },
        )
        .unwrap();
        assert!(described(&ec2, &ctx, vec![filter("resource-id", &[&group])]).is_empty());
    }

    #[test]
    fn unknown_ids_limits_and_paging() {
        let (_dir, ec2, ctx) = setup();
        let net = default_network::ensure(&ec2, &ctx.account_id, &ctx.region).unwrap();
        let vpc = net.vpc_id.as_str();
        assert_eq!(
            tag_all(&ec2, &ctx, &[vpc, "subnet-0000"], vec![tag("a", Some("b"))]),
            Err(Error::InvalidSubnetIDNotFound(
                "The subnet ID 'subnet-0000' does not exist".into()
            ))
        );
        assert!(
            described(&ec2, &ctx, vec![]).is_empty(),
            "nothing was tagged"
        );
        assert!(matches!(
            tag_all(&ec2, &ctx, &["i-0abc"], vec![tag("a", Some("b"))]),
            Err(Error::InvalidID(_))
        ));
        assert!(matches!(
            tag_all(&ec2, &ctx, &[vpc], vec![tag("aws:x", Some("b"))]),
            Err(Error::InvalidParameterValue(_))
        ));
        let fifty: Vec<Tag> = (0..50)
            .map(|i| tag(&format!("k{i:02}"), Some("v")))
            .collect();
        tag_all(&ec2, &ctx, &[vpc], fifty).unwrap();
        tag_all(&ec2, &ctx, &[vpc], vec![tag("k00", Some("again"))]).expect("overwriting is fine");
        assert_eq!(
            tag_all(&ec2, &ctx, &[vpc], vec![tag("one-more", Some("v"))]),
            Err(Error::TagLimitExceeded(
                "The maximum number of Tags for a resource has been reached.".into()
            ))
        );

        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = ec2
                .describe_tags(
                    &ctx,
                    DescribeTagsRequest {
                        max_results: Some(20),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            seen.extend(page.tags.unwrap().into_iter().map(|t| t.key.unwrap()));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen.len(), 50);
        assert!(matches!(
            ec2.describe_tags(
                &ctx,
                DescribeTagsRequest {
                    max_results: Some(4),
                    ..Default::default()
                }
            ),
            Err(Error::InvalidParameterValue(_))
        ));
    }
}
