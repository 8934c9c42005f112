/**
 * The request log (issue 15, Observability): one pino line per request at its end with its id, key,
 * surface, operation, model, backend, status, latency, time to first byte, tokens and upstream; the
 * client's `x-request-id` accepted (bounded) and echoed; `x-understudy-overhead-ms` a number no larger
 * than the request's latency. At LOG_LEVEL=warn there is no line.
 */
import OpenAI from "openai";
import { pino } from "pino";
import { ConfigStore } from "../src/config/store.js";
import { startServer, type RunningServer } from "../src/http/server.js";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";
import { testServices } from "./helpers/server.js";

const hi = [{ role: "user" as const, content: "hi" }];
let upstream: FakeUpstream;

interface Logged {
  server: RunningServer;
  config: ConfigStore;
  lines: Record<string, any>[];
  client: OpenAI;
}

async function start(level: string): Promise<Logged> {
  const lines: Record<string, any>[] = [];
  const log = pino({ level, base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const dir = gatewayConfigDir({
    providers: [{ id: "p", type: "openai-compatible", endpoints: [{ url: upstream.url.replace("http://", "http://user:sekrit-in-url@") }] }],
    models: { up: { provider: "p", upstream_model: "m" } },
  });
  const config = ConfigStore.open(dir, log);
  const server = await startServer({ log, services: testServices(config), host: "127.0.0.1", port: 0 });
  return { server, config, lines, client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-x", maxRetries: 0 }) };
}

async function stop(l: Logged): Promise<void> {
  l.config.close();
  await l.server.close();
  l.config.current().retire();
}

/** The request line of `id`, once the response's end has been recorded (it follows the client's read by a turn or two). */
async function lineOf(l: Logged, id: string): Promise<Record<string, any> | undefined> {
  for (let i = 0; i < 100; i++) {
    const found = l.lines.find((x) => x.msg === "request" && x.request_id === id);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 5));
  }
  return undefined;
}

let info: Logged;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  info = await start("info");
});
afterAll(async () => {
  await stop(info);
  await upstream.close();
});

describe("the request log line", () => {
  it("has the request's id, surface, operation, model, backend, status, latency, tokens and upstream", async () => {
    const { data, response } = await info.client.chat.completions
      .create({ model: "up", messages: hi }, { headers: { "x-request-id": "client-id.1_A" } })
      .withResponse();
    expect(data.choices[0].message.content).toBe("Hello world");
    expect(response.headers.get("x-request-id")).toBe("client-id.1_A");
    const line = await lineOf(info, "client-id.1_A");
    expect(line).toMatchObject({
      level: 30,
      request_id: "client-id.1_A",
      surface: "openai",
      operation: "createChatCompletion",
      model: "up",
      backend: "openai-compatible",
      registration: "up",
      status: 200,
      tokens_in: 3,
      tokens_out: 2,
      upstream: "p#0",
    });
    expect(line!.key).toBeUndefined();
    expect(line!.latency_ms).toBeGreaterThan(0);
    expect(line!.overhead_ms).toBeLessThanOrEqual(line!.latency_ms);
    expect(line!.ttft_ms).toBeUndefined();
    // The URL as debug logging shows it: no userinfo (nor query values but the version's).
    expect(line!.upstream_url).toBe(upstream.url.replace("http://", "http://[REDACTED]@"));
    expect(JSON.stringify(info.lines)).not.toContain("sekrit-in-url");
  });

  it("gives a stream its time to first byte and the tokens of its usage chunk", async () => {
    const stream = await info.client.chat.completions.create(
      { model: "up", messages: hi, stream: true, stream_options: { include_usage: true } },
      { headers: { "x-request-id": "stream-1" } },
    );
    for await (const _ of stream);
    const line = await lineOf(info, "stream-1");
    expect(line).toMatchObject({ status: 200, tokens_in: 3, tokens_out: 2, surface: "openai" });
    expect(line!.ttft_ms).toBeGreaterThan(0);
    expect(line!.ttft_ms).toBeLessThanOrEqual(line!.latency_ms);
  });

  it("reads the tokens of Anthropic's Message and of its message_start / message_delta events", async () => {
    for (const stream of [false, true]) {
      const id = `anthropic-${stream}`;
      const res = await fetch(`${info.server.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": id, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "up", max_tokens: 16, messages: hi, stream }),
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(await lineOf(info, id)).toMatchObject({ surface: "anthropic", operation: "createAnthropicMessage", status: 200, tokens_in: 3, tokens_out: 2 });
    }
  });

  it("logs a request refused before any operation (404), with its status", async () => {
    const res = await fetch(`${info.server.url}/v1/nowhere`, { headers: { "x-request-id": "lost-1" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("lost-1");
    expect(await lineOf(info, "lost-1")).toMatchObject({ status: 404 });
  });

  it("replaces an x-request-id that is too long or has other characters with a new one", async () => {
    for (const bad of ["x".repeat(129), "has space", "semi;colon", "ünï"]) {
      const res = await fetch(`${info.server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": encodeURIComponent(bad) === bad ? bad : bad.replace(/[^ -~]/g, "?") },
        body: JSON.stringify({ model: "up", messages: hi }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    }
    const ok = await fetch(`${info.server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "y".repeat(128) },
      body: JSON.stringify({ model: "up", messages: hi }),
    });
    expect(ok.headers.get("x-request-id")).toBe("y".repeat(128));
  });

  it("sends x-understudy-overhead-ms, a number no larger than the request's latency", async () => {
    for (const stream of [false, true]) {
      const started = performance.now();
      const res = await fetch(`${info.server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "up", messages: hi, stream }),
      });
      await res.text();
      const total = performance.now() - started;
      expect(res.status).toBe(200);
      const overhead = Number(res.headers.get("x-understudy-overhead-ms"));
      expect(res.headers.get("x-understudy-overhead-ms")).toMatch(/^\d+(\.\d+)?$/);
      expect(overhead).toBeGreaterThanOrEqual(0);
      expect(overhead).toBeLessThanOrEqual(total);
      const line = await lineOf(info, res.headers.get("x-request-id")!);
      expect(line!.overhead_ms).toBe(overhead);
    }
  });
});

it("writes no request line at LOG_LEVEL=warn", async () => {
  const warn = await start("warn");
  try {
    await warn.client.chat.completions.create({ model: "up", messages: hi }, { headers: { "x-request-id": "quiet-1" } });
    await new Promise((r) => setTimeout(r, 50));
    expect(warn.lines.filter((x) => x.msg === "request")).toEqual([]);
  } finally {
    await stop(warn);
  }
});
