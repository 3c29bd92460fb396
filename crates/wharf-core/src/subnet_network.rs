//! What a task's subnet can reach, and how a Fargate task fails when it cannot reach what it
//! needs before its containers start.
//!
//! EC2 fills a [`SubnetNetwork`] from the subnet's route table and its VPC's endpoints; the task
//! agent asks [`first_unreachable`] before it fetches registry auth, secrets and images and
//! prepares log streams for a task, which Fargate does through the task's own network interface.
//! The rules are AWS's:
//! - a subnet whose route table sends `0.0.0.0/0` to an attached internet gateway is public: a
//!   task there reaches AWS's public endpoints only with a public address
//!   (`assignPublicIp=ENABLED`);
//! - a route to an available NAT gateway (itself in a public subnet) reaches them without one;
//! - otherwise only through VPC endpoints: interface endpoints with private DNS (any subnet of
//!   the VPC), and gateway endpoints (S3, DynamoDB) only for subnets whose route table has the
//!   endpoint's route. Pulling from ECR needs `ecr.api`, `ecr.dkr` and the S3 gateway endpoint
//!   (image layers live in S3).
//!
//! The default VPC stays as wharf always ran it: every task there reaches everything.

/// An AWS service a task may need to reach while it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartService {
    /// ECR's API (registry auth): endpoint `ecr.api`.
    EcrApi,
    /// ECR's registry (manifests): endpoint `ecr.dkr`.
    EcrDkr,
    /// S3 (ECR's image layers): gateway endpoint `s3`.
    S3,
    /// Secrets Manager (secrets of container definitions): endpoint `secretsmanager`.
    SecretsManager,
    /// Systems Manager (parameters of container definitions): endpoint `ssm`.
    Ssm,
    /// CloudWatch Logs (the awslogs driver): endpoint `logs`.
    Logs,
    /// A registry on the internet (an image not in ECR): no endpoint reaches it.
    PublicRegistry,
}

impl StartService {
    /// The VPC endpoint service suffix (`com.amazonaws.<region>.<suffix>`) that reaches it.
    pub fn endpoint(self) -> Option<&'static str> {
        match self {
            StartService::EcrApi => Some("ecr.api"),
            StartService::EcrDkr => Some("ecr.dkr"),
            StartService::S3 => Some("s3"),
            StartService::SecretsManager => Some("secretsmanager"),
            StartService::Ssm => Some("ssm"),
            StartService::Logs => Some("logs"),
            StartService::PublicRegistry => None,
        }
    }
}

/// A subnet as the task agent needs it: its VPC and its ways out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubnetNetwork {
    /// `subnet-...`.
    pub subnet_id: String,
    /// Its IPv4 range.
    pub subnet_cidr: String,
    /// Its VPC.
    pub vpc_id: String,
    /// The VPC's primary IPv4 range.
    pub vpc_cidr: String,
    /// Whether the VPC is the account's default VPC in the region.
    pub default_vpc: bool,
    /// The subnet's route table sends `0.0.0.0/0` to an internet gateway attached to the VPC.
    pub internet_gateway: bool,
    /// ... or to a NAT gateway that is available and itself in a public subnet.
    pub nat_gateway: bool,
    /// Interface endpoints of the VPC with private DNS on: their service suffixes (`ecr.api`,
    /// `logs`, ...).
    pub interface_endpoints: Vec<String>,
    /// Gateway endpoints on the subnet's route table: their service suffixes (`s3`).
    pub gateway_endpoints: Vec<String>,
}

impl SubnetNetwork {
    /// The network namespace a VPC other than the default one lives in on this machine
    /// (`None` for the default VPC, whose tasks sit on a Docker bridge network).
    pub fn namespace(&self) -> Option<String> {
        (!self.default_vpc).then(|| vpc_namespace(&self.vpc_id))
    }

    /// Whether traffic to the internet leaves the subnet: through the internet gateway with a
    /// public address, or through a NAT gateway.
    pub fn reaches_internet(&self, public_ip: bool) -> bool {
        (self.internet_gateway && public_ip) || self.nat_gateway
    }

    /// Whether a task of this subnet (with a public address or not) reaches `service`.
    pub fn reaches(&self, service: StartService, public_ip: bool) -> bool {
        if self.default_vpc || self.reaches_internet(public_ip) {
            return true;
        }
        match service {
            StartService::S3 => self.gateway_endpoints.iter().any(|e| e == "s3"),
            other => other
                .endpoint()
                .is_some_and(|name| self.interface_endpoints.iter().any(|e| e == name)),
        }
    }
}

/// The network namespace of VPC `vpc_id` on this machine: `wharf-<vpc-id>`.
pub fn vpc_namespace(vpc_id: &str) -> String {
    format!("wharf-{vpc_id}")
}

