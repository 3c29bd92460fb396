// ECS through the pinned AWS SDK for JavaScript v3, as the official deploy action
// (amazon-ecs-deploy-task-definition) and a user's deploy script drive it: clusters, task
// definitions (seed 004's, tests/e2e/fixtures/ai-assistant-task-definition.json), a new
// revision with a changed image, services and their deployments, the SDK's paginators and
// waiters, a rollout stopped by the circuit breaker, and errors as the SDK's exceptions.
//
// One wharf and one cluster for the file. Tasks that must fail use an image the registry
// does not have: they stop before RUNNING (TaskFailedToStart) without needing a test image;
// with no Docker Engine they fail to start as well, so nothing here depends on Docker.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { DescribeSubnetsCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
    ClientException,
    ClusterNotFoundException,
    CreateClusterCommand,
    CreateServiceCommand,
    DeleteServiceCommand,
    DescribeClustersCommand,
    DescribeServicesCommand,
    DescribeTaskDefinitionCommand,
    DescribeTasksCommand,
    ECSClient,
    InvalidParameterException,
    ListTasksCommand,
    RegisterTaskDefinitionCommand,
    RunTaskCommand,
    ServiceNotFoundException,
    UpdateServiceCommand,
    paginateListTaskDefinitions,
    waitUntilServicesStable,
    waitUntilTasksRunning,
} from "@aws-sdk/client-ecs";

import { ACCOUNT_ID, FIXTURES, REGION, rejection, startWharf, unique, waitUntil } from "./lib/wharf.mjs";

const CLUSTER = "js-sdk";
const BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start.";
// Deadlines for a slow, shared 2-core machine.
const STOP_DEADLINE_MS = 180_000;
const ROLLOUT_DEADLINE_MS = 300_000;

let wharf;
let ecs;
let subnets;
const services = []; // deleted at the end
const seed004 = JSON.parse(fs.readFileSync(path.join(FIXTURES, "ai-assistant-task-definition.json"), "utf8"));

/** A Fargate task definition of one essential container. */
function taskDefinition(family, image, extra = {}) {
    return {
        family,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image, essential: true, portMappings: [{ containerPort: 8080 }] }],
        ...extra,
    };
}

function networkConfiguration() {
    return { awsvpcConfiguration: { subnets, assignPublicIp: "DISABLED" } };
}

/** An image reference on wharf's registry that was never pushed. */
function missingImage() {
    return `${wharf.host}/no-such-repository:${unique("tag")}`;
}

async function describeService(name) {
    const out = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }));
    assert.deepEqual(out.failures, [], JSON.stringify(out.failures));
    return out.services[0];
}

function primary(service) {
    const found = service.deployments.filter((d) => d.status === "PRIMARY");
    assert.equal(found.length, 1, JSON.stringify(service.deployments));
    return found[0];
}

before(async () => {
    wharf = await startWharf();
    ecs = new ECSClient(wharf.clientConfig());
    const ec2 = new EC2Client(wharf.clientConfig());
    const out = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "default-for-az", Values: ["true"] }] }));
    subnets = out.Subnets.map((s) => s.SubnetId).slice(0, 2);
    assert.ok(subnets.length >= 1, "default subnets");
});

after(async () => {
    if (!wharf) return;
    try {
        // Delete every service and wait for every task to stop: no container is left behind.
        for (const name of services) {
            await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: name, force: true })).catch(() => {});
        }
        await waitUntil(
            async () => {
                const running = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: "RUNNING" }));
                const stopped = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: "STOPPED" }));
                const arns = [...running.taskArns, ...stopped.taskArns];
                if (running.taskArns.length > 0) return false;
                if (arns.length === 0) return true;
                const tasks = [];
                for (let i = 0; i < arns.length; i += 100) {
                    const out = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns.slice(i, i + 100) }));
                    tasks.push(...out.tasks);
                }
                return tasks.every((t) => t.lastStatus === "STOPPED");
            },
            { what: "every task STOPPED", timeoutMs: STOP_DEADLINE_MS, intervalMs: 1000 },
        );
    } finally {
        await wharf.stop();
    }
});

