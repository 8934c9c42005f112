/**
 * The openai-compatible backend's native Responses API (provider `responses: native`): the request
 * goes to the upstream's /responses with only `model` replaced, the answer comes back with the
 * client's model name, a stream as the upstream's named events in order; errors, failover and the
 * debug log as for chat. Without the setting the backend has no `responses` and /responses is never
 * called. Called directly (the backend) and through the server with the openai SDK (the surface).
 */
import { pino } from "pino";
import { backendModule } from "../src/backends/registry.js";
import type { BackendInstance, CallContext, Provider } from "../src/backends/types.js";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { ApiError } from "../src/core/errors.js";
import { createLogger } from "../src/core/logger.js";
import { jsonObjectOf } from "../src/core/serialized-json.js";
import type { SseFrame } from "../src/core/sse-frame.js";
import { schemaErrors } from "./helpers/response-validation.js";
import { responseEvents, responseObject, responsesRoute, sseOf, STREAMED_DELTAS } from "./helpers/responses-native-upstream.js";
import { writeConfigDir } from "./helpers/server.js";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { closedPort, sendJson, startFakeUpstream, startSse, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";

const KEY_ENV = "UNDERSTUDY_TEST_RESPONSES_NATIVE_KEY";
const KEY = "sk-responses-native-secret";
const log = createLogger("silent");
const fastRetry = { attempts: 3, backoff_ms: 5, max_backoff_ms: 20, failures_before_cooldown: 1000 };
let upstream: FakeUpstream;

const ctx = (over: Partial<CallContext> = {}): CallContext => ({
  requestedModel: "my-model",
  client: { aborted: false, signal: new AbortController().signal, onAbort: () => () => undefined },
  requestId: "req-1",
  log,
  setHeader: () => undefined,
  ...over,
});

function provider(id: string, urls: string[], extra: Record<string, unknown> = {}): Provider {
  return {
    id,
    display_name: id,
    type: "openai-compatible",
    api_version: "v1",
    debug_connections: false,
    endpoints: urls.map((url) => ({ url, api_key_env: KEY_ENV, weight: 1 })),
    retry: fastRetry,
    responses: "native",
    ...extra,
  };
}

const created: BackendInstance[] = [];
function backendFor(p: Provider, logger = log): BackendInstance {
  const backend = backendModule("openai-compatible").create({ settings: { provider: p.id, upstream_model: "upstream-model" }, provider: p, log: logger });
  created.push(backend);
  return backend;
}

beforeAll(async () => {
  process.env[KEY_ENV] = KEY;
  upstream = await startFakeUpstream(responsesRoute);
});
afterEach(() => upstream.route(responsesRoute));
afterAll(async () => {
  await Promise.all(created.map((b) => b.release?.()));
  await upstream.close();
  delete process.env[KEY_ENV];
});

const last = () => upstream.requests[upstream.requests.length - 1];
const request = {
  model: "my-model",
  input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }],
  instructions: "Be brief.",
  tools: [{ type: "web_search" }],
  reasoning: { effort: "low" },
  store: true,
};

async function collect(stream: AsyncIterable<SseFrame>): Promise<{ frames: { event?: string; data: Record<string, unknown> }[]; error?: unknown }> {
  const frames: { event?: string; data: Record<string, unknown> }[] = [];
  try {
    for await (const f of stream) frames.push({ event: f.event, data: jsonObjectOf(f.data) });
  } catch (error) {
    return { frames, error };
  }
  return { frames };
}