/// What a task needs to reach before its containers start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartNeeds {
    /// An image of the task is in ECR (this wharf's registry); the first such image.
    pub ecr_image: Option<String>,
    /// An image of the task is not in ECR (pulled from a registry on the internet); the first.
    pub public_image: Option<String>,
    /// A container definition has secrets from Secrets Manager.
    pub secrets_manager: bool,
    /// A container definition has secrets from SSM Parameter Store.
    pub ssm: bool,
    /// A container logs with the awslogs driver.
    pub logs: bool,
}

/// The first thing a task of `network` cannot reach, with the stopped reason Fargate gives once
/// its retries time out; `None` when everything is reachable. The image comes first, as the
/// seeds and most users meet it: with neither the registry (`ecr.dkr`) nor the internet, the
/// task fails with `CannotPullContainerError`; with the registry but not ECR's API, registry
/// auth fails (`ResourceInitializationError`); with both but no S3 gateway endpoint, the
/// layers do. Then images from the internet, secrets (Secrets Manager, then SSM), and the log
/// stream.
pub fn first_unreachable(
    network: &SubnetNetwork,
    needs: &StartNeeds,
    public_ip: bool,
    region: &str,
) -> Option<(StartService, String)> {
    let mut order: Vec<(StartService, String)> = Vec::new();
    if let Some(image) = &needs.ecr_image {
        order.push((StartService::EcrDkr, manifest_reason(image)));
        order.push((StartService::EcrApi, registry_auth_reason(region)));
        order.push((StartService::S3, layer_reason(image, region)));
    }
    if let Some(image) = &needs.public_image {
        order.push((StartService::PublicRegistry, manifest_reason(image)));
    }
    if needs.secrets_manager {
        order.push((
            StartService::SecretsManager,
            secret_reason(
                "unable to retrieve secret from asm",
                "secretsmanager",
                region,
            ),
        ));
    }
    if needs.ssm {
        order.push((
            StartService::Ssm,
            secret_reason("unable to retrieve secrets from ssm", "ssm", region),
        ));
    }
    if needs.logs {
        order.push((StartService::Logs, logs_reason(region)));
    }
    order
        .into_iter()
        .find(|(service, _)| !network.reaches(*service, public_ip))
}

const TIMEOUT_TAIL: &str = "i/o timeout";

fn registry_auth_reason(region: &str) -> String {
    format!(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource \
         retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 \
         time(s): RequestError: send request failed caused by: Post \
         \"https://api.ecr.{region}.amazonaws.com/\": dial tcp api.ecr.{region}.amazonaws.com:443: \
         {TIMEOUT_TAIL}. Please check your task network configuration."
    )
}

fn secret_reason(what: &str, host: &str, region: &str) -> String {
    format!(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource \
         retrieval failed: {what}: service call has been retried 3 time(s): RequestError: send \
         request failed caused by: Post \"https://{host}.{region}.amazonaws.com/\": dial tcp \
         {host}.{region}.amazonaws.com:443: {TIMEOUT_TAIL}. Please check your task network \
         configuration."
    )
}

/// `registry/repo` and the tag (or digest) of an image reference.
fn split_image(image: &str) -> (&str, &str) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name, digest);
    }
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

fn manifest_reason(image: &str) -> String {
    let (name, tag) = split_image(image);
    let (registry, repo) = name
        .split_once('/')
        .unwrap_or(("registry-1.docker.io", name));
    format!(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to \
         resolve ref {image}: failed to do request: Head \
         \"https://{registry}/v2/{repo}/manifests/{tag}\": dial tcp {registry}: {TIMEOUT_TAIL}"
    )
}

fn layer_reason(image: &str, region: &str) -> String {
    format!(
        "CannotPullContainerError: ref pull has been retried 5 time(s): failed to copy: \
         httpReadSeeker: failed open: failed to do request: Get \
         \"https://prod-{region}-starport-layer-bucket.s3.{region}.amazonaws.com/\": dial tcp \
         prod-{region}-starport-layer-bucket.s3.{region}.amazonaws.com:443: {TIMEOUT_TAIL} \
         (image {image})"
    )
}

