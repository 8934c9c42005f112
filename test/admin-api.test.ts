/**
 * The admin page's server side (issue 16, .scratch/admin-contract.md): its files (public, listed
 * once, no traversal) and its JSON API (admin keys only): whoami, the overview (a llama-cpp demo
 * model, upstream URLs with their last error, config problems as they come and go on disk),
 * load/unload, traffic buckets and the recent-requests table (bodies only for debug_connections).
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import yaml from "js-yaml";
import OpenAI from "openai";
import { sha256Hex } from "../src/config/keys.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startTestServer, tempDir, writeConfigDir, type TestServer } from "./helpers/server.js";
import { sendJson, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";
import { waitFor } from "./helpers/wait-for.js";
import { Traffic } from "../src/http/admin/traffic.js";

const ADMIN = "us-admin-key-0123456789";
const USER = "us-user-key-0123456789";
const KEY_ENV = "UNDERSTUDY_TEST_ADMIN_UPSTREAM_KEY";
const SECRET = "sk-upstream-SECRET-9a8b7c";

let good: FakeUpstream;
let bad: FakeUpstream;
let server: TestServer;
let dir: string;
let adminDir: string;

const registration = (model: string, provider: string) =>
  yaml.dump({ registration: { model }, local_settings: { backend: "openai-compatible", provider, upstream_model: "m" } });

async function api(p: string, key: string | null = ADMIN, method = "GET"): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${server.url}/admin/api${p}`, { method, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

/** GET with the path sent exactly as written (fetch would resolve `..` segments). */
function rawGet(url: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + p, { method: "GET", path: p }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const openai = (key = USER) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 });
const chat = (model: string, content = "hi") => openai().chat.completions.create({ model, messages: [{ role: "user", content }], max_tokens: 4 });
const model = async (name: string) => (await api("/overview")).json.models.find((m: any) => m.name === name);

beforeAll(async () => {
  process.env[KEY_ENV] = SECRET;
  good = await startFakeUpstream();
  // A failing upstream that quotes our key back: the last error kept for the page must not show it.
  bad = await startFakeUpstream((req, res) => sendJson(res, 500, { error: { message: `exploded, you sent ${req.headers.authorization}` } }));
  dir = await demoConfigDir({ "demo.yaml": demoRegistration("demo") });
  writeConfigDir(
    {
      "providers.yaml": yaml.dump([
        {
          id: "pair",
          type: "openai-compatible",
          endpoints: [
            { url: good.url, api_key_env: KEY_ENV },
            { url: bad.url, api_key_env: KEY_ENV },
          ],
        },
        { id: "dbg", type: "openai-compatible", debug_connections: true, endpoints: [{ url: good.url }] },
      ]),
      "up-a.yaml": registration("up-a", "pair"),
      "loud.yaml": registration("loud", "dbg"),
      "keys.yaml": yaml.dump([
        { name: "ops", role: "admin", key_sha256: sha256Hex(ADMIN) },
        { name: "alice", role: "user", key_sha256: sha256Hex(USER) },
      ]),
    },
    dir,
  );
  adminDir = writeConfigDir(
    { "index.html": "<!doctype html><title>admin</title>", "assets/app.js": "console.log(1)", "assets/app.css": "body{}" },
    tempDir("admin-ui-"),
  );
  server = await startTestServer({ configDir: dir, watch: true, adminDir });
});
afterAll(async () => {
  await server.close();
  await server.config.current().retire();
  await good.close();
  await bad.close();
  delete process.env[KEY_ENV];
});

describe("who may use the admin API", () => {
  it("no key or a wrong one: 401 invalid_api_key; a user key: 403 admin_key_required; an admin key: 200", async () => {
    for (const key of [null, "us-wrong-key"]) {
      const r = await api("/overview", key);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe("invalid_api_key");
    }
    for (const p of ["/whoami", "/overview", "/traffic", "/requests"]) {
      const r = await api(p, USER);
      expect({ p, status: r.status }).toEqual({ p, status: 403 });
      expect(r.json).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param: null, code: "admin_key_required" } });
    }
    expect((await api("/models/demo/load", USER, "POST")).status).toBe(403);
    const who = await api("/whoami");
    expect(who.status).toBe(200);
    expect(who.json).toEqual({ key: "ops", role: "admin", open: false });
    expect(who.headers.get("cache-control")).toBe("no-store");
    // x-api-key works as on the API.
    const viaHeader = await fetch(`${server.url}/admin/api/whoami`, { headers: { "x-api-key": ADMIN } });
    expect(viaHeader.status).toBe(200);
  });

  it("an unknown admin API path is a 404 for an admin, and still needs the key", async () => {
    expect((await api("/nope")).status).toBe(404);
    expect((await api("/nope", null)).status).toBe(401);
  });
});