describe("openai-compatible backend: responses: native", () => {
  it("has `responses` only when the provider sets responses: native", () => {
    expect(typeof backendFor(provider("native", [upstream.url])).responses).toBe("function");
    expect(backendFor(provider("chat", [upstream.url], { responses: "chat" })).responses).toBeUndefined();
    expect(backendFor(provider("unset", [upstream.url], { responses: undefined })).responses).toBeUndefined();
  });

  it("sends the client's request to /responses with the upstream model, and answers with the client's model name", async () => {
    const answer = jsonObjectOf(await backendFor(provider("json", [upstream.url])).responses!(request, ctx()));
    expect(last().path).toBe("/v1/responses");
    expect(last().body).toEqual({ ...request, model: "upstream-model" });
    expect(last().headers.authorization).toBe(`Bearer ${KEY}`);
    expect(answer).toEqual({ ...responseObject("upstream-model", "Hello from upstream"), model: "my-model" });
    expect(schemaErrors("Response", answer)).toEqual([]);
  });

  it("relays a stream's named events in order, the Response objects carrying the client's model name", async () => {
    const stream = (await backendFor(provider("sse", [upstream.url])).responses!({ ...request, stream: true }, ctx())) as AsyncIterable<SseFrame>;
    const { frames, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(last().body.stream).toBe(true);
    const sent = responseEvents("upstream-model", STREAMED_DELTAS);
    expect(frames.map((f) => f.event)).toEqual(sent.map(([name]) => name));
    expect(frames.map((f) => f.data.sequence_number)).toEqual(sent.map((_e, i) => i));
    for (const f of frames) {
      expect(f.data.type).toBe(f.event);
      const response = f.data.response as Record<string, unknown> | undefined;
      if (response) expect(response.model).toBe("my-model");
    }
    expect(frames.filter((f) => f.event === "response.output_text.delta").map((f) => f.data.delta)).toEqual(STREAMED_DELTAS);
  });

  it("relays upstream 4xx with their status and type, and a 5xx as a 502 after the retries", async () => {
    const backend = backendFor(provider("errors", [upstream.url]));
    upstream.route((_req, res) =>
      sendJson(res, 404, { error: { message: "no such model", type: "invalid_request_error", param: "model", code: "model_not_found" } }),
    );
    const notFound = await backend.responses!(request, ctx()).catch((e) => e);
    expect(notFound).toBeInstanceOf(ApiError);
    expect(notFound).toMatchObject({ status: 404, type: "invalid_request_error", param: "model", code: "model_not_found", message: "errors: no such model" });
    const before = upstream.requests.length;
    upstream.route((_req, res) => sendJson(res, 500, { error: { message: "down" } }));
    const down = await backend.responses!({ ...request, stream: true }, ctx()).catch((e) => e);
    expect(down).toMatchObject({ status: 502 });
    expect(upstream.requests.length - before).toBe(fastRetry.attempts);
  });

  it("fails over to the next URL, and ends a stream with the upstream's error event as an ApiError", async () => {
    const backend = backendFor(provider("failover", [`http://127.0.0.1:${await closedPort()}/v1`, upstream.url]));
    const answer = jsonObjectOf(await backend.responses!(request, ctx()));
    expect(answer).toMatchObject({ object: "response", model: "my-model" });

    upstream.route(async (_req, res) => {
      startSse(res);
      const [created] = responseEvents("upstream-model", []);
      const failure = { type: "error", code: "server_error", message: "the model crashed", param: null, sequence_number: 1 };
      await writeFrames(res, [...sseOf([created]), `event: error\ndata: ${JSON.stringify(failure)}\n\n`]);
    });
    const { frames, error } = await collect((await backend.responses!({ ...request, stream: true }, ctx())) as AsyncIterable<SseFrame>);
    expect(frames.map((f) => f.event)).toEqual(["response.created"]);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 502, code: "server_error", message: "failover: the model crashed" });
  });

  it("refuses what it cannot relay: a non-Response answer, an event type that would forge SSE lines, a stream cut short", async () => {
    const backend = backendFor(provider("hostile", [upstream.url], { retry: { attempts: 1 } }));
    upstream.route((_req, res) => sendJson(res, 200, { id: "chatcmpl-1", object: "chat.completion", model: "x", choices: [] }));
    expect(await backend.responses!(request, ctx()).catch((e) => e)).toMatchObject({ status: 502, code: "upstream_protocol_error" });

    const forged = { type: "response.output_text.delta\ndata: {}", sequence_number: 0, delta: "x" };
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [`data: ${JSON.stringify(forged)}\n\n`]);
    });
    expect(await backend.responses!({ ...request, stream: true }, ctx()).catch((e) => e)).toMatchObject({ status: 502, code: "upstream_protocol_error" });

    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, sseOf(responseEvents("upstream-model", ["cut"]).slice(0, 4)));
    });
    const { frames, error } = await collect((await backend.responses!({ ...request, stream: true }, ctx())) as AsyncIterable<SseFrame>);
    expect(frames).toHaveLength(4);
    expect(error).toMatchObject({ status: 502, code: "upstream_stream_truncated" });
  });

  it("logs the exchange under debug_connections with the key redacted", async () => {
    const lines: string[] = [];
    const capture = pino({ level: "info", base: undefined }, { write: (line: string) => void lines.push(line) });
    const backend = backendFor(provider("debugged", [upstream.url], { debug_connections: true }), capture);
    await backend.responses!(request, ctx({ log: capture }));
    const text = lines.join("\n");
    expect(text).toContain(`${upstream.url}/responses`);
    expect(text).toContain('"authorization":"[REDACTED]"');
    expect(text).not.toContain(KEY);
  });
});

