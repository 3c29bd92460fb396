//! The AWS services a VPC endpoint can reach in wharf, in one table ([`SERVICES`]), and the two
//! read-only operations over it: DescribeVpcEndpointServices and DescribePrefixLists.
//!
//! Every region offers the same services, named `com.amazonaws.<region>.<suffix>`: S3 (gateway
//! and interface), DynamoDB (gateway), and as interface endpoints the services wharf itself
//! serves (ECR's API and registry, CloudWatch Logs, Secrets Manager, SSM, STS, CloudWatch, ECS,
//! Elastic Load Balancing, Application Auto Scaling). Nothing here is stored: service ids, prefix
//! list ids and DNS names follow from the region and the service name, so they are the same on
//! every call and after a restart.
//!
//! The prefix lists of S3 and DynamoDB (what a gateway endpoint's route points at) carry
//! documentation ranges (RFC 5737: `198.51.100.0/24`, `203.0.113.0/24`), not AWS's real ranges:
//! wharf serves neither S3 nor DynamoDB on the network, and a range that looks real would
//! suggest it does.
//!
//! [`find`] tells which service an endpoint service name stands for; `subnet_reach` uses its
//! suffix to tell the task agent what a private subnet reaches through endpoints (what a task
//! needs is decided by `wharf_core::subnet_network`).

use crate::checks::check_dry_run;
use crate::filters::FilterSet;
use crate::generated::{
    DescribePrefixListsRequest, DescribePrefixListsResult, DescribeVpcEndpointServicesRequest,
    DescribeVpcEndpointServicesResult, Error, PrefixList, PrivateDnsDetails, ServiceDetail,
    ServiceTypeDetail,
};
use crate::paging::page;
use crate::zones::zones;
use crate::Ec2;
use wharf_core::RequestContext;

/// `Gateway`: reached through a route to the service's prefix list.
pub const GATEWAY: &str = "Gateway";
/// `Interface`: reached through network interfaces in the VPC's subnets.
pub const INTERFACE: &str = "Interface";

/// Most items one Describe page of these operations holds.
const MAX_PAGE: i32 = 1000;

/// Which wharf service (or which part of one) an endpoint service reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReachedService {
    /// Amazon S3 (image layers of ECR are served from S3 on AWS).
    S3,
    /// Amazon DynamoDB.
    DynamoDb,
    /// ECR's API (`GetAuthorizationToken`, ...).
    EcrApi,
    /// ECR's registry (`docker pull`).
    EcrDkr,
    /// CloudWatch Logs (the awslogs driver).
    Logs,
    /// Secrets Manager (task secrets).
    SecretsManager,
    /// Systems Manager (task secrets from Parameter Store).
    Ssm,
    /// STS.
    Sts,
    /// CloudWatch metrics and alarms.
    Monitoring,
    /// ECS.
    Ecs,
    /// Elastic Load Balancing.
    ElasticLoadBalancing,
    /// Application Auto Scaling.
    ApplicationAutoScaling,
}

/// One service a VPC endpoint can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointService {
    /// What follows `com.amazonaws.<region>.`: `s3`, `ecr.api`...
    pub suffix: &'static str,
    /// The host label of its DNS names: `api.ecr` for `ecr.api`, else the suffix.
    pub dns_label: &'static str,
    /// Whether it offers gateway endpoints.
    pub gateway: bool,
    /// Whether it offers interface endpoints.
    pub interface: bool,
    /// Whether its private DNS name is a wildcard (`*.dkr.ecr.<region>.amazonaws.com`).
    pub wildcard_private_dns: bool,
    /// The wharf service it reaches.
    pub reaches: ReachedService,
}

const fn interface(suffix: &'static str, reaches: ReachedService) -> EndpointService {
    EndpointService {
        suffix,
        dns_label: suffix,
        gateway: false,
        interface: true,
        wildcard_private_dns: false,
        reaches,
    }
}

/// Every service a VPC endpoint can reach, in name order.
pub const SERVICES: &[EndpointService] = &[
    interface(
        "application-autoscaling",
        ReachedService::ApplicationAutoScaling,
    ),
    EndpointService {
        gateway: true,
        interface: false,
        ..interface("dynamodb", ReachedService::DynamoDb)
    },
    EndpointService {
        dns_label: "api.ecr",
        ..interface("ecr.api", ReachedService::EcrApi)
    },
    EndpointService {
        dns_label: "dkr.ecr",
        wildcard_private_dns: true,
        ..interface("ecr.dkr", ReachedService::EcrDkr)
    },
    interface("ecs", ReachedService::Ecs),
    interface("elasticloadbalancing", ReachedService::ElasticLoadBalancing),
    interface("logs", ReachedService::Logs),
    interface("monitoring", ReachedService::Monitoring),
    EndpointService {
        gateway: true,
        wildcard_private_dns: true,
        ..interface("s3", ReachedService::S3)
    },
    interface("secretsmanager", ReachedService::SecretsManager),
    interface("ssm", ReachedService::Ssm),
    interface("sts", ReachedService::Sts),
];

