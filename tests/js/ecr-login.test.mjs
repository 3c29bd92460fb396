// The login flow of the official Amazon ECR login action (amazon-ecr-login), which is built
// on this SDK: GetAuthorizationToken, base64-decode the token to `AWS:<password>`, take the
// registry from `proxyEndpoint`, then `docker login` to it. Here the `docker login` is the
// request Docker makes: a Basic-auth GET of /v2/ on that host.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";

import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand, RepositoryNotFoundException } from "@aws-sdk/client-ecr";

import { ACCOUNT_ID, rejection, startWharf } from "./lib/wharf.mjs";

let wharf;

before(async () => {
    wharf = await startWharf();
});

after(async () => {
    await wharf?.stop();
});

/** GET `url` with optional headers: { status, headers, body }. */
function get(url, headers = {}) {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers, agent: false }, (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () =>
                resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
            );
        });
        req.on("error", reject);
        req.setTimeout(20_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    });
}

describe("amazon-ecr-login's flow", () => {
    it("GetAuthorizationToken gives AWS:<password> and the registry's http:// proxyEndpoint, which /v2/ accepts", async () => {
        const ecr = new ECRClient(wharf.clientConfig());
        const out = await ecr.send(new GetAuthorizationTokenCommand({}));
        assert.equal(out.authorizationData.length, 1);
        const data = out.authorizationData[0];

        // What the action does with it.
        const decoded = Buffer.from(data.authorizationToken, "base64").toString("utf8");
        const [user, ...rest] = decoded.split(":");
        const password = rest.join(":");
        assert.equal(user, "AWS");
        assert.ok(password.length > 0, "a password");
        assert.equal(data.proxyEndpoint, `http://${wharf.host}`);
        assert.ok(data.expiresAt instanceof Date, "expiresAt is a date");
        assert.ok(data.expiresAt.getTime() > Date.now() + 60 * 60 * 1000, `expires at ${data.expiresAt.toISOString()}`);
        // The action's `registry` output: proxyEndpoint without its scheme.
        const registry = data.proxyEndpoint.replace(/^https?:\/\//, "");
        assert.equal(registry, wharf.host);

        // `docker login` with those credentials: 200 with them, 401 and a challenge without.
        const authorization = `Basic ${Buffer.from(`AWS:${password}`).toString("base64")}`;
        const ok = await get(`${data.proxyEndpoint}/v2/`, { Authorization: authorization });
        assert.equal(ok.status, 200, ok.body);
        assert.equal(ok.headers["docker-distribution-api-version"], "registry/2.0");

        const anonymous = await get(`${data.proxyEndpoint}/v2/`);
        assert.equal(anonymous.status, 401, anonymous.body);
        assert.match(anonymous.headers["www-authenticate"] ?? "", /^Basic realm=/);

        const wrong = await get(`${data.proxyEndpoint}/v2/`, {
            Authorization: `Basic ${Buffer.from("AWS:not-the-password").toString("base64")}`,
        });
        assert.equal(wrong.status, 401, wrong.body);
    });

    it("a repository's URI is on the same registry host the token is for", async () => {
        const ecr = new ECRClient(wharf.clientConfig());
        const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: "ai-assistant" }));
        assert.equal(created.repository.repositoryUri, `${wharf.host}/ai-assistant`);
        assert.equal(created.repository.registryId, ACCOUNT_ID);
        const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
        assert.equal(created.repository.repositoryUri.split("/")[0], authorizationData[0].proxyEndpoint.replace("http://", ""));

        const missing = await rejection(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["no-such-repo"] })));
        assert.ok(missing instanceof RepositoryNotFoundException, `${missing.name}: ${missing.message}`);
        assert.equal(missing.$metadata.httpStatusCode, 400);
    });
});
