// Endpoint configuration the way the AWS SDK for JavaScript v3 reads it, with no `endpoint`
// (and no credentials or region) in code: a user's deploy script or GitHub Action pointed at
// wharf only through its environment or its shared config file.
//
//   AWS_ENDPOINT_URL                    every client
//   AWS_ENDPOINT_URL_<SERVICE_ID>       one client; the service id upper-cased, spaces -> _
//                                       (ECS, ECR, STS, CLOUDWATCH_LOGS, ELASTIC_LOAD_BALANCING_V2)
//   endpoint_url in a profile           of AWS_CONFIG_FILE
//   services = NAME + [services NAME]   per-service endpoint_url in the config file
//
// A dead endpoint (a port nothing listens on) stands for "the wrong place": the tests prove
// which setting wins by the call succeeding against wharf.

import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";

import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

import { ACCOUNT_ID, REGION, scrubAwsEnvironment, startWharf } from "./lib/wharf.mjs";

let wharf;
let dead; // an endpoint that refuses connections
let configCount = 0;

/** A port that was free a moment ago: nothing listens there. */
function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** A fresh shared config file (the SDK caches each file it read by path). */
function writeConfig(text) {
    configCount += 1;
    const file = path.join(wharf.root, `config-${configCount}`);
    fs.writeFileSync(file, text);
    return file;
}

/** The environment of a user whose credentials file is wharf's and whose region is set. */
function userEnvironment(extra) {
    scrubAwsEnvironment();
    process.env.AWS_SHARED_CREDENTIALS_FILE = wharf.credentialsFile;
    process.env.AWS_REGION = REGION;
    Object.assign(process.env, extra);
}

// Fail fast on the dead endpoint instead of retrying with back-off.
const noRetry = { maxAttempts: 1 };

before(async () => {
    wharf = await startWharf();
    dead = `http://127.0.0.1:${await freePort()}`;
});

afterEach(() => scrubAwsEnvironment());

after(async () => {
    await wharf?.stop();
});

describe("environment variables", () => {
    it("AWS_ENDPOINT_URL points every client at wharf", async () => {
        userEnvironment({ AWS_ENDPOINT_URL: wharf.endpoint });
        const me = await new STSClient({}).send(new GetCallerIdentityCommand({}));
        assert.equal(me.Account, ACCOUNT_ID);
        const clusters = await new ECSClient({}).send(new ListClustersCommand({}));
        assert.deepEqual(clusters.clusterArns, []);
        const tgs = await new ElasticLoadBalancingV2Client({}).send(new DescribeTargetGroupsCommand({}));
        assert.deepEqual(tgs.TargetGroups, []);
    });

    it("AWS_ENDPOINT_URL_ECS wins over AWS_ENDPOINT_URL for ECS only", async () => {
        userEnvironment({ AWS_ENDPOINT_URL: dead, AWS_ENDPOINT_URL_ECS: wharf.endpoint });
        const clusters = await new ECSClient(noRetry).send(new ListClustersCommand({}));
        assert.deepEqual(clusters.clusterArns, []);
        // STS has no variable of its own: it goes to AWS_ENDPOINT_URL, where nothing listens.
        const err = await new STSClient(noRetry).send(new GetCallerIdentityCommand({})).then(
            () => null,
            (e) => e,
        );
        assert.ok(err, "STS must have used AWS_ENDPOINT_URL (the dead endpoint)");
        assert.match(`${err.code} ${err.message}`, /ECONNREFUSED/);
    });

    it("a service id with spaces: AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", async () => {
        userEnvironment({ AWS_ENDPOINT_URL: dead, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: wharf.endpoint });
        const tgs = await new ElasticLoadBalancingV2Client(noRetry).send(new DescribeTargetGroupsCommand({}));
        assert.deepEqual(tgs.TargetGroups, []);
    });

    it("an endpoint in code still wins over the environment", async () => {
        userEnvironment({ AWS_ENDPOINT_URL: dead, AWS_ENDPOINT_URL_STS: dead });
        const me = await new STSClient({ endpoint: wharf.endpoint, ...noRetry }).send(new GetCallerIdentityCommand({}));
        assert.equal(me.Account, ACCOUNT_ID);
    });
});