impl EndpointService {
    /// `com.amazonaws.<region>.<suffix>`.
    pub fn name(&self, region: &str) -> String {
        format!("com.amazonaws.{region}.{}", self.suffix)
    }

    /// Whether it offers endpoints of type `endpoint_type` (`Gateway` / `Interface`).
    pub fn offers(&self, endpoint_type: &str) -> bool {
        match endpoint_type {
            GATEWAY => self.gateway,
            INTERFACE => self.interface,
            _ => false,
        }
    }

    /// The endpoint types it offers, as AWS lists them.
    pub fn types(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.interface {
            out.push(INTERFACE);
        }
        if self.gateway {
            out.push(GATEWAY);
        }
        out
    }

    /// The name its interface endpoints answer to when private DNS is on:
    /// `api.ecr.us-east-1.amazonaws.com`, `*.dkr.ecr.us-east-1.amazonaws.com`.
    pub fn private_dns_name(&self, region: &str) -> String {
        let wildcard = if self.wildcard_private_dns { "*." } else { "" };
        format!("{wildcard}{}.{region}.amazonaws.com", self.dns_label)
    }

    /// The domain under which its interface endpoints get their own names:
    /// `api.ecr.us-east-1.vpce.amazonaws.com`.
    pub fn endpoint_dns_domain(&self, region: &str) -> String {
        format!("{}.{region}.vpce.amazonaws.com", self.dns_label)
    }

    /// `vpce-svc-` + 17 hex digits, stable for the service, type and region.
    pub fn service_id(&self, region: &str, endpoint_type: &str) -> String {
        let seed = format!("{}/{endpoint_type}", self.name(region));
        format!("vpce-svc-{}", stable_chars(&seed, 17, HEX))
    }

    /// The service's prefix list, for a service with gateway endpoints.
    pub fn prefix_list(&self, region: &str) -> Option<ServicePrefixList> {
        let cidrs = match self.reaches {
            ReachedService::S3 => &["198.51.100.0/25", "203.0.113.0/25"],
            ReachedService::DynamoDb => &["198.51.100.128/25", "203.0.113.128/25"],
            _ => return None,
        };
        let name = self.name(region);
        Some(ServicePrefixList {
            id: format!(
                "pl-{}",
                stable_chars(&format!("prefix-list/{name}"), 8, HEX)
            ),
            name,
            cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        })
    }

    /// The service as DescribeVpcEndpointServices shows it, for endpoints of `endpoint_type`.
    fn detail(&self, region: &str, endpoint_type: &str) -> ServiceDetail {
        let zones = zones(region);
        let (base_dns, private_dns) = if endpoint_type == GATEWAY {
            (format!("{}.{region}.amazonaws.com", self.dns_label), None)
        } else {
            (
                self.endpoint_dns_domain(region),
                Some(self.private_dns_name(region)),
            )
        };
        ServiceDetail {
            service_name: Some(self.name(region)),
            service_id: Some(self.service_id(region, endpoint_type)),
            service_type: Some(vec![ServiceTypeDetail {
                service_type: Some(endpoint_type.into()),
            }]),
            service_region: Some(region.into()),
            availability_zone_ids: Some(zones.iter().map(|z| z.id.clone()).collect()),
            availability_zones: Some(zones.into_iter().map(|z| z.name).collect()),
            owner: Some("amazon".into()),
            base_endpoint_dns_names: Some(vec![base_dns]),
            private_dns_names: private_dns.clone().map(|name| {
                vec![PrivateDnsDetails {
                    private_dns_name: Some(name),
                }]
            }),
            private_dns_name_verification_state: private_dns.as_ref().map(|_| "verified".into()),
            private_dns_name: private_dns,
            vpc_endpoint_policy_supported: Some(true),
            acceptance_required: Some(false),
            manages_vpc_endpoints: Some(false),
            supported_ip_address_types: Some(vec!["ipv4".into()]),
            tags: Some(Vec::new()),
            payer_responsibility: None,
        }
    }

