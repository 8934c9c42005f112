import OpenAI from "openai";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import {
  chatChunk,
  data,
  defaultRoute,
  sendJson,
  sleep,
  startFakeUpstream,
  startSse,
  untilClosed,
  writeFrames,
  type FakeUpstream,
} from "./helpers/upstream-server.js";

let upstream: FakeUpstream;
let gw: Gateway;

const retry = { attempts: 3, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [
      { id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }], retry, timeouts: { first_byte_ms: 5000, idle_ms: 5000, total_ms: 1500 } },
      { id: "drip", type: "openai-compatible", endpoints: [{ url: upstream.url }], retry, timeouts: { idle_ms: 5000, total_ms: 1200 } },
      { id: "slow", type: "openai-compatible", endpoints: [{ url: upstream.url }] },
    ],
    models: {
      m: { provider: "up", upstream_model: "up-model" },
      drip: { provider: "drip", upstream_model: "up-model" },
      slow: { provider: "slow", upstream_model: "up-model" },
    },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => upstream.route(undefined));

const hi = [{ role: "user" as const, content: "hi" }];
const chat = () => gw.client.chat.completions.create({ model: "m", messages: hi });
const countSince = (before: number) => upstream.requests.length - before;
const noUrl = (message: string) => expect(message).not.toMatch(/127\.0\.0\.1|localhost|http:/);

describe("upstream HTTP errors as the client sees them", () => {
  it("passes a 400 through with the upstream's message, param and code, without retrying", async () => {
    upstream.route((_req, res) =>
      sendJson(res, 400, { error: { message: "max_tokens is too large", type: "invalid_request_error", param: "max_tokens", code: "bad_max" } }),
    );
    const before = upstream.requests.length;
    const err = await chat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.message).toBe("up: max_tokens is too large");
    expect(err.param).toBe("max_tokens");
    expect(err.code).toBe("bad_max");
    expect(err.headers.get("x-understudy-endpoint")).toBe("up#0");
    expect(countSince(before)).toBe(1);
  });

  it("passes a 404 through (e.g. an upstream_model the server does not have)", async () => {
    upstream.route((_req, res) => sendJson(res, 404, { object: "error", message: "The model `up-model` does not exist.", type: "NotFoundError", code: 404 }));
    const err = await chat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.error.message).toBe("up: The model `up-model` does not exist.");
  });

  it("turns an upstream 401 into 502 upstream_auth_error: the client's key is not the problem", async () => {
    upstream.route((_req, res) => sendJson(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error" } }));
    const err = await chat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_auth_error");
    expect(err.message).toContain("up:");
    noUrl(err.message);
  });

  it("retries a 500 and answers 502 naming the provider once every attempt failed", async () => {
    upstream.route((_req, res) => sendJson(res, 500, { error: { message: "boom" } }));
    const before = upstream.requests.length;
    const err = await chat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_error");
    expect(err.error.message).toBe("up: the upstream failed (HTTP 500: boom)");
    noUrl(err.message);
    expect(countSince(before)).toBe(3);
  });

  it("recovers when a 500 is followed by a success", async () => {
    let calls = 0;
    upstream.route((req, res) => (++calls === 1 ? sendJson(res, 500, { error: { message: "transient" } }) : defaultRoute(req, res)));
    const out = await chat();
    expect(out.choices[0].message.content).toBe("Hello world");
  });

  it("honours Retry-After on a 429, then succeeds", async () => {
    const times: number[] = [];
    upstream.route(async (req, res) => {
      times.push(Date.now());
      if (times.length === 1) return sendJson(res, 429, { error: { message: "slow down" } }, { "retry-after": "1" });
      return defaultRoute(req, res);
    });
    const out = await chat();
    expect(out.choices[0].message.content).toBe("Hello world");
    expect(times).toHaveLength(2);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(900);
  });

  it("gives the 429 back with Retry-After when the upstream asks for a longer wait than configured", async () => {
    upstream.route((_req, res) => sendJson(res, 429, { error: { message: "quota exceeded" } }, { "retry-after": "120" }));
    const before = upstream.requests.length;
    const err = await chat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers.get("retry-after")).toBe("120");
    expect(err.message).toContain("up: rate limited by the upstream (quota exceeded)");
    expect(countSince(before)).toBe(1);
    // The endpoint stays held: the next request is answered without calling it.
    const again = await chat().catch((e) => e);
    expect(again).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThan(100);
    expect(countSince(before)).toBe(1);
  });
});

describe("timeouts and client disconnects", () => {
  it("enforces the total timeout on a stream that never idles", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      for (let i = 0; i < 100 && !res.destroyed; i++) {
        res.write(data(chatChunk("up-model", { content: "." })));
        await sleep(50);
      }
      res.end();
    });
    const stream = await gw.client.chat.completions.create({ model: "drip", messages: hi, stream: true });
    let error: any;
    let n = 0;
    try {
      for await (const _c of stream) n++;
    } catch (e) {
      error = e;
    }
    expect(n).toBeGreaterThan(5);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.code).toBe("upstream_timeout");
    expect(error.message).toContain("drip: the upstream exchange exceeded the total timeout (1200 ms)");
  });

  it("aborts the upstream request at once when the client disconnects (non-streaming)", async () => {
    upstream.route(async (req, res) => {
      await untilClosed(req, 5000);
      if (!res.destroyed) sendJson(res, 200, {});
    });
    const before = upstream.requests.length;
    const controller = new AbortController();
    const pending = gw.client.chat.completions.create({ model: "slow", messages: hi }, { signal: controller.signal }).catch((e) => e);
    while (upstream.requests.length === before) await sleep(10);
    const started = Date.now();
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    const seen = upstream.requests[upstream.requests.length - 1];
    await seen.settled;
    expect(seen.closedEarly).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("aborts the upstream stream at once when the client stops reading", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(
        res,
        Array.from({ length: 200 }, () => data(chatChunk("up-model", { content: "x" }))),
        25,
      );
    });
    const stream = await gw.client.chat.completions.create({ model: "slow", messages: hi, stream: true });
    let n = 0;
    for await (const _c of stream) if (++n === 2) break;
    const started = Date.now();
    const seen = upstream.requests[upstream.requests.length - 1];
    await seen.settled;
    expect(seen.closedEarly).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