describe("the shared config file (AWS_CONFIG_FILE)", () => {
    it("endpoint_url in the default profile", async () => {
        userEnvironment({
            AWS_CONFIG_FILE: writeConfig(`[default]\nregion = ${REGION}\nendpoint_url = ${wharf.endpoint}\n`),
        });
        delete process.env.AWS_REGION; // the region comes from the file too
        const me = await new STSClient({}).send(new GetCallerIdentityCommand({}));
        assert.equal(me.Account, ACCOUNT_ID);
        const clusters = await new ECSClient({}).send(new ListClustersCommand({}));
        assert.deepEqual(clusters.clusterArns, []);
    });

    it("endpoint_url in a named profile chosen with AWS_PROFILE", async () => {
        userEnvironment({
            AWS_CONFIG_FILE: writeConfig(
                `[default]\nendpoint_url = ${dead}\n\n[profile wharf]\nregion = ${REGION}\nendpoint_url = ${wharf.endpoint}\n`,
            ),
            AWS_PROFILE: "wharf",
        });
        // wharf's credentials file has only [default]: the user's has a [wharf] profile.
        process.env.AWS_SHARED_CREDENTIALS_FILE = writeConfig(
            `[wharf]\naws_access_key_id = ${wharf.credentials.accessKeyId}\n` +
                `aws_secret_access_key = ${wharf.credentials.secretAccessKey}\n`,
        );
        const me = await new STSClient(noRetry).send(new GetCallerIdentityCommand({}));
        assert.equal(me.Account, ACCOUNT_ID);
    });

    it("a services section: per-service endpoint_url wins over the profile's", async () => {
        userEnvironment({
            AWS_CONFIG_FILE: writeConfig(
                `[default]\nregion = ${REGION}\nendpoint_url = ${dead}\nservices = local\n\n` +
                    `[services local]\necs =\n  endpoint_url = ${wharf.endpoint}\n`,
            ),
        });
        const clusters = await new ECSClient(noRetry).send(new ListClustersCommand({}));
        assert.deepEqual(clusters.clusterArns, []);
        const err = await new STSClient(noRetry).send(new GetCallerIdentityCommand({})).then(
            () => null,
            (e) => e,
        );
        assert.ok(err, "STS must have used the profile's endpoint_url (the dead endpoint)");
    });

    it("the environment wins over the config file", async () => {
        userEnvironment({
            AWS_CONFIG_FILE: writeConfig(`[default]\nregion = ${REGION}\nendpoint_url = ${dead}\n`),
            AWS_ENDPOINT_URL: wharf.endpoint,
        });
        const me = await new STSClient(noRetry).send(new GetCallerIdentityCommand({}));
        assert.equal(me.Account, ACCOUNT_ID);
    });

    it("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores both", async () => {
        userEnvironment({
            AWS_CONFIG_FILE: writeConfig(`[default]\nregion = ${REGION}\nendpoint_url = ${wharf.endpoint}\n`),
            AWS_ENDPOINT_URL: wharf.endpoint,
            AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
        });
        const client = new STSClient(noRetry);
        // Nothing is sent: the request's host is read just before it would leave.
        assert.equal(await hostOfNextRequest(client, new GetCallerIdentityCommand({})), "sts.us-east-1.amazonaws.com");
    });
});

/** The host the client would send `command` to; stops the request before it is sent. */
async function hostOfNextRequest(client, command) {
    const marker = new Error("stopped before sending");
    client.middlewareStack.add(
        () => async (args) => {
            marker.hostname = args.request.hostname;
            throw marker;
        },
        { step: "finalizeRequest", name: "stopBeforeSending" },
    );
    const err = await client.send(command).then(
        () => null,
        (e) => e,
    );
    assert.equal(err, marker, `unexpected ${err}`);
    return marker.hostname;
}
