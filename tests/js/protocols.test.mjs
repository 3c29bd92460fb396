// Every protocol wharf serves, through the pinned AWS SDK for JavaScript v3: awsQuery (STS,
// IAM, Elastic Load Balancing v2), ec2 (EC2) and awsJson 1.1 (CloudWatch Logs; ECS and ECR
// have their own files). Errors are asserted as the SDK surfaces them: the exception class
// name the service model gives, the HTTP status and the message.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, DescribeLogGroupsCommand, FilterLogEventsCommand, GetLogEventsCommand, PutLogEventsCommand, ResourceAlreadyExistsException, ResourceNotFoundException } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { CreateTargetGroupCommand, DeleteTargetGroupCommand, DescribeTargetGroupsCommand, DuplicateTargetGroupNameException, ElasticLoadBalancingV2Client, TargetGroupNotFoundException } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreateRoleCommand, EntityAlreadyExistsException, GetRoleCommand, IAMClient, NoSuchEntityException } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

import { ACCOUNT_ID, rejection, startWharf, unique } from "./lib/wharf.mjs";

let wharf;

before(async () => {
    wharf = await startWharf();
});

after(async () => {
    await wharf?.stop();
});

describe("awsQuery: STS and IAM", () => {
    it("GetCallerIdentity names the root of wharf's account", async () => {
        const sts = new STSClient(wharf.clientConfig());
        const me = await sts.send(new GetCallerIdentityCommand({}));
        assert.equal(me.Account, ACCOUNT_ID);
        assert.equal(me.Arn, `arn:aws:iam::${ACCOUNT_ID}:root`);
        assert.equal(me.$metadata.httpStatusCode, 200);
        assert.ok(me.$metadata.requestId, "a request id");
    });

    it("CreateRole with the ECS trust policy, then GetRole; a second CreateRole is EntityAlreadyExists", async () => {
        const iam = new IAMClient(wharf.clientConfig());
        const name = unique("ecsTaskExecutionRole");
        const trust = {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
        };
        const created = await iam.send(
            new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust), Path: "/" }),
        );
        assert.equal(created.Role.RoleName, name);
        assert.equal(created.Role.Arn, `arn:aws:iam::${ACCOUNT_ID}:role/${name}`);
        assert.ok(created.Role.CreateDate instanceof Date, "CreateDate is parsed as a date");
        assert.match(created.Role.RoleId, /^AROA[A-Z0-9]+$/);

        const got = await iam.send(new GetRoleCommand({ RoleName: name }));
        // The document comes back URL-encoded, as from AWS.
        assert.deepEqual(JSON.parse(decodeURIComponent(got.Role.AssumeRolePolicyDocument)), trust);

        const again = await rejection(
            iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) })),
        );
        assert.ok(again instanceof EntityAlreadyExistsException, `${again.name}: ${again.message}`);
        assert.equal(again.$metadata.httpStatusCode, 409);

        const missing = await rejection(iam.send(new GetRoleCommand({ RoleName: unique("no-such-role") })));
        assert.ok(missing instanceof NoSuchEntityException, `${missing.name}: ${missing.message}`);
        assert.equal(missing.$metadata.httpStatusCode, 404);
    });
});

