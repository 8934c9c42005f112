import OpenAI from "openai";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { closedPort, sendJson, sleep, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

const hi = [{ role: "user" as const, content: "hi" }];
const fastRetry = { attempts: 3, backoff_ms: 5, max_backoff_ms: 20 };
let good: FakeUpstream;
let broken: FakeUpstream;
let other: FakeUpstream;
let solo: FakeUpstream;
let gw: Gateway;

/** Runs `total` requests, `concurrency` at a time. */
async function runMany<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      results[i] = await one(i).then(
        (value) => ({ status: "fulfilled", value }) as const,
        (reason) => ({ status: "rejected", reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

const dead = async () => ({ url: `http://127.0.0.1:${await closedPort()}/v1` });

/** One provider per scenario (each has its own endpoint health), all in one gateway. */
beforeAll(async () => {
  good = await startFakeUpstream();
  other = await startFakeUpstream();
  solo = await startFakeUpstream();
  broken = await startFakeUpstream((_req, res) => sendJson(res, 500, { error: { message: "down for maintenance" } }));
  const provider = (id: string, endpoints: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    type: "openai-compatible",
    endpoints,
    retry: fastRetry,
    ...extra,
  });
  const providers = [
    provider("half", [await dead(), { url: good.url }], { retry: { ...fastRetry, failures_before_cooldown: 3, cooldown_ms: 200 } }),
    provider("down", [await dead(), await dead()], { timeouts: { connect_ms: 500, first_byte_ms: 1000, idle_ms: 1000, total_ms: 3000 } }),
    provider("cool", [{ url: broken.url }, { url: good.url }], { retry: { ...fastRetry, failures_before_cooldown: 2, cooldown_ms: 700 } }),
    provider("weighted", [
      { url: good.url, weight: 3 },
      { url: other.url, weight: 1 },
    ]),
    provider("solo", [{ url: solo.url }], { retry: { ...fastRetry, failures_before_cooldown: 2, cooldown_ms: 60_000 } }),
    provider("fo", [{ url: broken.url }, { url: good.url }], { retry: { ...fastRetry, failures_before_cooldown: 1000 } }),
  ];
  gw = await startGateway({ providers, models: Object.fromEntries(providers.map((p) => [p.id, { provider: p.id, upstream_model: "up-model" }])) });
});
afterAll(async () => {
  await gw.close();
  await Promise.all([good.close(), other.close(), broken.close(), solo.close()]);
});

describe("failover across endpoints", () => {
  it("serves 200 of 200 requests when one of two endpoints refuses connections", async () => {
    const results = await runMany(200, 8, async (i) => {
      if (i % 4 === 0) {
        const stream = await gw.client.chat.completions.create({ model: "half", messages: hi, stream: true });
        let text = "";
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
        return text;
      }
      const { data, response } = await gw.client.chat.completions.create({ model: "half", messages: hi }).withResponse();
      expect(response.headers.get("x-understudy-endpoint")).toBe("half#1");
      return data.choices[0].message.content;
    });
    const failures = results.filter((r) => r.status === "rejected");
    expect(failures).toEqual([]);
    expect(results.every((r) => r.status === "fulfilled" && r.value === "Hello world")).toBe(true);
  });

  it("answers a clean 502 without hanging when both endpoints are down", async () => {
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const err = await gw.client.chat.completions.create({ model: "down", messages: hi }).catch((e) => e);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err.status).toBe(502);
      expect(err.code).toBe("upstream_error");
      expect(err.error.message).toMatch(/^down: the connection to the upstream failed \(ECONNREFUSED\)$/);
    }
  });

  it("skips an endpoint that failed N times in a row for the cooldown, then tries it again", async () => {
    const before = broken.requests.length;
    for (let i = 0; i < 10; i++) {
      const { response } = await gw.client.chat.completions.create({ model: "cool", messages: hi }).withResponse();
      expect(response.headers.get("x-understudy-endpoint")).toBe("cool#1");
    }
    expect(broken.requests.length - before).toBe(2);
    await sleep(800);
    await gw.client.chat.completions.create({ model: "cool", messages: hi });
    await gw.client.chat.completions.create({ model: "cool", messages: hi });
    expect(broken.requests.length - before).toBe(3);
  });

  it("with a single endpoint cooling down, each request gets one quick try, and a success ends the cooldown", async () => {
    solo.route((_req, res) => sendJson(res, 500, { error: { message: "restarting" } }));
    const calls = () => solo.requests.length;
    const first = await gw.client.chat.completions.create({ model: "solo", messages: hi }).catch((e) => e);
    expect(first.status).toBe(502);
    expect(calls()).toBe(3);
    const second = await gw.client.chat.completions.create({ model: "solo", messages: hi }).catch((e) => e);
    expect(second.status).toBe(502);
    expect(calls()).toBe(4);
    solo.route(undefined);
    await gw.client.chat.completions.create({ model: "solo", messages: hi });
    expect(calls()).toBe(5);
    solo.route((_req, res) => sendJson(res, 500, { error: { message: "flap" } }));
    await gw.client.chat.completions.create({ model: "solo", messages: hi }).catch((e) => e);
    // Healthy again after the success: a full set of attempts, not a single probe.
    expect(calls()).toBe(8);
  });

  it("balances by weight, round robin within the weights", async () => {
    const served: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { response } = await gw.client.chat.completions.create({ model: "weighted", messages: hi }).withResponse();
      served.push(response.headers.get("x-understudy-endpoint") ?? "");
    }
    expect(served.filter((s) => s === "weighted#0")).toHaveLength(30);
    expect(served.filter((s) => s === "weighted#1")).toHaveLength(10);
    // Smooth: never more than three in a row on the heavy endpoint.
    expect(served.join(",")).not.toContain("weighted#0,weighted#0,weighted#0,weighted#0");
  });

  it("fails over a 500 from one endpoint to the other within the same request", async () => {
    const beforeBroken = broken.requests.length;
    for (let i = 0; i < 4; i++) {
      const out = await gw.client.chat.completions.create({ model: "fo", messages: hi });
      expect(out.choices[0].message.content).toBe("Hello world");
    }
    expect(broken.requests.length - beforeBroken).toBeGreaterThanOrEqual(2);
  });
});
