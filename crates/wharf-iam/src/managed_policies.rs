//! Managed policies a role can be attached to: the parsing of policy ARNs and the catalogue of
//! AWS-managed policies (`arn:aws:iam::aws:policy/<path><name>`) wharf knows about.
//!
//! wharf does not evaluate permissions, so a policy is only a name, a path and an ARN here. The
//! catalogue holds the policies container workloads and tutorials attach, with the paths AWS
//! really uses (the ECS execution-role policy lives under `/service-role/`): attaching a policy
//! that does not exist in AWS must fail here as it would there.

/// A managed policy's identity, taken from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// `aws` for AWS-managed policies, else the owning account's id.
    pub owner: String,
    /// The policy's path, `/` or `/a/b/`.
    pub path: String,
    /// The policy's friendly name, the last segment of the ARN.
    pub name: String,
}

/// AWS-managed policies wharf accepts: (path, name).
const AWS_MANAGED: &[(&str, &str)] = &[
    ("/", "AdministratorAccess"),
    ("/", "PowerUserAccess"),
    ("/", "ReadOnlyAccess"),
    ("/", "AmazonBedrockFullAccess"),
    ("/", "AmazonBedrockReadOnly"),
    ("/", "AmazonDynamoDBFullAccess"),
    ("/", "AmazonDynamoDBReadOnlyAccess"),
    ("/", "AmazonEC2ContainerRegistryFullAccess"),
    ("/", "AmazonEC2ContainerRegistryPowerUser"),
    ("/", "AmazonEC2ContainerRegistryReadOnly"),
    ("/", "AmazonEC2FullAccess"),
    ("/", "AmazonEC2ReadOnlyAccess"),
    ("/", "AmazonECS_FullAccess"),
    ("/", "AmazonElastiCacheFullAccess"),
    ("/", "AmazonRDSFullAccess"),
    ("/", "AmazonRDSReadOnlyAccess"),
    ("/", "AmazonS3FullAccess"),
    ("/", "AmazonS3ReadOnlyAccess"),
    ("/", "AmazonSNSFullAccess"),
    ("/", "AmazonSQSFullAccess"),
    ("/", "AmazonSSMFullAccess"),
    ("/", "AmazonSSMManagedInstanceCore"),
    ("/", "AmazonSSMReadOnlyAccess"),
    ("/", "AWSXRayDaemonWriteAccess"),
    ("/", "CloudWatchAgentServerPolicy"),
    ("/", "CloudWatchFullAccess"),
    ("/", "CloudWatchLogsFullAccess"),
    ("/", "CloudWatchLogsReadOnlyAccess"),
    ("/", "ElasticLoadBalancingFullAccess"),
    ("/", "SecretsManagerReadWrite"),
    ("/service-role/", "AmazonECSTaskExecutionRolePolicy"),
    ("/service-role/", "AmazonEC2ContainerServiceRole"),
    ("/service-role/", "AmazonEC2ContainerServiceforEC2Role"),
    ("/service-role/", "AWSLambdaBasicExecutionRole"),
    ("/service-role/", "AWSLambdaVPCAccessExecutionRole"),
];

/// Parses `arn:aws:iam::<aws|account>:policy<path><name>`; `None` when `arn` is not a policy ARN.
pub fn parse_arn(arn: &str) -> Option<PolicyRef> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (owner, resource) = rest.split_once(':')?;
    let owner_ok =
        owner == "aws" || (owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()));
    if !owner_ok {
        return None;
    }
    let path_and_name = resource.strip_prefix("policy")?;
    if !path_and_name.starts_with('/') {
        return None;
    }
    let split = path_and_name.rfind('/')?;
    let (path, name) = (&path_and_name[..=split], &path_and_name[split + 1..]);
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b));
    if !name_ok || path.contains("//") {
        return None;
    }
    Some(PolicyRef {
        owner: owner.to_string(),
        path: path.to_string(),
        name: name.to_string(),
    })
}

/// Whether `policy` is an AWS-managed policy that exists (at that exact path).
pub fn is_known_aws_managed(policy: &PolicyRef) -> bool {
    policy.owner == "aws"
        && AWS_MANAGED
            .iter()
            .any(|(path, name)| *path == policy.path && *name == policy.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aws_and_customer_policy_arns() {
        let p = parse_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
            .unwrap();
        assert_eq!(p.owner, "aws");
        assert_eq!(p.path, "/service-role/");
        assert_eq!(p.name, "AmazonECSTaskExecutionRolePolicy");
        assert!(is_known_aws_managed(&p));

        let p = parse_arn("arn:aws:iam::123456789012:policy/team/app/MyPolicy").unwrap();
        assert_eq!(
            (p.owner.as_str(), p.path.as_str(), p.name.as_str()),
            ("123456789012", "/team/app/", "MyPolicy")
        );
        assert!(!is_known_aws_managed(&p));
    }

    #[test]
    fn refuses_what_is_not_a_policy_arn() {
        for bad in [
            "AmazonS3ReadOnlyAccess",
            "arn:aws:iam::aws:role/AmazonS3ReadOnlyAccess",
            "arn:aws:iam::12345:policy/P",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::aws:policy/",
            "arn:aws:iam::aws:policyX",
        ] {
            assert_eq!(parse_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn catalogue_checks_the_path_too() {
        let wrong_path =
            parse_arn("arn:aws:iam::aws:policy/AmazonECSTaskExecutionRolePolicy").unwrap();
        assert!(!is_known_aws_managed(&wrong_path));
        for name in [
            "AmazonS3ReadOnlyAccess",
            "AmazonBedrockFullAccess",
            "AWSXRayDaemonWriteAccess",
            "CloudWatchLogsFullAccess",
            "SecretsManagerReadWrite",
            "AmazonSSMReadOnlyAccess",
            "AmazonEC2ContainerRegistryReadOnly",
        ] {
            let p = parse_arn(&format!("arn:aws:iam::aws:policy/{name}")).unwrap();
            assert!(is_known_aws_managed(&p), "{name}");
        }
    }
}