describe("clusters and errors", () => {
    it("CreateCluster, DescribeClusters; a missing cluster is ClusterNotFoundException or a MISSING failure", async () => {
        const created = await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
        assert.equal(created.cluster.clusterArn, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:cluster/${CLUSTER}`);
        assert.equal(created.cluster.status, "ACTIVE");

        const described = await ecs.send(new DescribeClustersCommand({ clusters: [CLUSTER, "no-such-cluster"] }));
        assert.deepEqual(
            described.clusters.map((c) => c.clusterName),
            [CLUSTER],
        );
        assert.deepEqual(described.failures, [
            { arn: `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:cluster/no-such-cluster`, reason: "MISSING" },
        ]);

        const err = await rejection(ecs.send(new DescribeServicesCommand({ cluster: "no-such-cluster", services: ["x"] })));
        assert.ok(err instanceof ClusterNotFoundException, `${err.name}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(err.message, "Cluster not found.");

        const noService = await rejection(
            ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "no-such-service", desiredCount: 1 })),
        );
        assert.ok(noService instanceof ServiceNotFoundException, `${noService.name}: ${noService.message}`);

        const missingTd = await rejection(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "no-such-family:1" })));
        // AWS: "ClientException: Unable to describe task definition."
        assert.ok(missingTd instanceof ClientException, `${missingTd.name}: ${missingTd.message}`);
        assert.equal(missingTd.$metadata.httpStatusCode, 400);

        // An awsvpc task without a network configuration.
        const td = (await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(unique("nonet"), "busybox"))))
            .taskDefinition.taskDefinitionArn;
        const noNetwork = await rejection(
            ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE" })),
        );
        assert.ok(noNetwork instanceof InvalidParameterException, `${noNetwork.name}: ${noNetwork.message}`);
        assert.equal(
            noNetwork.message,
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        );
    });
});