describe("overview", () => {
  it("shows the config and the demo llama-cpp model with its sequences", async () => {
    const r = await api("/overview");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ version: "test", uptime_s: expect.any(Number) });
    expect(r.json.config).toMatchObject({ status: "ok", revision: expect.any(String), problems: [] });
    expect(Date.parse(r.json.config.loaded_at)).not.toBeNaN();
    const demo = r.json.models.find((m: any) => m.name === "demo");
    expect(demo).toMatchObject({
      backend: "llama-cpp",
      provider: null,
      capabilities: expect.arrayContaining(["chat", "embeddings"]),
      can_load: true,
      queue_depth: 0,
      busy_sequences: 0,
      sequences: 1,
      upstreams: [],
    });
    expect(demo.endpoints).toContain("createChatCompletion");
    expect(["ready", "unloaded", "loading"]).toContain(demo.status);
  });

  it("shows an upstream's URLs, and the failing one's last error (key redacted) and failures", async () => {
    for (let i = 0; i < 3; i++) expect((await chat("up-a")).choices[0].finish_reason).toBe("stop");
    const up = await model("up-a");
    expect(up).toMatchObject({ backend: "openai-compatible", provider: "pair", loaded: null, can_load: false, queue_depth: null, status: "ready" });
    expect(up.upstreams).toHaveLength(2);
    const [ok, failing] = up.upstreams;
    expect(ok).toMatchObject({ label: "pair#0", url: good.url, healthy: true, failures: 0, last_error: null, last_error_at: null, cooling_until: null });
    expect(failing).toMatchObject({ label: "pair#1", url: bad.url });
    expect(failing.failures).toBeGreaterThan(0);
    expect(failing.last_error).toContain("exploded");
    expect(failing.last_error).not.toContain(SECRET);
    expect(Date.parse(failing.last_error_at)).not.toBeNaN();
  });
});

