//! Amazon Resource Names: `arn:partition:service:region:account:resource`.

use std::fmt;

/// A parsed ARN. The resource part is kept whole (`cluster/name`, `role/path/name`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// Usually `aws`.
    pub partition: String,
    /// The service namespace, e.g. `ecs`.
    pub service: String,
    /// Empty for global services such as IAM.
    pub region: String,
    /// The 12-digit account id; empty for AWS-managed resources.
    pub account: String,
    /// Everything after the fifth colon.
    pub resource: String,
}

impl Arn {
    /// Builds an ARN in the `aws` partition.
    pub fn new(service: &str, region: &str, account: &str, resource: &str) -> Self {
        Self {
            partition: "aws".into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        }
    }

    /// Parses `arn:...`; `None` when the text is not an ARN.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?.to_string();
        let service = parts.next()?.to_string();
        let region = parts.next()?.to_string();
        let account = parts.next()?.to_string();
        let resource = parts.next()?.to_string();
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// The resource type and the rest: `cluster/a/b` -> (`cluster`, `a/b`).
    pub fn resource_type_and_id(&self) -> (&str, &str) {
        match self.resource.find(['/', ':']) {
            Some(i) => (&self.resource[..i], &self.resource[i + 1..]),
            None => (&self.resource, ""),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let a = Arn::parse("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3");
        let a = a.expect("valid arn");
        assert_eq!(a.service, "ecs");
        assert_eq!(a.resource_type_and_id(), ("task-definition", "web:3"));
        assert_eq!(
            a.to_string(),
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"
        );
        assert!(Arn::parse("web:3").is_none());
        assert!(Arn::parse("arn:aws:iam::123456789012:role/x").is_some());
    }
}
