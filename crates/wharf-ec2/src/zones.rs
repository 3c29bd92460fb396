//! The availability zones wharf offers in every region (`<region>a`, `b` and `c`, with zone ids
//! in AWS's `use1-az1` form) and DescribeAvailabilityZones over them. Zones are not stored: they
//! follow from the region's name.

use crate::checks::check_dry_run;
use crate::filters::FilterSet;
use crate::generated::{
    AvailabilityZone, DescribeAvailabilityZonesRequest, DescribeAvailabilityZonesResult, Error,
};
use wharf_core::RequestContext;

/// Zone letters of the zones wharf offers in every region.
const ZONE_LETTERS: [char; 3] = ['a', 'b', 'c'];

/// An availability zone: `us-east-1a` / `use1-az1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// `us-east-1a`.
    pub name: String,
    /// `use1-az1`.
    pub id: String,
}

/// AWS's short code of a region, the prefix of its zone ids: `us-east-1` -> `use1`,
/// `ap-southeast-2` -> `apse2`, `eu-central-1` -> `euc1`.
pub fn region_code(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let mut code = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 || part.bytes().all(|b| b.is_ascii_digit()) {
            code.push_str(part);
            continue;
        }
        let short = match *part {
            "east" => "e",
            "west" => "w",
            "north" => "n",
            "south" => "s",
            "central" => "c",
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            "gov" => "g",
            other => other.get(..1).unwrap_or(""),
        };
        code.push_str(short);
    }
    code
}

/// The zones wharf offers in `region`.
pub fn zones(region: &str) -> Vec<Zone> {
    let code = region_code(region);
    ZONE_LETTERS
        .iter()
        .enumerate()
        .map(|(i, letter)| Zone {
            name: format!("{region}{letter}"),
            id: format!("{code}-az{}", i + 1),
        })
        .collect()
}

/// Filter names `DescribeAvailabilityZones` accepts.
const ZONE_FILTERS: &[&str] = &[
    "zone-name",
    "zone-id",
    "region-name",
    "state",
    "zone-type",
    "group-name",
    "opt-in-status",
];

/// DescribeAvailabilityZones.
pub fn describe(
    ctx: &RequestContext,
    input: DescribeAvailabilityZonesRequest,
) -> Result<DescribeAvailabilityZonesResult, Error> {
    check_dry_run(input.dry_run)?;
    let filters = FilterSet::parse(input.filters.as_deref(), ZONE_FILTERS)?;
    let region = ctx.region.as_str();
    let mut zones = zones(region);
    if let Some(names) = input.zone_names.as_deref().filter(|n| !n.is_empty()) {
        if let Some(bad) = names.iter().find(|n| !zones.iter().any(|z| z.name == **n)) {
            return Err(Error::InvalidParameterValue(format!(
                "Invalid availability zone: [{bad}]"
            )));
        }
        zones.retain(|z| names.contains(&z.name));
    }
    if let Some(ids) = input.zone_ids.as_deref().filter(|n| !n.is_empty()) {
        if let Some(bad) = ids.iter().find(|n| !zones.iter().any(|z| z.id == **n)) {
            return Err(Error::InvalidParameterValue(format!(
                "Invalid availability zone id: [{bad}]"
            )));
        }
        zones.retain(|z| ids.contains(&z.id));
    }
    let field = |zone: &Zone, name: &str| -> Vec<String> {
        match name {
            "zone-name" => vec![zone.name.clone()],
            "zone-id" => vec![zone.id.clone()],
            "region-name" | "group-name" => vec![region.to_string()],
            "state" => vec!["available".into()],
            "zone-type" => vec!["availability-zone".into()],
            "opt-in-status" => vec!["opt-in-not-required".into()],
            _ => Vec::new(),
        }
    };
    zones.retain(|z| filters.matches(|name| field(z, name), &[]));
    Ok(DescribeAvailabilityZonesResult {
        availability_zones: Some(
            zones
                .into_iter()
                .map(|z| AvailabilityZone {
                    opt_in_status: Some("opt-in-not-required".into()),
                    messages: Some(Vec::new()),
                    region_name: Some(region.to_string()),
                    zone_name: Some(z.name),
                    zone_id: Some(z.id),
                    group_name: Some(region.to_string()),
                    network_border_group: Some(region.to_string()),
                    zone_type: Some("availability-zone".into()),
                    state: Some("available".into()),
                    ..AvailabilityZone::default()
                })
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::Ec2Api;
    use crate::tests::filter;
    use crate::tests::setup;

    #[test]
    fn region_codes_follow_aws() {
        assert_eq!(region_code("us-east-1"), "use1");
        assert_eq!(region_code("eu-west-2"), "euw2");
        assert_eq!(region_code("ap-southeast-2"), "apse2");
        assert_eq!(region_code("eu-central-1"), "euc1");
        assert_eq!(region_code("ap-northeast-1"), "apne1");
        assert_eq!(region_code("us-gov-west-1"), "usgw1");
        let z = zones("us-east-1");
        assert_eq!(
            z[0],
            Zone {
                name: "us-east-1a".into(),
                id: "use1-az1".into()
            }
        );
        assert_eq!(z[2].name, "us-east-1c");
    }

    #[test]
    fn availability_zones() {
        let (_dir, ec2, ctx) = setup();
        let all = ec2
            .describe_availability_zones(&ctx, DescribeAvailabilityZonesRequest::default())
            .unwrap()
            .availability_zones
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].zone_name.as_deref(), Some("us-east-1a"));
        assert_eq!(all[0].zone_id.as_deref(), Some("use1-az1"));
        assert_eq!(all[0].state.as_deref(), Some("available"));
        let one = ec2
            .describe_availability_zones(
                &ctx,
                DescribeAvailabilityZonesRequest {
                    filters: Some(vec![filter("zone-id", &["use1-az2"])]),
                    ..Default::default()
                },
            )
            .unwrap()
            .availability_zones
            .unwrap();
        assert_eq!(one[0].zone_name.as_deref(), Some("us-east-1b"));
        assert!(ec2
            .describe_availability_zones(
                &ctx,
                DescribeAvailabilityZonesRequest {
                    zone_names: Some(vec!["us-east-1z".into()]),
                    ..Default::default()
                },
            )
            .is_err());
    }
}
