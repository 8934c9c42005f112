/**
 * GET /metrics (issue 15, Observability): request counts and latency histograms by surface, model and
 * status; time to first token and tokens by model and key; upstream errors, retries and cooldowns by
 * endpoint URL; config reloads by outcome; process metrics. Counts go up by exactly what was sent.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import OpenAI from "openai";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { closedPort, sendJson, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { sha256Hex } from "../src/config/keys.js";

const hi = [{ role: "user" as const, content: "hi" }];
const fastRetry = { attempts: 3, backoff_ms: 5, max_backoff_ms: 20 };

let good: FakeUpstream;
let broken: FakeUpstream;
let deadUrl: string;
let server: TestServer;
let dir: string;

/** The value of one sample (`name{labels}`) in the exposition text; 0 when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    const brace = line.indexOf("{");
    const labelText = brace === name.length ? line.slice(brace + 1, line.lastIndexOf("}")) : "";
    const have = new Map([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.every(([k, v]) => have.get(k) === v) && (wanted.length > 0 || brace !== name.length)) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

async function scrape(headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${server.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  return res.text();
}

beforeAll(async () => {
  good = await startFakeUpstream();
  broken = await startFakeUpstream((_req, res) => sendJson(res, 500, { error: { message: "down" } }));
  deadUrl = `http://127.0.0.1:${await closedPort()}/v1`;
  dir = gatewayConfigDir({
    providers: [
      { id: "p", type: "openai-compatible", endpoints: [{ url: good.url }] },
      // Never used first by rotation alone: the broken one is first and is retried on the good one.
      { id: "fo", type: "openai-compatible", endpoints: [{ url: broken.url }, { url: good.url }], retry: { ...fastRetry, failures_before_cooldown: 1000 } },
      {
        id: "cool",
        type: "openai-compatible",
        endpoints: [{ url: deadUrl }],
        retry: { ...fastRetry, attempts: 1, failures_before_cooldown: 1, cooldown_ms: 60_000 },
      },
    ],
    models: { p: { provider: "p", upstream_model: "m" }, fo: { provider: "fo", upstream_model: "m" }, cool: { provider: "cool", upstream_model: "m" } },
  });
  server = await startTestServer({ configDir: dir });
});
afterAll(async () => {
  await server.close();
  server.config.current().retire();
  await Promise.all([good.close(), broken.close()]);
});

describe("GET /metrics", () => {
  it("counts each request once, with its latency, by surface, model and status, and the tokens its usage reported", async () => {
    const labels = { surface: "openai", model: "p", status: "200" };
    const before = await scrape();
    for (let i = 0; i < 5; i++) await server.client.chat.completions.create({ model: "p", messages: hi });
    const after = await scrape();
    expect(sample(after, "understudy_requests_total", labels) - sample(before, "understudy_requests_total", labels)).toBe(5);
    expect(sample(after, "understudy_request_duration_seconds_count", labels) - sample(before, "understudy_request_duration_seconds_count", labels)).toBe(5);
    expect(sample(after, "understudy_request_duration_seconds_sum", labels)).toBeGreaterThan(sample(before, "understudy_request_duration_seconds_sum", labels));
    // The fake upstream reports 3 prompt and 2 completion tokens per answer.
    const mk = { model: "p", key: "none" };
    expect(sample(after, "understudy_prompt_tokens_total", mk) - sample(before, "understudy_prompt_tokens_total", mk)).toBe(15);
    expect(sample(after, "understudy_generation_tokens_total", mk) - sample(before, "understudy_generation_tokens_total", mk)).toBe(10);
    // Process metrics (prom-client's defaults).
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it("observes a stream's time to first token and counts the tokens of its usage chunk", async () => {
    const mk = { model: "p", key: "none" };
    const before = await scrape();
    const stream = await server.client.chat.completions.create({ model: "p", messages: hi, stream: true, stream_options: { include_usage: true } });
    let chunks = 0;
    for await (const _ of stream) chunks++;
    expect(chunks).toBeGreaterThan(1);
    const after = await scrape();
    expect(sample(after, "understudy_time_to_first_token_seconds_count", mk) - sample(before, "understudy_time_to_first_token_seconds_count", mk)).toBe(1);
    expect(sample(after, "understudy_prompt_tokens_total", mk) - sample(before, "understudy_prompt_tokens_total", mk)).toBe(3);
    expect(sample(after, "understudy_generation_tokens_total", mk) - sample(before, "understudy_generation_tokens_total", mk)).toBe(2);
  });

  it("labels a model no registration names 'unknown', with its status", async () => {
    const labels = { surface: "openai", model: "unknown", status: "404" };
    const before = await scrape();
    const err = await server.client.chat.completions.create({ model: `no-such-model-${"x".repeat(50)}`, messages: hi }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const after = await scrape();
    expect(sample(after, "understudy_requests_total", labels) - sample(before, "understudy_requests_total", labels)).toBe(1);
    expect(after).not.toContain("no-such-model");
  });

  it("counts an upstream failure, the retry on the next endpoint, and a cooldown, by endpoint URL", async () => {
    const before = await scrape();
    const reply = await server.client.chat.completions.create({ model: "fo", messages: hi });
    expect(reply.choices[0].message.content).toBe("Hello world");
    const err = await server.client.chat.completions.create({ model: "cool", messages: hi }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const after = await scrape();
    const delta = (name: string, endpoint: string) => sample(after, name, { endpoint }) - sample(before, name, { endpoint });
    expect(delta("understudy_upstream_errors_total", broken.url)).toBe(1);
    expect(delta("understudy_upstream_retries_total", good.url)).toBe(1);
    expect(delta("understudy_upstream_errors_total", good.url)).toBe(0);
    expect(delta("understudy_upstream_errors_total", deadUrl)).toBe(1);
    expect(delta("understudy_upstream_cooldowns_total", deadUrl)).toBe(1);
  });

  it("counts config reloads by outcome", async () => {
    const before = await scrape();
    fs.writeFileSync(
      path.join(dir, "extra.yaml"),
      yaml.dump({ registration: { model: "extra" }, local_settings: { backend: "openai-compatible", provider: "p", upstream_model: "m" } }),
    );
    expect(await server.config.reload()).toBe(true);
    fs.writeFileSync(path.join(dir, "broken.yaml"), "registration: [unclosed");
    expect(await server.config.reload()).toBe(false);
    fs.rmSync(path.join(dir, "broken.yaml"));
    expect(await server.config.reload()).toBe(true);
    const after = await scrape();
    const delta = (outcome: string) =>
      sample(after, "understudy_config_reloads_total", { outcome }) - sample(before, "understudy_config_reloads_total", { outcome });
    expect(delta("applied")).toBe(1);
    expect(delta("rejected")).toBe(1);
    expect(delta("unchanged")).toBe(1);
  });

  it("needs an admin key once keys.yaml lists keys (unless UNDERSTUDY_METRICS_PUBLIC=1)", async () => {
    const admin = "us-admin-key-0123456789";
    const user = "us-user-key-0123456789";
    fs.writeFileSync(
      path.join(dir, "keys.yaml"),
      yaml.dump([
        { name: "ops", role: "admin", key_sha256: sha256Hex(admin) },
        { name: "dev", role: "user", key_sha256: sha256Hex(user) },
      ]),
    );
    try {
      const ok = await server.config.reload();
      expect(server.config.health().errors).toEqual([]);
      expect(ok).toBe(true);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const refused = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${user}` } });
      expect(refused.status).toBe(403);
      expect((await refused.json()).error.code).toBe("admin_required");
      // Tokens are counted by key name.
      const before = await scrape({ authorization: `Bearer ${admin}` });
      const dev = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user, maxRetries: 0 });
      await dev.chat.completions.create({ model: "p", messages: hi });
      const after = await scrape({ authorization: `Bearer ${admin}` });
      const mk = { model: "p", key: "dev" };
      expect(sample(after, "understudy_prompt_tokens_total", mk) - sample(before, "understudy_prompt_tokens_total", mk)).toBe(3);
    } finally {
      fs.rmSync(path.join(dir, "keys.yaml"));
      await server.config.reload();
    }
  });
});

it("with UNDERSTUDY_METRICS_PUBLIC=1, serves /metrics without a key while other paths still need one", async () => {
  const keyed = gatewayConfigDir({
    providers: [{ id: "p", type: "openai-compatible", endpoints: [{ url: good.url }] }],
    models: { p: { provider: "p", upstream_model: "m" } },
  });
  fs.writeFileSync(path.join(keyed, "keys.yaml"), yaml.dump([{ name: "dev", role: "user", key_sha256: sha256Hex("us-dev-key-0123456789") }]));
  process.env.UNDERSTUDY_METRICS_PUBLIC = "1";
  let open: TestServer;
  try {
    open = await startTestServer({ configDir: keyed });
  } finally {
    delete process.env.UNDERSTUDY_METRICS_PUBLIC;
  }
  try {
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${open.url}/metrics?x=1`)).status).toBe(200);
    expect((await fetch(`${open.url}/metricsx`)).status).toBe(401);
    expect((await fetch(`${open.url}/v1/models`)).status).toBe(401);
  } finally {
    await open.close();
  }
});