    /// The service's values for a DescribeVpcEndpointServices filter.
    fn field(&self, name: &str, region: &str, endpoint_type: &str) -> Vec<String> {
        match name {
            "service-name" => vec![self.name(region)],
            "service-type" => vec![endpoint_type.into()],
            "service-region" => vec![region.into()],
            "owner" => vec!["amazon".into()],
            "supported-ip-address-types" => vec!["ipv4".into()],
            _ => Vec::new(),
        }
    }
}

/// A prefix list: the ranges of a service with gateway endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePrefixList {
    /// `pl-` + 8 hex digits, stable per region and service.
    pub id: String,
    /// `com.amazonaws.<region>.s3`.
    pub name: String,
    /// Its IPv4 ranges.
    pub cidrs: Vec<String>,
}

/// The service `service_name` names in `region`, if wharf offers it.
pub fn find(region: &str, service_name: &str) -> Option<&'static EndpointService> {
    let suffix = service_name
        .strip_prefix("com.amazonaws.")?
        .strip_prefix(region)?
        .strip_prefix('.')?;
    SERVICES.iter().find(|s| s.suffix == suffix)
}

/// The wharf service an endpoint for `service_name` in `region` reaches, if any.
pub fn reached_service(region: &str, service_name: &str) -> Option<ReachedService> {
    find(region, service_name).map(|s| s.reaches)
}

const HEX: &[u8] = b"0123456789abcdef";
/// Letters and digits of the random-looking part of endpoint DNS names.
pub const DNS_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `n` characters of `alphabet` derived from `seed` alone (FNV-1a, re-seeded per 8 characters):
/// names that look random but are the same every time.
pub fn stable_chars(seed: &str, n: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(n);
    let mut round: u64 = 0;
    while out.len() < n {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in seed.bytes().chain(round.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for _ in 0..8 {
            if out.len() == n || alphabet.is_empty() {
                break;
            }
            let len = alphabet.len() as u64;
            let pick = usize::try_from(hash % len).unwrap_or(0);
            out.push(char::from(alphabet[pick]));
            hash /= len;
        }
        round += 1;
        if alphabet.is_empty() {
            break;
        }
    }
    out
}

/// Filter names DescribeVpcEndpointServices accepts besides the tag filters.
const SERVICE_FILTERS: &[&str] = &[
    "service-name",
    "service-type",
    "service-region",
    "owner",
    "supported-ip-address-types",
];

/// The message AWS gives for a service name that names no endpoint service.
pub fn unknown_service(name: &str) -> Error {
    Error::InvalidServiceName(format!("The Vpc Endpoint Service '{name}' does not exist"))
}

/// DescribeVpcEndpointServices: every (service, endpoint type) pair, one detail each (S3 appears
/// twice, once per type, as on AWS).
pub fn describe_services(
    _ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribeVpcEndpointServicesRequest,
) -> Result<DescribeVpcEndpointServicesResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), SERVICE_FILTERS)?;
    let region = ctx.region.as_str();
    if let Some(other) = input
        .service_regions
        .iter()
        .flatten()
        .find(|r| r.as_str() != region)
    {
        return Err(Error::InvalidParameter(format!(
            "The service region '{other}' is not supported: wharf offers the endpoint services of the region of the request ({region}) only"
        )));
    }
    let names = input.service_names.unwrap_or_default();
    if let Some(missing) = names.iter().find(|n| find(region, n).is_none()) {
        return Err(unknown_service(missing));
    }
    let mut details: Vec<(String, ServiceDetail)> = Vec::new();
    for service in SERVICES {
        if !names.is_empty() && !names.contains(&service.name(region)) {
            continue;
        }
        for endpoint_type in service.types() {
            if filters.matches(|f| service.field(f, region, endpoint_type), &[]) {
                let key = format!("{}/{endpoint_type}", service.name(region));
                details.push((key, service.detail(region, endpoint_type)));
            }
        }
    }
    details.sort_by(|a, b| a.0.cmp(&b.0));
    let max = input.max_results.map(|m| m.clamp(1, MAX_PAGE));
    let (details, next_token) = page(
        details,
        |(key, _)| key.clone(),
        input.next_token.as_deref(),
        max,
    )?;
    let details: Vec<ServiceDetail> = details.into_iter().map(|(_, d)| d).collect();
    Ok(DescribeVpcEndpointServicesResult {
        service_names: Some(
            details
                .iter()
                .filter_map(|d| d.service_name.clone())
                .collect(),
        ),
        service_details: Some(details),
        next_token,
    })
}

