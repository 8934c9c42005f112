/**
 * keys.yaml as a config file (problems with file and line, never plaintext), `understudy keys add`
 * (a child process: the key printed once works against a server on that directory, the file holds
 * only its hash), and the rule that a server without keys is open on loopback only.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { sha256Hex } from "../src/config/keys.js";
import { projectRoot } from "../src/core/paths.js";
import { isLoopbackHost } from "../src/http/auth.js";
import { freshDataDir, startTestServer, writeConfigDir } from "./helpers/server.js";

const cli = path.join(projectRoot(), "bin/understudy.js");
const reg = (model: string) => `registration:\n  model: ${model}\nlocal_settings:\n  backend: llama-cpp\n  model: m.gguf\n`;
const HASH = sha256Hex("us-test");

function dirWith(files: Record<string, string>): string {
  const dir = writeConfigDir({ "a.yaml": reg("a"), "b.yaml": reg("b"), ...files });
  fs.writeFileSync(path.join(dir, "m.gguf"), "GGUF");
  return dir;
}
const problemsOf = (dir: string) => loadConfig(dir).problems.map(formatProblem);
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 30_000 });

describe("keys.yaml as a config file", () => {
  it("loads its keys, and is no registration", () => {
    const loaded = loadConfig(dirWith({ "keys.yaml": `- name: k\n  key_sha256: ${HASH}\n  models: [a]\n  rpm: 10\n` }));
    expect(loaded.problems).toEqual([]);
    expect(loaded.registrations.map((r) => r.model).sort()).toEqual(["a", "b"]);
    expect(loaded.keys?.find("us-test")).toEqual({ name: "k", role: "user", models: ["a"], rpm: 10 });
    expect(loaded.keys?.find("us-other")).toBeUndefined();
  });

  it("an empty file or an empty list means no keys", () => {
    expect(loadConfig(dirWith({ "keys.yaml": "" })).keys).toBeUndefined();
    expect(loadConfig(dirWith({ "keys.yaml": "[]\n" })).keys).toBeUndefined();
  });

  it("names each problem with its file, line and field, and never echoes a plaintext key", () => {
    const text = [
      `- name: ok\n  key_sha256: ${HASH}`,
      `- name: plain\n  key: us-secret-plaintext\n  key_sha256: ${sha256Hex("x")}`,
      `- name: raw\n  key_sha256: us-secret-in-the-hash-field`,
    ].join("\n");
    const problems = problemsOf(dirWith({ "keys.yaml": `${text}\n` }));
    expect(problems).toEqual([
      "keys.yaml:4: [1].key: keys.yaml holds key_sha256 (the hex SHA-256 of the key), never the key itself: remove it and rotate the key",
      "keys.yaml:7: [2].key_sha256: must be the 64 hex digits of the key's SHA-256 (understudy keys add writes it), never the key itself",
    ]);
    expect(JSON.stringify(problems)).not.toContain("us-secret");
  });

  it("checks the schema: positive limits, known roles, known fields", () => {
    const text = `- name: zero\n  key_sha256: ${HASH}\n  rpm: 0\n  role: root\n  colour: red\n`;
    expect(problemsOf(dirWith({ "keys.yaml": text })).sort()).toEqual([
      "keys.yaml:3: [0].rpm: must be >= 1",
      'keys.yaml:4: [0].role: must be one of: "user", "admin"',
      "keys.yaml:5: [0].colour: unknown key 'colour'",
    ]);
  });

  it("a duplicate name and an unreadable expiry are problems at their own lines", () => {
    const text = `- name: ok\n  key_sha256: ${HASH}\n- name: ok\n  key_sha256: ${sha256Hex("2")}\n- name: when\n  key_sha256: ${sha256Hex("3")}\n  expires: next tuesday\n`;
    expect(problemsOf(dirWith({ "keys.yaml": text }))).toEqual([
      "keys.yaml:3: [1].name: duplicate key name 'ok'",
      "keys.yaml:7: [2].expires: must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z",
    ]);
  });
});

describe("understudy keys add", () => {
  it("prints a key once, keeps only its hash, refuses a duplicate name, and the key works against a server", async () => {
    const dir = dirWith({});
    const added = run("keys", "add", "alice", "--models", "a", "--rpm", "60", "--config", dir);
    expect(added.status).toBe(0);
    const key = added.stdout.trim();
    expect(key).toMatch(/^us-[A-Za-z0-9_-]{43}$/);
    const file = fs.readFileSync(path.join(dir, "keys.yaml"), "utf8");
    expect(file).not.toContain(key);
    expect(file).toContain(sha256Hex(key));
    expect((fs.statSync(path.join(dir, "keys.yaml")).mode & 0o077) === 0).toBe(true);

    const again = run("keys", "add", "alice", "--config", dir);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("already exists");
    expect(run("keys", "add", "bob", "--role", "admin", "--config", dir).status).toBe(0);
    expect(run("keys", "list", "--config", dir).stdout).toMatch(/^alice\tuser\tmodels=a\trpm=60\nbob\tadmin\tmodels=\(all\)\n$/);

    const server = await startTestServer({ configDir: dir });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(["a"]);
      const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "us-not-a-key", maxRetries: 0 });
      expect((await stranger.models.list().catch((e) => e)).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it("refuses values keys.yaml would refuse", () => {
    const dir = dirWith({});
    expect(run("keys", "add", "x", "--rpm", "0", "--config", dir).status).not.toBe(0);
    expect(run("keys", "add", "x", "--expires", "soon", "--config", dir).status).not.toBe(0);
    expect(run("keys", "add", "x", "--role", "root", "--config", dir).status).not.toBe(0);
    expect(fs.existsSync(path.join(dir, "keys.yaml"))).toBe(false);
  });
});

/** Starts `serve` and answers its exit code, or "listening" once it logs that it listens (then stops it). */
function serveOutcome(args: string[]): Promise<{ outcome: number | "listening"; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "serve", "--port", "0", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      // Its own data directory: the SQLite store of a server still draining must not be in the way.
      env: { ...process.env, LOG_LEVEL: "info", UNDERSTUDY_DATA: freshDataDir() },
    });
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve neither exited nor listened within 20 s: ${stderr}`));
    }, 20_000);
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("understudy listening")) {
        clearTimeout(timer);
        child.kill("SIGTERM");
        resolve({ outcome: "listening", stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ outcome: code ?? -1, stderr });
    });
  });
}

describe("open only on loopback", () => {
  it("knows the loopback hosts", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com"]) expect(isLoopbackHost(host)).toBe(false);
  });

  it("beyond loopback without keys, serve refuses to start and says why; --allow-unauthenticated starts it", async () => {
    const dir = dirWith({});
    const refused = await serveOutcome(["--host", "0.0.0.0", "--config", dir]);
    expect(refused.outcome).not.toBe(0);
    expect(refused.outcome).not.toBe("listening");
    expect(refused.stderr).toContain("--allow-unauthenticated");
    expect(refused.stderr).toContain("keys.yaml");
    expect((await serveOutcome(["--host", "0.0.0.0", "--config", dir, "--allow-unauthenticated"])).outcome).toBe("listening");
    const loopback = await serveOutcome(["--host", "127.0.0.1", "--config", dir]);
    expect({ outcome: loopback.outcome, stderr: loopback.outcome === "listening" ? "" : loopback.stderr }).toEqual({ outcome: "listening", stderr: "" });
  }, 60_000);

  it("beyond loopback with keys, serve starts", async () => {
    const dir = dirWith({ "keys.yaml": `- name: k\n  key_sha256: ${HASH}\n` });
    expect((await serveOutcome(["--host", "0.0.0.0", "--config", dir])).outcome).toBe("listening");
  }, 30_000);
});