describe("load and unload", () => {
  it("flips loaded for a llama-cpp model", async () => {
    const loaded = await api("/models/demo/load", ADMIN, "POST");
    expect(loaded).toMatchObject({ status: 200, json: { name: "demo", loaded: true } });
    expect(await model("demo")).toMatchObject({ loaded: true, status: "ready" });
    const unloaded = await api("/models/demo/unload", ADMIN, "POST");
    expect(unloaded).toMatchObject({ status: 200, json: { name: "demo", loaded: false } });
    expect(await model("demo")).toMatchObject({ loaded: false, status: "unloaded" });
    // A request loads it again, as after an idle unload.
    expect((await chat("demo")).choices).toHaveLength(1);
    expect(await model("demo")).toMatchObject({ loaded: true });
  });

  it("a model generating refuses to unload (409 model_busy) and stays loaded", async () => {
    // Long enough to be generating still when the unload comes (no early end of sequence), then left.
    const body = {
      model: "demo",
      messages: [{ role: "user" as const, content: "hi" }],
      stream: true as const,
      max_tokens: 1500,
      "x-localai-extensions": { ignore_eos: true },
    };
    const stream = await openai().chat.completions.create(body);
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    const busy = await api("/models/demo/unload", ADMIN, "POST");
    expect(busy.status).toBe(409);
    expect(busy.json.error.code).toBe("model_busy");
    expect(await model("demo")).toMatchObject({ loaded: true, busy_sequences: 1 });
    stream.controller.abort();
    const idle = await waitFor(async () => ((await model("demo")).busy_sequences === 0 ? true : undefined), 5000);
    expect(idle).toBe(true);
    expect(await model("demo")).toMatchObject({ loaded: true });
  });

  it("unknown model: 404 model_not_found; a model that loads nothing: 400 not_loadable", async () => {
    const unknown = await api("/models/nope/load", ADMIN, "POST");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe("model_not_found");
    const upstream = await api("/models/up-a/unload", ADMIN, "POST");
    expect(upstream.status).toBe(400);
    expect(upstream.json.error.code).toBe("not_loadable");
  });

  it("hostile names: long, encoded, malformed or odd give a clean 4xx with a short message", async () => {
    const long = await api(`/models/${"x".repeat(8000)}/load`, ADMIN, "POST");
    expect(long.status).toBe(404);
    expect(long.json.error.message.length).toBeLessThan(300);
    for (const name of ["..%2F..%2Fpackage.json", "%00", "__proto__", "constructor", "%F0%9F%92%A9", "a%2Fb", "%20"]) {
      const r = await api(`/models/${name}/load`, ADMIN, "POST");
      expect({ name, status: r.status }).toEqual({ name, status: 404 });
    }
    const malformed = await api("/models/%E0%A4%A/load", ADMIN, "POST");
    expect(malformed.status).toBe(400);
    // Over node's header limit: refused by node itself, not a 500.
    const huge = await fetch(`${server.url}/admin/api/models/${"y".repeat(20_000)}/load`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    // GET is no load.
    expect((await api("/models/demo/load")).status).toBe(404);
  });
});

describe("traffic and recent requests", () => {
  it("count the requests sent, by model, with statuses, keys and latencies", async () => {
    const before = Date.now();
    for (let i = 0; i < 4; i++) await chat("up-a");
    const missing = await chat("no-such-model").catch((e) => e);
    expect(missing.status).toBe(404);
    // The page's refused calls (its login's first whoami) are its own too: not counted.
    expect((await api("/whoami", null)).status).toBe(401);
    const counted = await waitFor(async () => {
      const t = (await api("/traffic")).json;
      const n = t.samples
        .filter((s: any) => s.t >= Math.floor(before / 1000) * 1000)
        .reduce((sum: number, s: any) => sum + (s.models["up-a"]?.requests ?? 0), 0);
      return n >= 4 ? t : undefined;
    }, 5000);
    expect(counted).toBeDefined();
    expect(counted.interval_ms).toBe(1000);
    expect(counted.samples.length).toBeLessThanOrEqual(300);
    const busy = counted.samples.find((s: any) => s.models["up-a"]);
    expect(busy.models["up-a"]).toEqual({
      requests: expect.any(Number),
      rps: expect.any(Number),
      p50_ms: expect.any(Number),
      p99_ms: expect.any(Number),
      ttft_p50_ms: null,
      tokens_per_s: expect.any(Number),
    });
    expect(busy.models["up-a"].p99_ms).toBeGreaterThanOrEqual(busy.models["up-a"].p50_ms);
    expect(busy.models["up-a"].tokens_per_s).toBeGreaterThan(0);
    // Seconds without traffic are there too, oldest first.
    const times = counted.samples.map((s: any) => s.t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const rows = (await api("/requests")).json.requests;
    expect(rows.length).toBeLessThanOrEqual(200);
    expect(rows[0]).toMatchObject({ model: "no-such-model", status: 404, key: "alice" });
    expect(rows[1]).toMatchObject({
      model: "up-a",
      status: 200,
      key: "alice",
      backend: "openai-compatible",
      operation: "createChatCompletion",
      tokens_in: 3,
      tokens_out: 2,
    });
    expect(rows[1].body).toBeUndefined();
    expect(Date.parse(rows[1].time)).toBeGreaterThanOrEqual(before - 1000);
    // The admin page's own requests are not in its table.
    expect(rows.some((r: any) => r.key === "ops")).toBe(false);
    expect(rows.some((r: any) => r.status === 401)).toBe(false);
  });

  it("streams have a time to first token; a debug_connections provider's requests show their body", async () => {
    const stream = await openai().chat.completions.create({ model: "loud", messages: [{ role: "user", content: "probe-body-5521" }], stream: true });
    for await (const _c of stream);
    await chat("up-a", "probe-quiet-5522");
    const rows = await waitFor(async () => {
      const r = (await api("/requests")).json.requests;
      return r[0]?.model === "up-a" ? r : undefined;
    }, 3000);
    const [quiet, loud] = rows!;
    expect(quiet.body).toBeUndefined();
    expect(loud).toMatchObject({ model: "loud", status: 200, ttft_ms: expect.any(Number) });
    expect(JSON.parse(loud.body).messages[0].content).toBe("probe-body-5521");
  });

  it("a fresh server shows the body of its very first request to a debug_connections provider", async () => {
    const configDir = writeConfigDir({
      "providers.yaml": yaml.dump([{ id: "dbg", type: "openai-compatible", debug_connections: true, endpoints: [{ url: good.url }] }]),
      "loud.yaml": registration("loud", "dbg"),
    });
    const fresh = await startTestServer({ configDir, adminDir });
    try {
      await fresh.client.chat.completions.create({ model: "loud", messages: [{ role: "user", content: "probe-first-7731" }] });
      const rows = await waitFor(async () => {
        const r = (await (await fetch(`${fresh.url}/admin/api/requests`)).json()).requests;
        return r.length > 0 ? r : undefined;
      }, 3000);
      expect(rows![0].body).toContain("probe-first-7731");
    } finally {
      await fresh.close();
      await fresh.config.current().retire();
    }
  });

  it("keeps at most 200 requests, newest first", async () => {
    await Promise.all(Array.from({ length: 210 }, () => fetch(`${server.url}/health`)));
    const rows = (await api("/requests")).json.requests;
    expect(rows).toHaveLength(200);
  });
});

describe("config problems", () => {
  it("a broken YAML file appears with its file and line, and goes when fixed", async () => {
    const file = path.join(dir, "broken.yaml");
    fs.writeFileSync(file, "registration:\n  model: broken\n  aliases: [a, b\nlocal_settings: {}\n");
    const seen = await waitFor(async () => {
      const c = (await api("/overview")).json.config;
      return c.problems.length > 0 ? c : undefined;
    }, 10_000);
    expect(seen).toMatchObject({ status: "error" });
    expect(seen.problems[0]).toMatchObject({ file: "broken.yaml", line: expect.any(Number), message: expect.any(String) });
    expect(Date.parse(seen.last_reload_at)).not.toBeNaN();
    // Still serving the last good config.
    expect((await api("/overview")).json.models.map((m: any) => m.name)).toContain("demo");
    fs.unlinkSync(file);
    const fixed = await waitFor(async () => {
      const c = (await api("/overview")).json.config;
      return c.problems.length === 0 ? c : undefined;
    }, 10_000);
    expect(fixed).toMatchObject({ status: "ok", problems: [] });
  });
});

describe("the page's files", () => {
  it("serves index.html at /admin and /admin/ and the assets without a key, with their types", async () => {
    for (const p of ["/admin", "/admin/"]) {
      const r = await fetch(`${server.url}${p}`);
      expect({ p, status: r.status }).toEqual({ p, status: 200 });
      expect(r.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await r.text()).toContain("<title>admin</title>");
    }
    const js = await fetch(`${server.url}/admin/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    const css = await fetch(`${server.url}/admin/assets/app.css`);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
  });

  it("an unknown asset is a 404; traversal reaches nothing", async () => {
    expect((await fetch(`${server.url}/admin/assets/nope.js`)).status).toBe(404);
    for (const p of [
      "/admin/assets/../index.html",
      "/admin/assets/../../package.json",
      "/admin/assets/..%2F..%2Fpackage.json",
      "/admin/assets/%2e%2e/%2e%2e/package.json",
      "/admin/assets/../api/overview",
      "/admin/assets/../../v1/models",
      "/admin/assets/",
    ]) {
      const r = await rawGet(server.url, p);
      expect({ p, status: r.status }).toEqual({ p, status: 404 });
      expect(r.body).not.toContain('"name": "understudy"');
    }
  });

  it("a listed file removed since start (a rebuild under way) is a 404, not a 500", async () => {
    fs.unlinkSync(path.join(adminDir, "assets", "app.css"));
    expect((await fetch(`${server.url}/admin/assets/app.css`)).status).toBe(404);
  });

  it("a server without a built page answers 503, and an open server's admin API is open", async () => {
    const open = await startTestServer({ configDir: writeConfigDir({}), adminDir: path.join(tempDir(), "missing") });
    try {
      const page = await fetch(`${open.url}/admin`);
      expect(page.status).toBe(503);
      expect(page.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await page.text()).toBe("the admin page is not built (npm run build)");
      const who = await fetch(`${open.url}/admin/api/whoami`);
      expect(await who.json()).toEqual({ key: null, role: null, open: true });
    } finally {
      await open.close();
    }
  });
});

describe("traffic buckets", () => {
  const T0 = 1_700_000_000_000;
  it("p50 and p99 within the histogram's 10%, ttft only for streams, tokens per second summed", () => {
    const t = new Traffic(T0);
    for (let i = 1; i <= 100; i++) t.record(T0 + 10, "m", i, -1, 2);
    t.record(T0 + 20, "m", 5, 40, -1);
    const [first] = t.read(T0 + 1500).samples;
    const m = first.models.m;
    expect(m.requests).toBe(101);
    expect(m.p50_ms).toBeGreaterThan(50 * 0.9);
    expect(m.p50_ms).toBeLessThan(50 * 1.1);
    expect(m.p99_ms).toBeGreaterThan(99 * 0.9);
    expect(m.p99_ms).toBeLessThan(99 * 1.1);
    expect(m.ttft_p50_ms).toBeGreaterThan(40 * 0.9);
    expect(m.ttft_p50_ms).toBeLessThan(40 * 1.1);
    expect(m.tokens_per_s).toBe(200);
  });

  it("keeps 300 seconds, empty ones included, and a reused bucket forgets its old second", () => {
    const t = new Traffic(T0);
    t.record(T0, "old", 1, -1, -1);
    t.record(T0 + 300_000, "new", 1, -1, -1);
    const read = t.read(T0 + 301_000);
    expect(read.samples).toHaveLength(300);
    expect(read.samples[0].t).toBe(T0 + 1000);
    expect(read.samples.at(-1)).toEqual({ t: T0 + 300_000, models: { new: expect.any(Object) } });
    expect(read.samples.some((s) => "old" in s.models)).toBe(false);
    expect(read.samples[5].models).toEqual({});
  });

  it("a model named __proto__ is a label like any other", () => {
    const t = new Traffic(T0);
    t.record(T0, "__proto__", 3, -1, -1);
    expect(JSON.parse(JSON.stringify(t.read(T0 + 1000).samples[0].models))).toHaveProperty(["__proto__", "requests"], 1);
  });
});