/// Filter names DescribePrefixLists accepts.
const PREFIX_LIST_FILTERS: &[&str] = &["prefix-list-id", "prefix-list-name"];

/// Every prefix list of `region` (S3's and DynamoDB's), in id order.
pub fn prefix_lists(region: &str) -> Vec<ServicePrefixList> {
    let mut lists: Vec<ServicePrefixList> = SERVICES
        .iter()
        .filter_map(|s| s.prefix_list(region))
        .collect();
    lists.sort_by(|a, b| a.id.cmp(&b.id));
    lists
}

/// DescribePrefixLists: the AWS-managed prefix lists of the region's gateway services.
pub fn describe_prefix_lists(
    _ec2: &Ec2,
    ctx: &RequestContext,
    input: DescribePrefixListsRequest,
) -> Result<DescribePrefixListsResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), PREFIX_LIST_FILTERS)?;
    let mut lists = prefix_lists(&ctx.region);
    let ids = input.prefix_list_ids.unwrap_or_default();
    if let Some(missing) = ids.iter().find(|id| !lists.iter().any(|l| &l.id == *id)) {
        return Err(Error::InvalidPrefixListIdNotFound(format!(
            "The prefix list ID '{missing}' does not exist"
        )));
    }
    if !ids.is_empty() {
        lists.retain(|l| ids.contains(&l.id));
    }
    lists.retain(|l| {
        filters.matches(
            |name| match name {
                "prefix-list-id" => vec![l.id.clone()],
                "prefix-list-name" => vec![l.name.clone()],
                _ => Vec::new(),
            },
            &[],
        )
    });
    let max = input.max_results.map(|m| m.clamp(1, MAX_PAGE));
    let (lists, next_token) = page(lists, |l| l.id.clone(), input.next_token.as_deref(), max)?;
    Ok(DescribePrefixListsResult {
        prefix_lists: Some(
            lists
                .into_iter()
                .map(|l| PrefixList {
                    cidrs: Some(l.cidrs),
                    prefix_list_id: Some(l.id),
                    prefix_list_name: Some(l.name),
                })
                .collect(),
        ),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::tests::{filter, setup};

    #[test]
    fn names_map_to_services_in_their_region_only() {
        assert_eq!(
            reached_service("us-east-1", "com.amazonaws.us-east-1.ecr.dkr"),
            Some(ReachedService::EcrDkr)
        );
        assert_eq!(
            reached_service("us-east-1", "com.amazonaws.us-east-1.s3"),
            Some(ReachedService::S3)
        );
        assert_eq!(
            reached_service("eu-west-1", "com.amazonaws.us-east-1.s3"),
            None
        );
        assert_eq!(
            reached_service("us-east-1", "com.amazonaws.us-east-1.ecr"),
            None
        );
        assert_eq!(reached_service("us-east-1", "s3"), None);
        let names: Vec<&str> = SERVICES.iter().map(|s| s.suffix).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "the table is in name order");
    }

    #[test]
    fn dns_names_follow_aws() {
        let region = "us-east-1";
        let dns = |suffix: &str| {
            find(region, &format!("com.amazonaws.{region}.{suffix}"))
                .unwrap()
                .private_dns_name(region)
        };
        assert_eq!(dns("ecr.api"), "api.ecr.us-east-1.amazonaws.com");
        assert_eq!(dns("ecr.dkr"), "*.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(dns("logs"), "logs.us-east-1.amazonaws.com");
        assert_eq!(dns("s3"), "*.s3.us-east-1.amazonaws.com");
        let ecr = find(region, "com.amazonaws.us-east-1.ecr.api").unwrap();
        assert_eq!(
            ecr.endpoint_dns_domain(region),
            "api.ecr.us-east-1.vpce.amazonaws.com"
        );
    }

    #[test]
    fn stable_chars_are_stable_and_in_the_alphabet() {
        let a = stable_chars("x", 17, HEX);
        assert_eq!(a.len(), 17);
        assert_eq!(a, stable_chars("x", 17, HEX));
        assert_ne!(a, stable_chars("y", 17, HEX));
        assert!(a.bytes().all(|b| HEX.contains(&b)));
        assert_eq!(stable_chars("x", 3, b""), "");
    }

    #[test]
    fn describe_services_lists_every_type_and_filters() {
        let (_dir, ec2, ctx) = setup();
        let all = ec2
            .describe_vpc_endpoint_services(&ctx, Default::default())
            .unwrap();
        let names = all.service_names.unwrap();
        assert_eq!(names.len(), SERVICES.len() + 1, "s3 once per type");
        assert_eq!(
            names
                .iter()
                .filter(|n| *n == "com.amazonaws.us-east-1.s3")
                .count(),
            2
        );
        let details = all.service_details.unwrap();
        let dkr = details
            .iter()
            .find(|d| d.service_name.as_deref() == Some("com.amazonaws.us-east-1.ecr.dkr"))
            .unwrap();
        assert_eq!(
            dkr.private_dns_name.as_deref(),
            Some("*.dkr.ecr.us-east-1.amazonaws.com")
        );
        assert_eq!(
            dkr.base_endpoint_dns_names.as_deref(),
            Some(&["dkr.ecr.us-east-1.vpce.amazonaws.com".to_string()][..])
        );
        assert_eq!(dkr.owner.as_deref(), Some("amazon"));
        assert_eq!(dkr.acceptance_required, Some(false));
        assert_eq!(dkr.availability_zones.as_ref().unwrap().len(), 3);
        assert!(dkr.service_id.as_deref().unwrap().starts_with("vpce-svc-"));

        let gateways = ec2
            .describe_vpc_endpoint_services(
                &ctx,
                DescribeVpcEndpointServicesRequest {
                    filters: Some(vec![filter("service-type", &["Gateway"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .service_names
            .unwrap();
        assert_eq!(
            gateways,
            [
                "com.amazonaws.us-east-1.dynamodb",
                "com.amazonaws.us-east-1.s3"
            ]
        );
        let by_name = ec2
            .describe_vpc_endpoint_services(
                &ctx,
                DescribeVpcEndpointServicesRequest {
                    service_names: Some(vec!["com.amazonaws.us-east-1.logs".into()]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(by_name.service_details.unwrap().len(), 1);
        assert_eq!(
            ec2.describe_vpc_endpoint_services(
                &ctx,
                DescribeVpcEndpointServicesRequest {
                    service_names: Some(vec!["com.amazonaws.us-east-1.nope".into()]),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidServiceName(
                "The Vpc Endpoint Service 'com.amazonaws.us-east-1.nope' does not exist".into()
            ))
        );
        let tagged = ec2
            .describe_vpc_endpoint_services(
                &ctx,
                DescribeVpcEndpointServicesRequest {
                    filters: Some(vec![filter("tag:Name", &["*"])]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(tagged.service_names.unwrap().len(), 0);
    }

    #[test]
    fn describe_services_pages() {
        let (_dir, ec2, ctx) = setup();
        let mut seen = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let got = ec2
                .describe_vpc_endpoint_services(
                    &ctx,
                    DescribeVpcEndpointServicesRequest {
                        max_results: Some(5),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            seen.extend(got.service_names.unwrap());
            token = got.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), SERVICES.len() + 1);
    }

    #[test]
    fn prefix_lists_of_the_gateway_services() {
        let (_dir, ec2, ctx) = setup();
        let lists = ec2
            .describe_prefix_lists(&ctx, Default::default())
            .unwrap()
            .prefix_lists
            .unwrap();
        assert_eq!(lists.len(), 2);
        let s3 = lists
            .iter()
            .find(|l| l.prefix_list_name.as_deref() == Some("com.amazonaws.us-east-1.s3"))
            .unwrap();
        let id = s3.prefix_list_id.clone().unwrap();
        assert!(id.starts_with("pl-") && id.len() == 11);
        assert_eq!(s3.cidrs.as_ref().unwrap().len(), 2);
        let again = ec2
            .describe_prefix_lists(
                &ctx,
                DescribePrefixListsRequest {
                    prefix_list_ids: Some(vec![id.clone()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .prefix_lists
            .unwrap();
        assert_eq!(again.len(), 1);
        let other_region = RequestContext::for_tests("eu-west-1", "123456789012", ctx.now);
        let there = ec2
            .describe_prefix_lists(&other_region, Default::default())
            .unwrap()
            .prefix_lists
            .unwrap();
        assert!(there.iter().all(|l| l.prefix_list_id.as_ref() != Some(&id)));
        let by_name = ec2
            .describe_prefix_lists(
                &ctx,
                DescribePrefixListsRequest {
                    filters: Some(vec![filter("prefix-list-name", &["*dynamodb"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .prefix_lists
            .unwrap();
        assert_eq!(by_name.len(), 1);
        assert!(matches!(
            ec2.describe_prefix_lists(
                &ctx,
                DescribePrefixListsRequest {
                    prefix_list_ids: Some(vec!["pl-00000000".into()]),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidPrefixListIdNotFound(_))
        ));
    }
}
