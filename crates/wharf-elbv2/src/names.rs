//! Names, ARNs and DNS names of load balancers, target groups, listeners and rules (pure).
//!
//! ARNs follow AWS: `arn:aws:elasticloadbalancing:<region>:<account>:` then
//! `loadbalancer/app/<name>/<id>`, `targetgroup/<name>/<id>`, `listener/app/<lb name>/<lb
//! id>/<id>` or `listener-rule/app/<lb name>/<lb id>/<listener id>/<id>`, each id 16 hex
//! digits. A `DNSName` is `<name>-<10 digits>.<region>.elb.localhost` (`internal-` first for
//! internal load balancers): curl (7.78+) and browsers send every `*.localhost` name to the
//! loopback address without any DNS set-up (as does every program where systemd-resolved or
//! nss-myhostname resolves names; elsewhere `curl --resolve` or `/etc/hosts`), and the data
//! plane tells load balancers that share a port apart by the Host header or TLS SNI.

use crate::errors::invalid;
use crate::generated::Error;
use wharf_core::Arn;

/// The ARN service namespace.
pub const SERVICE: &str = "elasticloadbalancing";
/// Longest load balancer or target group name.
const MAX_NAME: usize = 32;

/// Which resource an ELBv2 ARN names, with the ids that lead to its store key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `loadbalancer/app/<name>/<id>`.
    LoadBalancer {
        /// The load balancer id.
        id: String,
    },
    /// `targetgroup/<name>/<id>`.
    TargetGroup {
        /// The target group id.
        id: String,
    },
    /// `listener/app/<lb name>/<lb id>/<id>`.
    Listener {
        /// The load balancer id.
        lb_id: String,
        /// The listener id.
        id: String,
    },
    /// `listener-rule/app/<lb name>/<lb id>/<listener id>/<id>`.
    Rule {
        /// The load balancer id.
        lb_id: String,
        /// The listener id.
        listener_id: String,
        /// The rule id.
        id: String,
    },
}

/// A parsed ELBv2 ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArn {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// What it names.
    pub resource: Resource,
}

impl ParsedArn {
    /// The store key of the resource: `<account>/<region>/<ids...>`.
    pub fn key(&self) -> String {
        let scope = format!("{}/{}", self.account, self.region);
        match &self.resource {
            Resource::LoadBalancer { id } | Resource::TargetGroup { id } => format!("{scope}/{id}"),
            Resource::Listener { lb_id, id } => format!("{scope}/{lb_id}/{id}"),
            Resource::Rule {
                lb_id,
                listener_id,
                id,
            } => format!("{scope}/{lb_id}/{listener_id}/{id}"),
        }
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses an ELBv2 ARN; `None` when it is not one of the four kinds.
pub fn parse_arn(text: &str) -> Option<ParsedArn> {
    let arn = Arn::parse(text)?;
    if arn.service != SERVICE || arn.region.is_empty() || arn.account.is_empty() {
        return None;
    }
    let parts: Vec<&str> = arn.resource.split('/').collect();
    let resource = match parts.as_slice() {
        ["loadbalancer", "app", name, id] if !name.is_empty() && is_id(id) => {
            Resource::LoadBalancer { id: id.to_string() }
        }
        ["targetgroup", name, id] if !name.is_empty() && is_id(id) => {
            Resource::TargetGroup { id: id.to_string() }
        }
        ["listener", "app", name, lb, id] if !name.is_empty() && is_id(lb) && is_id(id) => {
            Resource::Listener {
                lb_id: lb.to_string(),
                id: id.to_string(),
            }
        }
        ["listener-rule", "app", name, lb, listener, id]
            if !name.is_empty() && is_id(lb) && is_id(listener) && is_id(id) =>
        {
            Resource::Rule {
                lb_id: lb.to_string(),
                listener_id: listener.to_string(),
                id: id.to_string(),
            }
        }
        _ => return None,
    };
    Some(ParsedArn {
        account: arn.account,
        region: arn.region,
        resource,
    })
}

fn arn(region: &str, account: &str, resource: &str) -> String {
    Arn::new(SERVICE, region, account, resource).to_string()
}

/// A load balancer's ARN.
pub fn load_balancer_arn(region: &str, account: &str, name: &str, id: &str) -> String {
    arn(region, account, &format!("loadbalancer/app/{name}/{id}"))
}

/// A target group's ARN.
pub fn target_group_arn(region: &str, account: &str, name: &str, id: &str) -> String {
    arn(region, account, &format!("targetgroup/{name}/{id}"))
}

/// The ARN of listener `id` of load balancer `lb_arn`.
pub fn listener_arn(lb_arn: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        lb_arn.replacen(":loadbalancer/", ":listener/", 1)
    )
}

/// The ARN of rule `id` of listener `listener_arn`.
pub fn rule_arn(listener_arn: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1)
    )
}