fn logs_reason(region: &str) -> String {
    format!(
        "ResourceInitializationError: failed to validate logger args: create stream has been \
         retried 1 times: failed to create Cloudwatch log stream: RequestError: send request \
         failed caused by: Post \"https://logs.{region}.amazonaws.com/\": dial tcp \
         logs.{region}.amazonaws.com:443: {TIMEOUT_TAIL} : exit status 1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private() -> SubnetNetwork {
        SubnetNetwork {
            subnet_id: "subnet-1".into(),
            subnet_cidr: "10.0.11.0/24".into(),
            vpc_id: "vpc-1".into(),
            vpc_cidr: "10.0.0.0/16".into(),
            ..SubnetNetwork::default()
        }
    }

    fn pulling(image: &str) -> StartNeeds {
        StartNeeds {
            ecr_image: Some(image.into()),
            logs: true,
            ..StartNeeds::default()
        }
    }

    const IMAGE: &str = "127.0.0.1:4566/blog-api:v1";

    #[test]
    fn a_private_subnet_without_nat_or_endpoints_cannot_pull_its_image() {
        let (service, reason) =
            first_unreachable(&private(), &pulling(IMAGE), false, "us-east-1").unwrap();
        assert_eq!(service, StartService::EcrDkr);
        assert!(
            reason.starts_with("CannotPullContainerError: pull image manifest"),
            "{reason}"
        );
        assert!(
            reason.contains("https://127.0.0.1:4566/v2/blog-api/manifests/v1"),
            "{reason}"
        );
        assert!(reason.ends_with("i/o timeout"), "{reason}");
    }

    #[test]
    fn a_nat_gateway_route_reaches_everything() {
        let net = SubnetNetwork {
            nat_gateway: true,
            ..private()
        };
        let needs = StartNeeds {
            secrets_manager: true,
            ssm: true,
            public_image: Some("nginx".into()),
            ..pulling(IMAGE)
        };
        assert_eq!(first_unreachable(&net, &needs, false, "us-east-1"), None);
    }

    #[test]
    fn a_public_subnet_needs_a_public_address() {
        let net = SubnetNetwork {
            internet_gateway: true,
            ..private()
        };
        assert_eq!(
            first_unreachable(&net, &pulling(IMAGE), true, "us-east-1"),
            None
        );
        assert!(first_unreachable(&net, &pulling(IMAGE), false, "us-east-1").is_some());
    }

    #[test]
    fn ecr_needs_both_interface_endpoints_and_the_s3_gateway() {
        let mut net = private();
        net.interface_endpoints = vec!["ecr.api".into()];
        let (service, reason) =
            first_unreachable(&net, &pulling(IMAGE), false, "us-east-1").unwrap();
        assert_eq!(service, StartService::EcrDkr);
        assert!(
            reason.starts_with("CannotPullContainerError: pull image manifest"),
            "{reason}"
        );
        assert!(
            reason.contains("https://127.0.0.1:4566/v2/blog-api/manifests/v1"),
            "{reason}"
        );

        net.interface_endpoints.push("ecr.dkr".into());
        let (service, reason) =
            first_unreachable(&net, &pulling(IMAGE), false, "us-east-1").unwrap();
        assert_eq!(service, StartService::S3);
        assert!(
            reason.starts_with("CannotPullContainerError: ref pull"),
            "{reason}"
        );

        net.gateway_endpoints.push("s3".into());
        let (service, _) = first_unreachable(&net, &pulling(IMAGE), false, "us-east-1").unwrap();
        assert_eq!(service, StartService::Logs);

        net.interface_endpoints.push("logs".into());
        assert_eq!(
            first_unreachable(&net, &pulling(IMAGE), false, "us-east-1"),
            None
        );
    }

    #[test]
    fn secrets_need_their_own_endpoint() {
        let mut net = private();
        net.interface_endpoints = vec!["ecr.api".into(), "ecr.dkr".into()];
        net.gateway_endpoints = vec!["s3".into()];
        let needs = StartNeeds {
            secrets_manager: true,
            ..pulling(IMAGE)
        };
        let (service, reason) = first_unreachable(&net, &needs, false, "eu-west-1").unwrap();
        assert_eq!(service, StartService::SecretsManager);
        assert!(
            reason.contains("unable to retrieve secret from asm"),
            "{reason}"
        );
        assert!(
            reason.contains("secretsmanager.eu-west-1.amazonaws.com"),
            "{reason}"
        );
    }

    #[test]
    fn images_outside_ecr_need_the_internet() {
        let mut net = private();
        net.interface_endpoints = vec!["ecr.api".into(), "ecr.dkr".into()];
        net.gateway_endpoints = vec!["s3".into()];
        let needs = StartNeeds {
            public_image: Some("nginx:1.25".into()),
            ..StartNeeds::default()
        };
        let (service, reason) = first_unreachable(&net, &needs, false, "us-east-1").unwrap();
        assert_eq!(service, StartService::PublicRegistry);
        assert!(
            reason.contains("registry-1.docker.io/v2/nginx/manifests/1.25"),
            "{reason}"
        );
    }

    #[test]
    fn the_default_vpc_reaches_everything_and_has_no_namespace() {
        let net = SubnetNetwork {
            default_vpc: true,
            ..private()
        };
        assert_eq!(
            first_unreachable(&net, &pulling(IMAGE), false, "us-east-1"),
            None
        );
        assert_eq!(net.namespace(), None);
        assert_eq!(private().namespace().as_deref(), Some("wharf-vpc-1"));
    }
}