describe("ec2: the default VPC", () => {
    it("DescribeVpcs and DescribeSubnets show the default VPC and one default subnet per zone", async () => {
        const ec2 = new EC2Client(wharf.clientConfig());
        const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }));
        assert.equal(vpcs.Vpcs.length, 1, JSON.stringify(vpcs.Vpcs));
        const vpc = vpcs.Vpcs[0];
        assert.equal(vpc.IsDefault, true);
        assert.equal(vpc.State, "available");
        assert.equal(vpc.CidrBlock, "172.31.0.0/16");
        assert.equal(vpc.OwnerId, ACCOUNT_ID);

        const subnets = await ec2.send(
            new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpc.VpcId] }] }),
        );
        assert.ok(subnets.Subnets.length >= 2, JSON.stringify(subnets.Subnets));
        const zones = new Set();
        for (const subnet of subnets.Subnets) {
            assert.equal(subnet.VpcId, vpc.VpcId);
            assert.equal(subnet.DefaultForAz, true);
            assert.match(subnet.SubnetId, /^subnet-[0-9a-f]+$/);
            assert.match(subnet.AvailabilityZone, /^us-east-1[a-z]$/);
            assert.equal(typeof subnet.AvailableIpAddressCount, "number");
            zones.add(subnet.AvailabilityZone);
        }
        assert.equal(zones.size, subnets.Subnets.length, "one default subnet per zone");
    });

    it("an unknown VPC id is the ec2 protocol's InvalidVpcID.NotFound", async () => {
        const ec2 = new EC2Client(wharf.clientConfig());
        const err = await rejection(ec2.send(new DescribeVpcsCommand({ VpcIds: ["vpc-0123456789abcdef0"] })));
        assert.equal(err.name, "InvalidVpcID.NotFound", `${err.name}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.match(err.message, /vpc-0123456789abcdef0/);
    });
});

describe("awsJson 1.1: CloudWatch Logs", () => {
    it("create group and stream, put events, get them back, filter them", async () => {
        const logs = new CloudWatchLogsClient(wharf.clientConfig());
        const group = `/ecs/${unique("js-sdk")}`;
        const stream = "ecs/app/0123456789abcdef";
        await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
        const dup = await rejection(logs.send(new CreateLogGroupCommand({ logGroupName: group })));
        assert.ok(dup instanceof ResourceAlreadyExistsException, `${dup.name}: ${dup.message}`);

        const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
        assert.deepEqual(
            groups.logGroups.map((g) => g.logGroupName),
            [group],
        );
        assert.equal(groups.logGroups[0].arn, `arn:aws:logs:us-east-1:${ACCOUNT_ID}:log-group:${group}:*`);

        await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
        const now = Date.now();
        const messages = ["starting v2", "GET /health 200", "ERROR upstream timed out", "GET / 200"];
        const put = await logs.send(
            new PutLogEventsCommand({
                logGroupName: group,
                logStreamName: stream,
                logEvents: messages.map((message, i) => ({ timestamp: now + i, message })),
            }),
        );
        assert.equal(put.rejectedLogEventsInfo, undefined);

        const got = await logs.send(
            new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true }),
        );
        assert.deepEqual(
            got.events.map((e) => e.message),
            messages,
        );
        assert.deepEqual(
            got.events.map((e) => e.timestamp),
            messages.map((_, i) => now + i),
        );
        assert.ok(got.nextForwardToken?.startsWith("f/"), got.nextForwardToken);

        const errors = await logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: "ERROR" }));
        assert.deepEqual(
            errors.events.map((e) => [e.logStreamName, e.message]),
            [[stream, "ERROR upstream timed out"]],
        );
        const health = await logs.send(
            new FilterLogEventsCommand({ logGroupName: group, filterPattern: '"GET /health"' }),
        );
        assert.deepEqual(
            health.events.map((e) => e.message),
            ["GET /health 200"],
        );

        const missing = await rejection(
            logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: "no-such-stream" })),
        );
        assert.ok(missing instanceof ResourceNotFoundException, `${missing.name}: ${missing.message}`);
        assert.equal(missing.$metadata.httpStatusCode, 400);
    });
});

describe("awsQuery: Elastic Load Balancing v2", () => {
    it("create and describe a target group; query error codes reach the SDK as its exceptions", async () => {
        const ec2 = new EC2Client(wharf.clientConfig());
        const elb = new ElasticLoadBalancingV2Client(wharf.clientConfig());
        const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] })))
            .Vpcs[0];
        const name = unique("js-tg");
        const created = await elb.send(
            new CreateTargetGroupCommand({
                Name: name,
                Protocol: "HTTP",
                Port: 80,
                VpcId: vpc.VpcId,
                TargetType: "ip",
                HealthCheckPath: "/health",
                HealthCheckIntervalSeconds: 10,
            }),
        );
        assert.equal(created.TargetGroups.length, 1);
        const tg = created.TargetGroups[0];
        assert.equal(tg.TargetGroupName, name);
        assert.match(tg.TargetGroupArn, new RegExp(`^arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT_ID}:targetgroup/${name}/[0-9a-f]{16}$`));
        assert.equal(tg.TargetType, "ip");
        assert.equal(tg.Port, 80);
        assert.equal(tg.HealthCheckPath, "/health");
        assert.equal(tg.HealthCheckIntervalSeconds, 10);
        assert.equal(tg.HealthCheckEnabled, true);
        assert.deepEqual(tg.Matcher, { HttpCode: "200" });

        const byName = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
        assert.deepEqual(
            byName.TargetGroups.map((t) => t.TargetGroupArn),
            [tg.TargetGroupArn],
        );

        // Same name, different settings: DuplicateTargetGroupName.
        const dup = await rejection(
            elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 8080, VpcId: vpc.VpcId, TargetType: "ip" })),
        );
        assert.ok(dup instanceof DuplicateTargetGroupNameException, `${dup.name}: ${dup.message}`);
        assert.equal(dup.$metadata.httpStatusCode, 400);

        const missingName = await rejection(elb.send(new DescribeTargetGroupsCommand({ Names: [unique("nope")] })));
        assert.ok(missingName instanceof TargetGroupNotFoundException, `${missingName.name}: ${missingName.message}`);
        assert.equal(missingName.$metadata.httpStatusCode, 400);

        await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
        const gone = await rejection(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn] })));
        assert.ok(gone instanceof TargetGroupNotFoundException, `${gone.name}: ${gone.message}`);

        // A validation error of the query protocol.
        const bad = await rejection(
            elb.send(new CreateTargetGroupCommand({ Name: "bad_name!", Protocol: "HTTP", Port: 80, VpcId: vpc.VpcId })),
        );
        assert.equal(bad.$metadata.httpStatusCode, 400, `${bad.name}: ${bad.message}`);
        assert.equal(bad.name, "ValidationError", `${bad.name}: ${bad.message}`);
    });
});