/// Checks a load balancer name as AWS does.
pub fn check_load_balancer_name(name: &str) -> Result<(), Error> {
    if name.len() > MAX_NAME {
        return Err(invalid(format!(
            "The load balancer name '{name}' cannot be longer than '{MAX_NAME}' characters"
        )));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(invalid(format!(
            "The load balancer name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(invalid(format!(
            "The load balancer name '{name}' cannot begin or end with a hyphen(-)"
        )));
    }
    if name.to_ascii_lowercase().starts_with("internal-") {
        return Err(invalid(format!(
            "The load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    Ok(())
}

/// Checks a target group name as AWS does.
pub fn check_target_group_name(name: &str) -> Result<(), Error> {
    if name.len() > MAX_NAME {
        return Err(invalid(format!(
            "Target group name '{name}' cannot be longer than '{MAX_NAME}' characters"
        )));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(invalid(format!(
            "Target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(invalid(format!(
            "Target group name '{name}' cannot begin or end with '-'"
        )));
    }
    Ok(())
}

/// The `DNSName` of a load balancer: `<name>-<digits>.<region>.elb.localhost`, with
/// `internal-` first for an internal one (as AWS does).
pub fn dns_name(name: &str, digits: &str, region: &str, internal: bool) -> String {
    let prefix = if internal { "internal-" } else { "" };
    format!("{prefix}{name}-{digits}.{region}.elb.localhost")
}

/// `CanonicalHostedZoneId`: the Route 53 zone AWS publishes application load balancers of
/// `region` in; a stable made-up id for regions not in the table.
pub fn hosted_zone_id(region: &str) -> String {
    let known = match region {
        "us-east-1" => "Z35SXDOTRQ7X7K",
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "ca-central-1" => "ZQSVJUPU6J1EY",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-west-2" => "ZHURV8PSTC4K8",
        "eu-west-3" => "Z3Q77PNBQS71R4",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "ap-south-1" => "ZP97RAFLXTNZK",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-southeast-2" => "Z1GM3OXH4ZPM65",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        "ap-northeast-2" => "ZWKZPGTI48KDX",
        "sa-east-1" => "Z2P70J7HTTTPLU",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // FNV-1a of the region name, in the 13 upper-case letters and digits of a zone id.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in region.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut id = String::from("Z");
    for _ in 0..13 {
        id.push(char::from(alphabet[(hash % 36) as usize]));
        hash /= 36;
        if hash == 0 {
            hash = 0x9e37_79b9_7f4a_7c15;
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip_to_keys() {
        let lb = load_balancer_arn("us-east-1", "123456789012", "blog-alb", "50dc6c495c0c9188");
        assert_eq!(
            lb,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blog-alb/50dc6c495c0c9188"
        );
        let listener = listener_arn(&lb, "f2f7dc8efc522ab2");
        assert_eq!(
            listener,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/blog-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
        );
        let rule = rule_arn(&listener, "9683b2d02a6cabee");
        assert!(rule.contains(
            ":listener-rule/app/blog-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
        ));
        assert_eq!(
            parse_arn(&lb).unwrap().key(),
            "123456789012/us-east-1/50dc6c495c0c9188"
        );
        assert_eq!(
            parse_arn(&listener).unwrap().key(),
            "123456789012/us-east-1/50dc6c495c0c9188/f2f7dc8efc522ab2"
        );
        assert_eq!(
            parse_arn(&rule).unwrap().key(),
            "123456789012/us-east-1/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
        );
        let tg = target_group_arn(
            "us-east-1",
            "123456789012",
            "tg-blog-api",
            "73e2d6bc24d8a067",
        );
        assert!(matches!(
            parse_arn(&tg).unwrap().resource,
            Resource::TargetGroup { .. }
        ));
        for bad in [
            "nope",
            "arn:aws:ecs:us-east-1:123456789012:loadbalancer/app/a/50dc6c495c0c9188",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/50dc6c495c0c9188",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/zz",
        ] {
            assert_eq!(parse_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_load_balancer_name("blog-alb").is_ok());
        assert!(check_load_balancer_name(&"a".repeat(32)).is_ok());
        for bad in ["", "-a", "a-", "a_b", "internal-a", &"a".repeat(33)] {
            assert!(check_load_balancer_name(bad).is_err(), "{bad}");
        }
        assert!(check_target_group_name("tg-blog-api").is_ok());
        // Only load balancer names are barred from starting with `internal-`.
        assert!(check_target_group_name("internal-api").is_ok());
        for bad in ["", "-a", "a-", "a.b", &"a".repeat(33)] {
            assert!(check_target_group_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dns_names_and_zones() {
        assert_eq!(
            dns_name("blog-alb", "1234567890", "us-east-1", false),
            "blog-alb-1234567890.us-east-1.elb.localhost"
        );
        assert_eq!(
            dns_name("api", "1234567890", "eu-west-1", true),
            "internal-api-1234567890.eu-west-1.elb.localhost"
        );
        assert_eq!(hosted_zone_id("us-east-1"), "Z35SXDOTRQ7X7K");
        let made_up = hosted_zone_id("xx-moon-1");
        assert_eq!(made_up.len(), 14);
        assert_eq!(made_up, hosted_zone_id("xx-moon-1"));
    }
}
