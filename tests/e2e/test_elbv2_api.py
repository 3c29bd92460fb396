"""Elastic Load Balancing v2 API (the control plane) as the seeds and the AWS CLI use it:
load balancers in the default VPC, target groups with health checks, HTTP -> HTTPS redirect
and HTTPS listeners with an ACM certificate, rules with every condition type and their
priorities, weighted forwards, target registration and health states, attributes, tags,
pagination and AWS's errors. The data plane (traffic through the listeners) is tested
elsewhere."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID, default_network, wait_until

ARN_PREFIX = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_ID}:"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def create_target_group(wharf, vpc_id, name="tg-blog-api", cli="v1"):
    return wharf.aws(
        "elbv2", "create-target-group",
        "--name", name,
        "--protocol", "HTTP",
        "--port", "8000",
        "--vpc-id", vpc_id,
        "--target-type", "ip",
        "--query", "TargetGroups[0].TargetGroupArn",
        "--output", "text",
        cli=cli,
    ).stdout.strip()


def create_load_balancer(wharf, subnets, name="blog-alb", cli="v1"):
    return wharf.aws(
        "elbv2", "create-load-balancer",
        "--name", name,
        "--subnets", *subnets,
        "--query", "LoadBalancers[0].LoadBalancerArn",
        "--output", "text",
        cli=cli,
    ).stdout.strip()


def request_certificate(wharf, domain="blog.example.com", cli="v1"):
    return wharf.aws(
        "acm", "request-certificate",
        "--domain-name", domain,
        "--validation-method", "DNS",
        "--query", "CertificateArn",
        "--output", "text",
        cli=cli,
    ).stdout.strip()


# ---------------------------------------------------------------------------------------
# The seeds' commands
# ---------------------------------------------------------------------------------------


def test_seed_commands(wharf, cli):
    vpc_id, subnets = default_network(wharf, cli)
    # aws elbv2 create-target-group ... (seed 002, as written)
    tg = wharf.aws(
        "elbv2", "create-target-group",
        "--name", "tg-blog-api",
        "--protocol", "HTTP",
        "--port", "8000",
        "--vpc-id", vpc_id,
        "--target-type", "ip",
        "--health-check-path", "/health",
        "--healthy-threshold-count", "2",
        "--health-check-interval-seconds", "15",
        cli=cli,
    ).json["TargetGroups"][0]
    assert re.fullmatch(ARN_PREFIX + r"targetgroup/tg-blog-api/[0-9a-f]{16}", tg["TargetGroupArn"])
    assert tg["HealthCheckPath"] == "/health"
    assert tg["HealthyThresholdCount"] == 2
    assert tg["HealthCheckIntervalSeconds"] == 15
    # AWS's defaults for the rest.
    assert tg["HealthCheckTimeoutSeconds"] == 5
    assert tg["UnhealthyThresholdCount"] == 2
    assert tg["HealthCheckPort"] == "traffic-port"
    assert tg["HealthCheckProtocol"] == "HTTP"
    assert tg["Matcher"] == {"HttpCode": "200"}
    assert tg["TargetType"] == "ip" and tg["VpcId"] == vpc_id
    assert tg["LoadBalancerArns"] == []

    created = wharf.aws(
        "elbv2", "create-load-balancer", "--name", "blog-alb", "--subnets", *subnets, cli=cli
    ).json["LoadBalancers"][0]
    assert re.fullmatch(
        ARN_PREFIX + r"loadbalancer/app/blog-alb/[0-9a-f]{16}", created["LoadBalancerArn"]
    )
    assert created["Type"] == "application"
    assert created["Scheme"] == "internet-facing"
    assert created["VpcId"] == vpc_id
    assert created["IpAddressType"] == "ipv4"
    assert created["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert sorted(z["SubnetId"] for z in created["AvailabilityZones"]) == sorted(subnets)
    default_sg = wharf.aws(
        "ec2", "describe-security-groups",
        "--filters", f"Name=vpc-id,Values={vpc_id}", "Name=group-name,Values=default",
        "--query", "SecurityGroups[0].GroupId", "--output", "text",
        cli=cli,
    ).stdout.strip()
    assert created["SecurityGroups"] == [default_sg]

    wharf.aws("elbv2", "wait", "load-balancer-available", "--names", "blog-alb", cli=cli)
    # ALB_DNS=$(aws elbv2 describe-load-balancers --names blog-alb --query ... --output text)
    dns = wharf.aws(
        "elbv2", "describe-load-balancers",
        "--names", "blog-alb",
        "--query", "LoadBalancers[0].DNSName",
        "--output", "text",
        cli=cli,
    ).stdout.strip()
    assert re.fullmatch(r"blog-alb-\d{10}\.us-east-1\.elb\.localhost", dns), dns
    assert dns == created["DNSName"]
    state = wharf.aws(
        "elbv2", "describe-load-balancers", "--names", "blog-alb",
        "--query", "LoadBalancers[0].State.Code", "--output", "text", cli=cli,
    ).stdout.strip()
    assert state == "active"

    # Running the seed again is harmless: both creates are idempotent.
    again = create_load_balancer(wharf, subnets, cli=cli)
    assert again == created["LoadBalancerArn"]
    same = wharf.aws(
        "elbv2", "create-target-group",
        "--name", "tg-blog-api", "--protocol", "HTTP", "--port", "8000",
        "--vpc-id", vpc_id, "--target-type", "ip", "--health-check-path", "/health",
        "--healthy-threshold-count", "2", "--health-check-interval-seconds", "15",
        "--query", "TargetGroups[0].TargetGroupArn", "--output", "text",
        cli=cli,
    ).stdout.strip()
    assert same == tg["TargetGroupArn"]
    wharf.aws_error(
        "DuplicateTargetGroupName",
        "elbv2", "create-target-group", "--name", "tg-blog-api", "--protocol", "HTTP",
        "--port", "9000", "--vpc-id", vpc_id, "--target-type", "ip",
        cli=cli,
    )
    wharf.aws_error(
        "LoadBalancerNotFound",
        "elbv2", "describe-load-balancers", "--names", "no-such-alb", cli=cli,
    )


# ---------------------------------------------------------------------------------------
# Listeners: HTTP 80 -> HTTPS 443, HTTPS with a requested certificate
# ---------------------------------------------------------------------------------------


def test_listeners_redirect_and_https(wharf, cli):
    vpc_id, subnets = default_network(wharf)
    tg = create_target_group(wharf, vpc_id)
    lb = create_load_balancer(wharf, subnets)
    cert = request_certificate(wharf, cli=cli)

    http = wharf.aws(
        "elbv2", "create-listener",
        "--load-balancer-arn", lb,
        "--protocol", "HTTP", "--port", "80",
        "--default-actions",
        "Type=redirect,RedirectConfig={Protocol=HTTPS,Port=443,StatusCode=HTTP_301}",
        cli=cli,
    ).json["Listeners"][0]
    assert re.fullmatch(
        ARN_PREFIX + r"listener/app/blog-alb/[0-9a-f]{16}/[0-9a-f]{16}", http["ListenerArn"]
    )
    assert http["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {
                "Protocol": "HTTPS",
                "Port": "443",
                "Host": "#{host}",
                "Path": "/#{path}",
                "Query": "#{query}",
                "StatusCode": "HTTP_301",
            },
        }
    ]
    https = wharf.aws(
        "elbv2", "create-listener",
        "--load-balancer-arn", lb,
        "--protocol", "HTTPS", "--port", "443",
        "--certificates", f"CertificateArn={cert}",
        "--default-actions", f"Type=forward,TargetGroupArn={tg}",
        cli=cli,
    ).json["Listeners"][0]
    assert https["Protocol"] == "HTTPS" and https["Port"] == 443
    assert https["SslPolicy"] == "ELBSecurityPolicy-2016-08"
    assert https["Certificates"] == [{"CertificateArn": cert}]
    assert https["DefaultActions"][0]["TargetGroupArn"] == tg
    assert https["DefaultActions"][0]["ForwardConfig"] == {
        "TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": False},
    }

    listeners = wharf.aws(
        "elbv2", "describe-listeners", "--load-balancer-arn", lb, cli=cli
    ).json["Listeners"]
    assert [(l["Protocol"], l["Port"]) for l in listeners] == [("HTTP", 80), ("HTTPS", 443)]
    tg_lbs = wharf.aws(
        "elbv2", "describe-target-groups", "--target-group-arns", tg,
        "--query", "TargetGroups[0].LoadBalancerArns", cli=cli,
    ).json
    assert tg_lbs == [lb]

    # A second certificate chosen by SNI.
    extra = request_certificate(wharf, "api.example.com", cli=cli)
    wharf.aws(
        "elbv2", "add-listener-certificates", "--listener-arn", https["ListenerArn"],
        "--certificates", f"CertificateArn={extra}", cli=cli,
    )
    certs = wharf.aws(
        "elbv2", "describe-listener-certificates", "--listener-arn", https["ListenerArn"],
        cli=cli,
    ).json["Certificates"]
    assert {(c["CertificateArn"], c["IsDefault"]) for c in certs} == {(cert, True), (extra, False)}
    wharf.aws_error(
        "OperationNotPermitted",
        "elbv2", "remove-listener-certificates", "--listener-arn", https["ListenerArn"],
        "--certificates", f"CertificateArn={cert}", cli=cli,
    )
    wharf.aws(
        "elbv2", "remove-listener-certificates", "--listener-arn", https["ListenerArn"],
        "--certificates", f"CertificateArn={extra}", cli=cli,
    )

    # ACM knows the certificate is in use (by the load balancer, as AWS shows it), and keeps it.
    in_use = wharf.aws(
        "acm", "describe-certificate", "--certificate-arn", cert,
        "--query", "Certificate.InUseBy", cli=cli,
    ).json
    assert in_use == [lb]
    wharf.aws_error("ResourceInUseException", "acm", "delete-certificate", "--certificate-arn", cert, cli=cli)

    # AWS's errors, and nothing changed.
    wharf.aws_error(
        "DuplicateListener",
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTP",
        "--port", "80", "--default-actions", f"Type=forward,TargetGroupArn={tg}", cli=cli,
    )
    missing_cert = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/00000000-0000-4000-8000-000000000000"
    wharf.aws_error(
        "CertificateNotFound",
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTPS",
        "--port", "8443", "--certificates", f"CertificateArn={missing_cert}",
        "--default-actions", f"Type=forward,TargetGroupArn={tg}", cli=cli,
    )
    wharf.aws_error(
        "ValidationError",
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTPS",
        "--port", "8443", "--default-actions", f"Type=forward,TargetGroupArn={tg}", cli=cli,
    )
    wharf.aws_error(
        "SSLPolicyNotFound",
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTPS",
        "--port", "8443", "--certificates", f"CertificateArn={cert}",
        "--ssl-policy", "ELBSecurityPolicy-Nope",
        "--default-actions", f"Type=forward,TargetGroupArn={tg}", cli=cli,
    )
    wharf.aws_error(
        ("ValidationError",),
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTP",
        "--port", "70000", "--default-actions", f"Type=forward,TargetGroupArn={tg}", cli=cli,
    )
    wharf.aws_error(
        "ResourceInUse",
        "elbv2", "delete-target-group", "--target-group-arn", tg, cli=cli,
    )
    assert len(wharf.aws(
        "elbv2", "describe-listeners", "--load-balancer-arn", lb, cli=cli
    ).json["Listeners"]) == 2

    # Switch the policy; then delete the HTTPS listener and the certificate can go.
    modified = wharf.aws(
        "elbv2", "modify-listener", "--listener-arn", https["ListenerArn"],
        "--ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06", cli=cli,
    ).json["Listeners"][0]
    assert modified["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    policies = wharf.aws(
        "elbv2", "describe-ssl-policies", "--names", "ELBSecurityPolicy-TLS13-1-2-2021-06",
        cli=cli,
    ).json["SslPolicies"]
    assert policies[0]["SslProtocols"] == ["TLSv1.2", "TLSv1.3"]
    wharf.aws("elbv2", "delete-listener", "--listener-arn", https["ListenerArn"], cli=cli)
    wharf.aws("acm", "delete-certificate", "--certificate-arn", cert, cli=cli)
    wharf.aws_error(
        "ListenerNotFound",
        "elbv2", "describe-listeners", "--listener-arns", https["ListenerArn"], cli=cli,
    )
    # The target group is free again once nothing forwards to it.
    wharf.aws("elbv2", "delete-load-balancer", "--load-balancer-arn", lb, cli=cli)
    wharf.aws("elbv2", "delete-target-group", "--target-group-arn", tg, cli=cli)


# ---------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------


def test_rules_with_every_condition(wharf, cli):
    vpc_id, subnets = default_network(wharf)
    api = create_target_group(wharf, vpc_id, "tg-api")
    web = create_target_group(wharf, vpc_id, "tg-web")
    lb = create_load_balancer(wharf, subnets)
    listener = wharf.aws(
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTP",
        "--port", "80", "--default-actions", f"Type=forward,TargetGroupArn={web}",
        "--query", "Listeners[0].ListenerArn", "--output", "text",
    ).stdout.strip()

    def create_rule(priority, conditions, target=api):
        return wharf.aws(
            "elbv2", "create-rule", "--listener-arn", listener,
            "--priority", str(priority),
            "--conditions", wharf.write_json(f"conditions-{priority}.json", conditions),
            "--actions", f"Type=forward,TargetGroupArn={target}",
            cli=cli,
        ).json["Rules"][0]

    # The seeds' shorthand form: Field + Values.
    path_rule = wharf.aws(
        "elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
        "--conditions", "Field=path-pattern,Values=/api/*",
        "--actions", f"Type=forward,TargetGroupArn={api}",
        cli=cli,
    ).json["Rules"][0]
    assert path_rule["Priority"] == "10" and path_rule["IsDefault"] is False
    assert path_rule["Conditions"] == [
        {"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}}
    ]
    host = create_rule(20, [{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com", "*.api.example.com"]}}])
    assert host["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com", "*.api.example.com"]}}
    ]
    create_rule(30, [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["true"]}}])
    create_rule(40, [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]}}])
    create_rule(50, [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "v2"}, {"Value": "beta"}]}}])
    source = create_rule(60, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "2001:db8::/32"]}}])
    combined = create_rule(70, [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/admin/*"]}},
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
    ])
    assert len(combined["Conditions"]) == 2

    rules = wharf.aws("elbv2", "describe-rules", "--listener-arn", listener, cli=cli).json["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "30", "40", "50", "60", "70", "default"]
    default = rules[-1]
    assert default["IsDefault"] is True and default["Conditions"] == []
    assert default["Actions"][0]["TargetGroupArn"] == web
    assert re.fullmatch(
        ARN_PREFIX + r"listener-rule/app/blog-alb/[0-9a-f]{16}/[0-9a-f]{16}/[0-9a-f]{16}",
        default["RuleArn"],
    )

    # Priority clashes, invalid conditions: AWS's errors.
    wharf.aws_error(
        "PriorityInUse",
        "elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
        "--conditions", "Field=path-pattern,Values=/other",
        "--actions", f"Type=forward,TargetGroupArn={api}", cli=cli,
    )
    for bad in (
        [{"Field": "cookie", "Values": ["a"]}],
        [{"Field": "path-pattern", "Values": ["/has space"]}],
        [{"Field": "host-header", "Values": ["localhost"]}],
        [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.1"]}}],
        [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}],
        [{"Field": "path-pattern", "Values": ["/a", "/b", "/c", "/d", "/e", "/f"]}],
        [{"Field": "source-ip", "Values": ["10.0.0.0/8"]}],
    ):
        wharf.aws_error(
            "ValidationError",
            "elbv2", "create-rule", "--listener-arn", listener, "--priority", "99",
            "--conditions", wharf.write_json("bad.json", bad),
            "--actions", f"Type=forward,TargetGroupArn={api}", cli=cli,
        )
    wharf.aws_error(
        "ValidationError",
        "elbv2", "create-rule", "--listener-arn", listener, "--priority", "50001",
        "--conditions", "Field=path-pattern,Values=/x",
        "--actions", f"Type=forward,TargetGroupArn={api}", cli=cli,
    )

    # SetRulePriorities swaps at once; a clash with a rule left alone is refused.
    swapped = wharf.aws(
        "elbv2", "set-rule-priorities", "--rule-priorities",
        f"RuleArn={path_rule['RuleArn']},Priority=20", f"RuleArn={host['RuleArn']},Priority=10",
        cli=cli,
    ).json["Rules"]
    assert {r["RuleArn"]: r["Priority"] for r in swapped} == {
        path_rule["RuleArn"]: "20", host["RuleArn"]: "10"
    }
    wharf.aws_error(
        "PriorityInUse",
        "elbv2", "set-rule-priorities", "--rule-priorities",
        f"RuleArn={source['RuleArn']},Priority=30", cli=cli,
    )
    wharf.aws_error(
        "OperationNotPermitted",
        "elbv2", "set-rule-priorities", "--rule-priorities",
        f"RuleArn={default['RuleArn']},Priority=5", cli=cli,
    )

    # ModifyRule, DeleteRule; the default rule cannot be deleted.
    modified = wharf.aws(
        "elbv2", "modify-rule", "--rule-arn", source["RuleArn"],
        "--actions", "Type=fixed-response,FixedResponseConfig={StatusCode=403,ContentType=text/plain,MessageBody=denied}",
        cli=cli,
    ).json["Rules"][0]
    assert modified["Actions"] == [{
        "Type": "fixed-response",
        "FixedResponseConfig": {"MessageBody": "denied", "StatusCode": "403", "ContentType": "text/plain"},
    }]
    wharf.aws("elbv2", "delete-rule", "--rule-arn", combined["RuleArn"], cli=cli)
    wharf.aws_error("RuleNotFound", "elbv2", "delete-rule", "--rule-arn", combined["RuleArn"], cli=cli)
    wharf.aws_error("OperationNotPermitted", "elbv2", "delete-rule", "--rule-arn", default["RuleArn"], cli=cli)
    by_arn = wharf.aws(
        "elbv2", "describe-rules", "--rule-arns", host["RuleArn"], default["RuleArn"], cli=cli
    ).json["Rules"]
    assert [r["Priority"] for r in by_arn] == ["10", "default"]

    # DeleteLoadBalancer takes the listener and its rules along.
    wharf.aws("elbv2", "delete-load-balancer", "--load-balancer-arn", lb, cli=cli)
    wharf.aws_error("ListenerNotFound", "elbv2", "describe-rules", "--listener-arn", listener, cli=cli)
    wharf.aws("elbv2", "delete-target-group", "--target-group-arn", api, cli=cli)


def test_weighted_forward_and_target_group_association(wharf):
    elbv2 = wharf.boto3_client("elbv2")
    vpc_id, subnets = default_network(wharf)
    blue = create_target_group(wharf, vpc_id, "tg-blue")
    green = create_target_group(wharf, vpc_id, "tg-green")
    lb = create_load_balancer(wharf, subnets)
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": blue, "Weight": 90},
                {"TargetGroupArn": green, "Weight": 10},
            ],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
        },
    }
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[forward]
    )["Listeners"][0]
    assert listener["DefaultActions"] == [forward]
    for tg in (blue, green):
        assert elbv2.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0][
            "LoadBalancerArns"
        ] == [lb]
    assert {t["TargetGroupName"] for t in elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"]} == {"tg-blue", "tg-green"}

    # A target group serves one load balancer only.
    other = create_load_balancer(wharf, subnets, "other-alb")
    with pytest.raises(ClientError) as exc:
        elbv2.create_listener(
            LoadBalancerArn=other, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
        )
    assert error_code(exc) == "TargetGroupAssociationLimit"
    assert blue in exc.value.response["Error"]["Message"]

    bad_weights = [
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 1000}]}},
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 0}]}},
        {"Type": "forward", "TargetGroupArn": green, "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue}]}},
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue}], "TargetGroupStickinessConfig": {"Enabled": True}}},
    ]
    for action in bad_weights:
        with pytest.raises(ClientError) as exc:
            elbv2.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=[action])
        assert error_code(exc) == "ValidationError", action
    missing = ARN_PREFIX + "targetgroup/nope/0123456789abcdef"
    with pytest.raises(ClientError) as exc:
        elbv2.modify_listener(
            ListenerArn=listener["ListenerArn"],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": missing}],
        )
    assert error_code(exc) == "TargetGroupNotFound"
    # Nothing changed.
    assert elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][0][
        "DefaultActions"
    ] == [forward]
    with pytest.raises(ClientError) as exc:
        elbv2.delete_target_group(TargetGroupArn=green)
    assert error_code(exc) == "ResourceInUse"


# ---------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------


def test_target_registration_and_health(wharf):
    elbv2 = wharf.boto3_client("elbv2")
    vpc_id, subnets = default_network(wharf)
    tg = create_target_group(wharf, vpc_id)
    elbv2.register_targets(
        TargetGroupArn=tg,
        Targets=[{"Id": "172.31.0.10"}, {"Id": "172.31.16.20", "Port": 8080}],
    )

    def health(**kwargs):
        return [
            (d["Target"]["Id"], d["Target"]["Port"], d["TargetHealth"]["State"],
             d["TargetHealth"].get("Reason"), d["TargetHealth"].get("Description"),
             d["HealthCheckPort"])
            for d in elbv2.describe_target_health(TargetGroupArn=tg, **kwargs)["TargetHealthDescriptions"]
        ]

    # No listener uses the target group yet.
    assert health() == [
        ("172.31.0.10", 8000, "unused", "Target.NotInUse",
         "Target group is not configured to receive traffic from the load balancer", "8000"),
        ("172.31.16.20", 8080, "unused", "Target.NotInUse",
         "Target group is not configured to receive traffic from the load balancer", "8080"),
    ]
    lb = create_load_balancer(wharf, subnets)
    elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    assert health()[0][2:5] == (
        "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
    )
    # Deregistration: draining until the delay passes or the data plane says it is drained;
    # a target with nothing in flight is drained at once.
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.16.20", "Port": 8080}])
    rows = health()
    if len(rows) > 1:
        assert rows[1][2:5] == (
            "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
        )
    wait_until(lambda: len(health()) == 1, "the idle target's deregistration to complete", deadline=60)
    # Asking about a target that is not registered.
    assert health(Targets=[{"Id": "172.31.0.99"}]) == [
        ("172.31.0.99", 8000, "unused", "Target.NotRegistered",
         "Target is not registered to the target group", "8000"),
    ]
    with pytest.raises(ClientError) as exc:
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.0.99"}])
    assert error_code(exc) == "InvalidTarget"

    # What AWS refuses to register.
    for targets in (
        [{"Id": "8.8.8.8", "AvailabilityZone": "all"}],   # public
        [{"Id": "127.0.0.1", "AvailabilityZone": "all"}],  # loopback
        [{"Id": "10.1.2.3"}],                              # outside the VPC without AZ=all
        [{"Id": "not-an-ip"}],
        [{"Id": "172.31.0.11", "Port": 70000}],            # port out of range
    ):
        with pytest.raises(ClientError) as exc:
            elbv2.register_targets(TargetGroupArn=tg, Targets=targets)
        assert error_code(exc) == "ValidationError", targets
    # A private address outside the VPC with AvailabilityZone=all is fine (e.g. the host).
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "172.17.0.1", "AvailabilityZone": "all"}])
    assert ("172.17.0.1", 8000) in [(h[0], h[1]) for h in health()]

    # Instance targets.
    instances = elbv2.create_target_group(
        Name="tg-instances", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=instances, Targets=[{"Id": "i-0123456789abcdef0"}])
    with pytest.raises(ClientError) as exc:
        elbv2.register_targets(TargetGroupArn=instances, Targets=[{"Id": "172.31.0.10"}])
    assert error_code(exc) == "ValidationError"
    assert "Instance ID '172.31.0.10' is not valid" in exc.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as exc:
        elbv2.register_targets(TargetGroupArn=ARN_PREFIX + "targetgroup/nope/0123456789abcdef", Targets=[{"Id": "172.31.0.10"}])
    assert error_code(exc) == "TargetGroupNotFound"


# ---------------------------------------------------------------------------------------
# Attributes, health check settings and other validation
# ---------------------------------------------------------------------------------------


def test_attributes(wharf, cli):
    vpc_id, subnets = default_network(wharf)
    lb = create_load_balancer(wharf, subnets)
    tg = create_target_group(wharf, vpc_id)

    attrs = {
        a["Key"]: a["Value"]
        for a in wharf.aws(
            "elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", lb, cli=cli
        ).json["Attributes"]
    }
    assert attrs["idle_timeout.timeout_seconds"] == "60"
    assert attrs["routing.http2.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "false"
    changed = {
        a["Key"]: a["Value"]
        for a in wharf.aws(
            "elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", lb,
            "--attributes", "Key=idle_timeout.timeout_seconds,Value=120",
            "Key=deletion_protection.enabled,Value=true",
            cli=cli,
        ).json["Attributes"]
    }
    assert changed["idle_timeout.timeout_seconds"] == "120"
    for bad in ("Key=idle_timeout.timeout_seconds,Value=0",
                "Key=routing.http2.enabled,Value=yes",
                "Key=no.such.attribute,Value=1"):
        wharf.aws_error(
            "ValidationError",
            "elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", lb,
            "--attributes", bad, cli=cli,
        )
    wharf.aws_error(
        "OperationNotPermitted",
        "elbv2", "delete-load-balancer", "--load-balancer-arn", lb, cli=cli,
    )

    tg_attrs = {
        a["Key"]: a["Value"]
        for a in wharf.aws(
            "elbv2", "describe-target-group-attributes", "--target-group-arn", tg, cli=cli
        ).json["Attributes"]
    }
    assert tg_attrs["deregistration_delay.timeout_seconds"] == "300"
    assert tg_attrs["load_balancing.algorithm.type"] == "round_robin"
    assert tg_attrs["slow_start.duration_seconds"] == "0"
    assert tg_attrs["stickiness.enabled"] == "false"
    assert tg_attrs["stickiness.type"] == "lb_cookie"
    changed = {
        a["Key"]: a["Value"]
        for a in wharf.aws(
            "elbv2", "modify-target-group-attributes", "--target-group-arn", tg,
            "--attributes",
            "Key=deregistration_delay.timeout_seconds,Value=30",
            "Key=load_balancing.algorithm.type,Value=least_outstanding_requests",
            "Key=slow_start.duration_seconds,Value=60",
            "Key=stickiness.enabled,Value=true",
            "Key=stickiness.lb_cookie.duration_seconds,Value=3600",
            cli=cli,
        ).json["Attributes"]
    }
    assert changed["deregistration_delay.timeout_seconds"] == "30"
    assert changed["load_balancing.algorithm.type"] == "least_outstanding_requests"
    for bad in ("Key=deregistration_delay.timeout_seconds,Value=3601",
                "Key=slow_start.duration_seconds,Value=10",
                "Key=load_balancing.algorithm.type,Value=random",
                "Key=stickiness.lb_cookie.duration_seconds,Value=0"):
        wharf.aws_error(
            "ValidationError",
            "elbv2", "modify-target-group-attributes", "--target-group-arn", tg,
            "--attributes", bad, cli=cli,
        )


def test_health_check_settings_and_validation(wharf):
    elbv2 = wharf.boto3_client("elbv2")
    vpc_id, subnets = default_network(wharf)

    def create(name="tg-hc", **kwargs):
        return elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=8000, VpcId=vpc_id, TargetType="ip", **kwargs
        )["TargetGroups"][0]

    tg = create(
        HealthCheckPath="/healthz", HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=3,
        HealthyThresholdCount=3, UnhealthyThresholdCount=4, HealthCheckPort="9000",
        Matcher={"HttpCode": "200-299,302"},
    )
    assert (tg["HealthCheckPort"], tg["Matcher"]["HttpCode"]) == ("9000", "200-299,302")
    modified = elbv2.modify_target_group(
        TargetGroupArn=tg["TargetGroupArn"], HealthCheckPath="/ready", Matcher={"HttpCode": "204"}
    )["TargetGroups"][0]
    assert modified["HealthCheckPath"] == "/ready"
    assert modified["HealthCheckIntervalSeconds"] == 10

    def refused(code, message=None, **kwargs):
        with pytest.raises(ClientError) as exc:
            create("tg-bad", **kwargs)
        assert error_code(exc) == code, kwargs
        if message:
            assert exc.value.response["Error"]["Message"] == message

    refused("ValidationError", "Health check interval must be greater than the timeout.",
            HealthCheckIntervalSeconds=5)
    refused("ValidationError", HealthCheckIntervalSeconds=301)
    refused("ValidationError", HealthCheckTimeoutSeconds=121)
    refused("ValidationError", HealthyThresholdCount=11)
    refused("ValidationError", Matcher={"HttpCode": "600"})
    refused("ValidationError", Matcher={"HttpCode": "299-200"})
    refused("ValidationError", HealthCheckPath="health")
    refused("ValidationError", HealthCheckPort="70000")
    refused("ValidationError", HealthCheckEnabled=False)
    with pytest.raises(ClientError) as exc:
        elbv2.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], HealthCheckTimeoutSeconds=10)
    assert error_code(exc) == "ValidationError"

    # Names.
    for name in ("-bad", "bad-", "bad_name", "x" * 33):
        with pytest.raises(ClientError) as exc:
            create(name)
        assert error_code(exc) == "ValidationError", name
    for name in ("internal-alb", "-bad", "x" * 33):
        with pytest.raises(ClientError) as exc:
            elbv2.create_load_balancer(Name=name, Subnets=subnets)
        assert error_code(exc) == "ValidationError", name
    # At least two availability zones; subnets that exist.
    with pytest.raises(ClientError) as exc:
        elbv2.create_load_balancer(Name="one-zone", Subnets=subnets[:1])
    assert error_code(exc) == "ValidationError"
    with pytest.raises(ClientError) as exc:
        elbv2.create_load_balancer(Name="no-subnet", Subnets=[subnets[0], "subnet-0123456789abcdef0"])
    assert error_code(exc) == "SubnetNotFound"
    with pytest.raises(ClientError) as exc:
        elbv2.create_load_balancer(Name="bad-sg", Subnets=subnets, SecurityGroups=["sg-0123456789abcdef0"])
    assert error_code(exc) == "InvalidSecurityGroup"
    with pytest.raises(ClientError) as exc:
        elbv2.create_target_group(Name="no-vpc", Protocol="HTTP", Port=80, VpcId="vpc-0123456789abcdef0")
    assert error_code(exc) == "ValidationError"
    internal = elbv2.create_load_balancer(Name="internal", Subnets=subnets, Scheme="internal")[
        "LoadBalancers"
    ][0]
    assert internal["DNSName"].startswith("internal-internal-")
    with pytest.raises(ClientError) as exc:
        elbv2.describe_load_balancer_attributes(LoadBalancerArn="not-an-arn")
    assert error_code(exc) == "ValidationError"


# ---------------------------------------------------------------------------------------
# Tags and pagination
# ---------------------------------------------------------------------------------------


def test_tags(wharf, cli):
    vpc_id, subnets = default_network(wharf)
    tg = create_target_group(wharf, vpc_id)
    lb = create_load_balancer(wharf, subnets)
    listener = wharf.aws(
        "elbv2", "create-listener", "--load-balancer-arn", lb, "--protocol", "HTTP",
        "--port", "80", "--default-actions", f"Type=forward,TargetGroupArn={tg}",
        "--query", "Listeners[0].ListenerArn", "--output", "text",
    ).stdout.strip()
    rule = wharf.aws(
        "elbv2", "create-rule", "--listener-arn", listener, "--priority", "1",
        "--conditions", "Field=path-pattern,Values=/api/*",
        "--actions", f"Type=forward,TargetGroupArn={tg}",
        "--query", "Rules[0].RuleArn", "--output", "text",
    ).stdout.strip()
    arns = [lb, tg, listener, rule]
    wharf.aws("elbv2", "add-tags", "--resource-arns", *arns,
              "--tags", "Key=app,Value=blog", "Key=env,Value=dev", cli=cli)
    wharf.aws("elbv2", "remove-tags", "--resource-arns", rule, "--tag-keys", "env", cli=cli)
    described = wharf.aws("elbv2", "describe-tags", "--resource-arns", *arns, cli=cli).json["TagDescriptions"]
    assert [d["ResourceArn"] for d in described] == arns
    tags = [{t["Key"]: t["Value"] for t in d["Tags"]} for d in described]
    assert tags == [{"app": "blog", "env": "dev"}] * 3 + [{"app": "blog"}]
    wharf.aws_error(
        "DuplicateTagKeys",
        "elbv2", "add-tags", "--resource-arns", lb, "--tags", "Key=a,Value=1", "Key=a,Value=2",
        cli=cli,
    )
    wharf.aws_error(
        "LoadBalancerNotFound",
        "elbv2", "describe-tags", "--resource-arns",
        ARN_PREFIX + "loadbalancer/app/nope/0123456789abcdef", cli=cli,
    )
    # Tags given at creation.
    tagged = wharf.aws(
        "elbv2", "create-target-group", "--name", "tg-tagged", "--protocol", "HTTP",
        "--port", "80", "--vpc-id", vpc_id, "--tags", "Key=team,Value=web",
        "--query", "TargetGroups[0].TargetGroupArn", "--output", "text", cli=cli,
    ).stdout.strip()
    assert wharf.aws("elbv2", "describe-tags", "--resource-arns", tagged, cli=cli).json[
        "TagDescriptions"
    ][0]["Tags"] == [{"Key": "team", "Value": "web"}]


def test_pagination(wharf):
    elbv2 = wharf.boto3_client("elbv2")
    vpc_id, _ = default_network(wharf)
    names = [f"tg-page-{i}" for i in range(5)]
    for name in names:
        elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id)
    first = elbv2.describe_target_groups(PageSize=2)
    assert [t["TargetGroupName"] for t in first["TargetGroups"]] == names[:2]
    second = elbv2.describe_target_groups(PageSize=2, Marker=first["NextMarker"])
    assert [t["TargetGroupName"] for t in second["TargetGroups"]] == names[2:4]
    paged = [
        t["TargetGroupName"]
        for page in elbv2.get_paginator("describe_target_groups").paginate(PaginationConfig={"PageSize": 2})
        for t in page["TargetGroups"]
    ]
    assert paged == names
    with pytest.raises(ClientError) as exc:
        elbv2.describe_target_groups(Marker="garbage")
    assert error_code(exc) == "ValidationError"
    # The CLI's --max-items pages with its own token over Marker / NextMarker.
    listed = wharf.aws("elbv2", "describe-target-groups", "--max-items", "3").json
    assert [t["TargetGroupName"] for t in listed["TargetGroups"]] == names[:3]
    rest = wharf.aws(
        "elbv2", "describe-target-groups", "--starting-token", listed["NextToken"],
    ).json
    assert [t["TargetGroupName"] for t in rest["TargetGroups"]] == names[3:]
