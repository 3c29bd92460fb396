// Support code for the JavaScript SDK v3 tests: starts the real `wharf` binary
// ($WHARF_BIN, default target/debug/wharf) on a private data directory, the way
// tests/e2e/wharf_e2e.py's WharfServer does:
//
//   $WHARF_BIN server --port 0 --data-dir DIR
//
// binds 127.0.0.1 on a free port, writes DIR/endpoint (e.g. http://127.0.0.1:43123) when
// ready, creates DIR/credentials (a shared-credentials file, [default] profile) on first
// start, and stops gracefully on SIGTERM.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "..", "..", "..");
export const FIXTURES = path.join(REPO_ROOT, "tests", "e2e", "fixtures");
export const ACCOUNT_ID = "123456789012";
export const REGION = "us-east-1";

// Deadlines for a slow, shared 2-core machine.
const START_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const POLL_MS = 50;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keep the host's AWS configuration away from the SDK in this process. */
export function scrubAwsEnvironment() {
    for (const key of Object.keys(process.env)) {
        if (key.startsWith("AWS_")) delete process.env[key];
    }
    process.env.AWS_CONFIG_FILE = os.devNull;
    process.env.AWS_SHARED_CREDENTIALS_FILE = os.devNull;
    process.env.AWS_EC2_METADATA_DISABLED = "true";
}

export function wharfBinary() {
    const bin = process.env.WHARF_BIN || path.join(REPO_ROOT, "target", "debug", "wharf");
    try {
        fs.accessSync(bin, fs.constants.X_OK);
    } catch {
        throw new Error(
            `wharf binary ${bin} is not executable: run \`cargo build\` or set WHARF_BIN ` +
                "(scripts/test.sh does this for you)",
        );
    }
    return path.resolve(bin);
}

/** The [profile] of an INI file (the shared credentials file wharf writes). */
export function readIniProfile(file, profile = "default") {
    const values = {};
    let section = null;
    for (const raw of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith("#") || line.startsWith(";")) continue;
        const header = line.match(/^\[(.+)\]$/);
        if (header) {
            section = header[1].trim();
            continue;
        }
        const eq = line.indexOf("=");
        if (section === profile && eq > 0) values[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    return values;
}

function tail(file, maxBytes = 16 * 1024) {
    try {
        const data = fs.readFileSync(file, "utf8");
        return data.length > maxBytes ? "[... truncated ...]\n" + data.slice(-maxBytes) : data;
    } catch (err) {
        return `<cannot read ${file}: ${err.message}>`;
    }
}

function canConnect(host, port) {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (ok) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(1000, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

/** One `wharf server` on its own temporary data directory. */
export class WharfServer {
    constructor({ extraArgs = [] } = {}) {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-js-"));
        this.dataDir = path.join(this.root, "data");
        this.logPath = path.join(this.root, "wharf.log");
        fs.mkdirSync(this.dataDir);
        this.extraArgs = extraArgs.map(String);
        this.proc = null;
        this.exitCode = undefined;
    }

    get credentialsFile() {
        return path.join(this.dataDir, "credentials");
    }

    async start() {
        const argv = ["server", "--port", "0", "--data-dir", this.dataDir, ...this.extraArgs];
        // No AWS_* from the host, and no WHARF_* server settings other than the log filter.
        const env = {};
        for (const [k, v] of Object.entries(process.env)) {
            if (k.startsWith("AWS_")) continue;
            if (k.startsWith("WHARF_") && k !== "WHARF_LOG") continue;
            env[k] = v;
        }
        env.RUST_BACKTRACE ??= "1";
        const bin = wharfBinary();
        const log = fs.openSync(this.logPath, "a");
        fs.writeSync(log, `$ ${bin} ${argv.join(" ")}\n`);
        this.proc = spawn(bin, argv, {
            cwd: this.dataDir,
            env,
            stdio: ["ignore", log, log],
            detached: true, // its own process group, like start_new_session
        });
        fs.closeSync(log);
        this.exited = new Promise((resolve) => {
            this.proc.once("exit", (code, signal) => {
                this.exitCode = code ?? signal;
                resolve(this.exitCode);
            });
        });

        const deadline = Date.now() + START_DEADLINE_MS;
        const endpointFile = path.join(this.dataDir, "endpoint");
        while (Date.now() < deadline) {
            if (this.exitCode !== undefined) {
                throw new Error(
                    `wharf server exited with ${this.exitCode} before it was ready\n--- ${this.logPath} ---\n${tail(this.logPath)}`,
                );
            }
            if (fs.existsSync(endpointFile) && fs.existsSync(this.credentialsFile)) {
                const text = fs.readFileSync(endpointFile, "utf8").trim();
                if (text.startsWith("http://")) {
                    const url = new URL(text);
                    if (await canConnect(url.hostname, Number(url.port))) {
                        this.endpoint = text;
                        const creds = readIniProfile(this.credentialsFile);
                        this.credentials = {
                            accessKeyId: creds.aws_access_key_id,
                            secretAccessKey: creds.aws_secret_access_key,
                        };
                        return this;
                    }
                }
            }
            await sleep(POLL_MS);
        }
        await this.stop();
        throw new Error(`wharf server not ready within ${START_DEADLINE_MS} ms\n--- ${this.logPath} ---\n${tail(this.logPath)}`);
    }

    /** The `host:port` of the API (and registry) endpoint. */
    get host() {
        return new URL(this.endpoint).host;
    }

    /** What every SDK client in these tests is constructed with (endpoint set in code). */
    clientConfig(extra = {}) {
        return { endpoint: this.endpoint, region: REGION, credentials: this.credentials, ...extra };
    }

    logTail() {
        return tail(this.logPath);
    }

    /** SIGTERM, wait up to the grace period, then SIGKILL the process group; remove the data. */
    async stop({ keepFiles = false } = {}) {
        if (this.proc && this.exitCode === undefined) {
            this.proc.kill("SIGTERM");
            let timer;
            const timedOut = await Promise.race([
                this.exited.then(() => false),
                new Promise((resolve) => {
                    timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
                }),
            ]);
            clearTimeout(timer);
            if (timedOut) {
                try {
                    process.kill(-this.proc.pid, "SIGKILL");
                } catch {
                    // already gone
                }
                await this.exited;
            }
        }
        if (this.proc) {
            // Reap anything left in its process group.
            try {
                process.kill(-this.proc.pid, "SIGKILL");
            } catch {
                // nothing left
            }
        }
        if (!keepFiles) fs.rmSync(this.root, { recursive: true, force: true });
        return this.exitCode;
    }
}

/** Starts a server for a test file: `const wharf = await startWharf()`, `await wharf.stop()`. */
export async function startWharf(options) {
    scrubAwsEnvironment();
    const server = new WharfServer(options);
    return server.start();
}

/** Polls `probe` until it returns a truthy value, or throws after `timeoutMs`. */
export async function waitUntil(probe, { what, timeoutMs = 120_000, intervalMs = 250 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        last = await probe();
        if (last) return last;
        await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/** A fresh name, so tests sharing one server do not collide. */
export function unique(prefix) {
    return `${prefix}-${Math.random().toString(16).slice(2, 8)}`;
}

/** The error a rejected promise gives, for assertions on its name and metadata. */
export async function rejection(promise) {
    try {
        await promise;
    } catch (err) {
        return err;
    }
    throw new Error("expected the call to fail, it succeeded");
}