describe("the responses provider setting in providers.yaml", () => {
  const reg = (backend: string, providerId: string, upstreamModel = "  upstream_model: m\n") =>
    `registration:\n  model: m\nlocal_settings:\n  backend: ${backend}\n  provider: ${providerId}\n${upstreamModel}`;

  it("takes native or chat, and names the file and key for anything else", () => {
    const ok = (value: string) =>
      loadConfig(
        writeConfigDir({
          "providers.yaml": `- id: p\n  type: openai-compatible\n  responses: ${value}\n  endpoints: [{ url: "http://a/v1" }]\n`,
          "m.yaml": reg("openai-compatible", "p"),
        }),
      ).problems;
    expect(ok("native")).toEqual([]);
    expect(ok("chat")).toEqual([]);
    const bad = ok("yes").map(formatProblem);
    expect(bad).toContain('providers.yaml:3: [0].responses: must be one of: "native", "chat"');
  });

  it("refuses it on providers that have no Responses API to relay to", () => {
    const problems = loadConfig(
      writeConfigDir({
        "providers.yaml": `- id: hf\n  type: huggingface-tgi\n  responses: native\n  endpoints: [{ url: "http://tgi/v1" }]\n- id: claude\n  type: anthropic\n  responses: native\n`,
        "z.yaml": reg("huggingface-tgi", "hf", ""),
        "c.yaml": reg("anthropic", "claude").replace("model: m", "model: c"),
      }),
    ).problems.map(formatProblem);
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/provider 'hf' sets responses/), expect.stringMatching(/provider 'claude' sets responses/)]),
    );
  });
});

describe("/v1/responses through the server with a responses: native provider (openai SDK)", () => {
  let gw: Gateway;
  let plain: FakeUpstream;

  beforeAll(async () => {
    plain = await startFakeUpstream(responsesRoute);
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    const entry = (id: string, urls: string[], extra: Record<string, unknown> = { responses: "native" }) => ({
      id,
      type: "openai-compatible",
      endpoints: urls.map((url) => ({ url })),
      retry: fastRetry,
      ...extra,
    });
    gw = await startGateway({
      providers: [entry("native", [upstream.url]), entry("failover", [dead, upstream.url]), entry("plain", [plain.url], {})],
      models: {
        "my-model": { provider: "native", upstream_model: "upstream-model" },
        "fo-model": { provider: "failover", upstream_model: "upstream-model" },
        "chat-model": { provider: "plain", upstream_model: "upstream-model" },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await plain.close();
  });

  it("responses.create: the upstream gets the client's body with its model name, the client the upstream's output with its own", async () => {
    const response = await gw.client.responses.create({ model: "my-model", input: "hi there", instructions: "Be brief.", max_output_tokens: 50 });
    expect(last().path).toBe("/v1/responses");
    expect(last().body).toMatchObject({ model: "upstream-model", input: "hi there", instructions: "Be brief.", max_output_tokens: 50 });
    expect(response).toMatchObject({ id: "resp_upstream_1", object: "response", status: "completed", model: "my-model" });
    expect(response.output_text).toBe("Hello from upstream");
  });

  it("responses.stream: the upstream's events in order, the SDK assembling the final response", async () => {
    const stream = gw.client.responses.stream({ model: "my-model", input: "hi" });
    const events: { type: string; sequence_number: number }[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    const sent = responseEvents("upstream-model", STREAMED_DELTAS);
    expect(last().body).toMatchObject({ model: "upstream-model", input: "hi", stream: true });
    expect(events.map((e) => e.type)).toEqual(sent.map(([name]) => name));
    expect(events.map((e) => e.sequence_number)).toEqual(sent.map((_e, i) => i));
    expect(final).toMatchObject({ model: "my-model", status: "completed" });
    expect(final.output_text).toBe(STREAMED_DELTAS.join(""));
  });

  it("relays the upstream's 4xx with its status and message, a 5xx as a 502", async () => {
    upstream.route((_req, res) => sendJson(res, 400, { error: { message: "bad input item", type: "invalid_request_error", param: "input", code: null } }));
    const bad = await gw.client.responses.create({ model: "my-model", input: "hi" }).catch((e) => e);
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({ message: "native: bad input item", type: "invalid_request_error", param: "input" });
    upstream.route((_req, res) => sendJson(res, 503, { error: { message: "overloaded" } }));
    const down = await gw.client.responses.create({ model: "my-model", input: "hi" }).catch((e) => e);
    expect(down.status).toBe(502);
  });

  it("fails over to the provider's second URL", async () => {
    const response = await gw.client.responses.create({ model: "fo-model", input: "hi" });
    expect(response).toMatchObject({ object: "response", model: "fo-model" });
    expect(last().path).toBe("/v1/responses");
  });

  it("never calls the upstream's /responses for a provider without responses: native", async () => {
    await gw.client.responses.create({ model: "chat-model", input: "hi" }).catch(() => undefined);
    await gw.client.responses
      .create({ model: "chat-model", input: "hi", stream: true })
      .then(async (s) => {
        for await (const _e of s);
      })
      .catch(() => undefined);
    expect(plain.requests.filter((r) => r.path.endsWith("/responses"))).toEqual([]);
  });
});