describe("task definitions: seed 004's, then the deploy action's new revision", () => {
    it("registers the fixture, describes it, and registers a revision with a new image", async () => {
        const image1 = `${wharf.host}/ai-assistant:1111111`;
        const input = { ...seed004, containerDefinitions: seed004.containerDefinitions.map((c) => ({ ...c, image: image1 })) };
        const first = await ecs.send(new RegisterTaskDefinitionCommand(input));
        const td1 = first.taskDefinition;
        assert.equal(td1.family, "ai-assistant-task");
        assert.equal(td1.revision, 1);
        assert.equal(td1.status, "ACTIVE");
        assert.equal(td1.taskDefinitionArn, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/ai-assistant-task:1`);
        assert.equal(td1.containerDefinitions[0].image, image1);
        assert.deepEqual(td1.requiresCompatibilities, ["FARGATE"]);
        assert.deepEqual(td1.compatibilities.sort(), ["EC2", "FARGATE"]);
        assert.ok(td1.registeredAt instanceof Date);

        const described = await ecs.send(
            new DescribeTaskDefinitionCommand({ taskDefinition: "ai-assistant-task", include: ["TAGS"] }),
        );
        assert.equal(described.taskDefinition.taskDefinitionArn, td1.taskDefinitionArn);
        const c = described.taskDefinition.containerDefinitions[0];
        assert.equal(c.name, "ai-assistant-container");
        assert.deepEqual(c.portMappings, [{ containerPort: 80, hostPort: 80, protocol: "tcp" }]);
        assert.deepEqual(c.healthCheck, seed004.containerDefinitions[0].healthCheck);
        assert.deepEqual(c.logConfiguration, seed004.containerDefinitions[0].logConfiguration);
        assert.deepEqual(described.tags, []);

        // amazon-ecs-render-task-definition puts the new image in; the deploy action
        // registers the result (the described definition less its read-only members).
        const image2 = `${wharf.host}/ai-assistant:2222222`;
        const { taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt, registeredBy, ...rest } =
            described.taskDefinition;
        const second = await ecs.send(
            new RegisterTaskDefinitionCommand({
                ...rest,
                containerDefinitions: rest.containerDefinitions.map((d) => ({ ...d, image: image2 })),
            }),
        );
        const td2 = second.taskDefinition;
        assert.equal(td2.revision, 2);
        assert.equal(td2.containerDefinitions[0].image, image2);
        const strip = (td) => {
            const { taskDefinitionArn: _a, revision: _r, registeredAt: _t, containerDefinitions, ...more } = td;
            return { ...more, containerDefinitions: containerDefinitions.map(({ image: _i, ...d }) => d) };
        };
        assert.deepEqual(strip(td2), strip(td1), "only the image and the revision changed");
    });

    it("paginateListTaskDefinitions walks several pages of maxResults", async () => {
        const family = unique("paged");
        const arns = [];
        for (let i = 0; i < 7; i += 1) {
            const out = await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(family, `busybox:${i}`)));
            arns.push(out.taskDefinition.taskDefinitionArn);
        }
        const pages = [];
        for await (const page of paginateListTaskDefinitions({ client: ecs, pageSize: 2 }, { familyPrefix: family })) {
            pages.push(page.taskDefinitionArns);
        }
        assert.deepEqual(
            pages.map((p) => p.length),
            [2, 2, 2, 1],
        );
        assert.deepEqual(pages.flat(), arns);

        const newestFirst = [];
        for await (const page of paginateListTaskDefinitions({ client: ecs, pageSize: 3 }, { familyPrefix: family, sort: "DESC" })) {
            newestFirst.push(...page.taskDefinitionArns);
        }
        assert.deepEqual(newestFirst, [...arns].reverse());
    });
});

describe("services: deployments and the services-stable waiter", () => {
    it("CreateService with desiredCount 0 is stable; UpdateService with a new revision or forceNewDeployment starts a new PRIMARY deployment", async () => {
        const name = unique("ai-assistant-service");
        services.push(name);
        const family = unique("svc");
        const td1 = (await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(family, missingImage()))))
            .taskDefinition.taskDefinitionArn;
        const td2 = (await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(family, missingImage()))))
            .taskDefinition.taskDefinitionArn;

        const created = await ecs.send(
            new CreateServiceCommand({
                cluster: CLUSTER,
                serviceName: name,
                taskDefinition: td1,
                desiredCount: 0,
                launchType: "FARGATE",
                networkConfiguration: networkConfiguration(),
                deploymentConfiguration: {
                    deploymentCircuitBreaker: { enable: true, rollback: true },
                    maximumPercent: 200,
                    minimumHealthyPercent: 100,
                },
            }),
        );
        assert.equal(created.service.status, "ACTIVE");
        assert.equal(created.service.desiredCount, 0);
        assert.equal(created.service.serviceArn, `arn:aws:ecs:${REGION}:${ACCOUNT_ID}:service/${CLUSTER}/${name}`);
        const first = primary(created.service);
        assert.match(first.id, /^ecs-svc\/\d+$/);

        const stable = await waitUntilServicesStable(
            { client: ecs, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
            { cluster: CLUSTER, services: [name] },
        );
        assert.equal(stable.state, "SUCCESS", JSON.stringify(stable.reason));

        // The deploy action: a new revision, UpdateService without forceNewDeployment.
        const updated = await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: name, taskDefinition: td2 }));
        const second = primary(updated.service);
        assert.notEqual(second.id, first.id, "a new deployment id");
        assert.equal(second.taskDefinition, td2);
        assert.equal(updated.service.taskDefinition, td2);
        const old = updated.service.deployments.find((d) => d.id === first.id);
        assert.equal(old?.status, "ACTIVE", JSON.stringify(updated.service.deployments));
        assert.equal(old.taskDefinition, td1);

        const stable2 = await waitUntilServicesStable(
            { client: ecs, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
            { cluster: CLUSTER, services: [name] },
        );
        assert.equal(stable2.state, "SUCCESS", JSON.stringify(stable2.reason));
        const settled = await describeService(name);
        assert.deepEqual(
            settled.deployments.map((d) => [d.id, d.status, d.rolloutState]),
            [[second.id, "PRIMARY", "COMPLETED"]],
        );

        // --force-new-deployment with the same task definition: a new deployment as well.
        const forced = await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: name, forceNewDeployment: true }));
        const third = primary(forced.service);
        assert.ok(![first.id, second.id].includes(third.id), `a new deployment id, got ${third.id}`);
        assert.equal(third.taskDefinition, td2);
        assert.equal(third.rolloutState, "IN_PROGRESS");
        const previous = forced.service.deployments.find((d) => d.id === second.id);
        assert.equal(previous?.status, "ACTIVE", JSON.stringify(forced.service.deployments));

        const stable3 = await waitUntilServicesStable(
            { client: ecs, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
            { cluster: CLUSTER, services: [name] },
        );
        assert.equal(stable3.state, "SUCCESS", JSON.stringify(stable3.reason));
    });

    it("waitUntilServicesStable ends in FAILURE for a service that does not exist", async () => {
        const err = await rejection(
            waitUntilServicesStable(
                { client: ecs, maxWaitTime: 30, minDelay: 1, maxDelay: 2 },
                { cluster: CLUSTER, services: [unique("never-created")] },
            ),
        );
        assert.match(err.message, /"state":"FAILURE"/, err.message);
        assert.match(err.message, /MISSING/, err.message);
    });
});

describe("failures as a deploy sees them", () => {
    it("waitUntilTasksRunning reports FAILURE for a task that stops before it runs", async () => {
        const td = (await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(unique("nopull"), missingImage())))).taskDefinition
            .taskDefinitionArn;
        const run = await ecs.send(
            new RunTaskCommand({
                cluster: CLUSTER,
                taskDefinition: td,
                launchType: "FARGATE",
                networkConfiguration: networkConfiguration(),
            }),
        );
        assert.deepEqual(run.failures, []);
        const taskArn = run.tasks[0].taskArn;

        const started = Date.now();
        const err = await rejection(
            waitUntilTasksRunning(
                { client: ecs, maxWaitTime: 240, minDelay: 1, maxDelay: 3 },
                { cluster: CLUSTER, tasks: [taskArn] },
            ),
        );
        // A failure acceptor matched (lastStatus STOPPED), not the time limit.
        assert.match(err.message, /"state":"FAILURE"/, err.message);
        assert.ok(Date.now() - started < 240_000, "the waiter ended on the failure, not on maxWaitTime");

        const [task] = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks;
        assert.equal(task.lastStatus, "STOPPED");
        assert.equal(task.stopCode, "TaskFailedToStart", task.stoppedReason);
        assert.ok(task.stoppedReason, "a stopped reason");
        assert.equal(task.startedAt, undefined);
    });

    it("the circuit breaker stops a rollout whose tasks never start: rolloutState FAILED with its reason", async () => {
        const name = unique("broken-service");
        services.push(name);
        const td = (await ecs.send(new RegisterTaskDefinitionCommand(taskDefinition(unique("broken"), missingImage()))))
            .taskDefinition.taskDefinitionArn;
        const created = await ecs.send(
            new CreateServiceCommand({
                cluster: CLUSTER,
                serviceName: name,
                taskDefinition: td,
                desiredCount: 1,
                launchType: "FARGATE",
                networkConfiguration: networkConfiguration(),
                deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
            }),
        );
        const deployment = primary(created.service).id;

        const failed = await waitUntil(
            async () => {
                const svc = await describeService(name);
                return primary(svc).rolloutState === "FAILED" ? svc : null;
            },
            { what: `rolloutState FAILED on ${name}`, timeoutMs: ROLLOUT_DEADLINE_MS, intervalMs: 2000 },
        );
        const dep = primary(failed);
        assert.equal(dep.id, deployment);
        assert.equal(dep.rolloutStateReason, BREAKER_REASON);
        assert.ok(dep.failedTasks >= 3, `failedTasks ${dep.failedTasks}`);
        const messages = failed.events.map((e) => e.message);
        assert.ok(
            messages.includes(`(service ${name}) (deployment ${deployment}) deployment failed: tasks failed to start.`),
            messages.join("\n"),
        );
    });
});
