/**
 * The anthropic backend's native methods (BackendInstance.messages, countMessageTokens), called
 * directly: the Messages API passes through with only `model` replaced (cache_control, thinking,
 * unknown block types kept), answers carry the client's model name, a stream comes back as the
 * upstream's named events (each valid against AnthropicStreamEvent), errors as ApiErrors through
 * the same retry machinery. The /v1/messages surface tests them end to end.
 */
import { pino } from "pino";
import { backendModule } from "../src/backends/registry.js";
import type { BackendInstance, CallContext, Provider } from "../src/backends/types.js";
import { createLogger } from "../src/core/logger.js";
import { ApiError } from "../src/core/errors.js";
import { SerializedJson } from "../src/core/serialized-json.js";
import type { SseFrame } from "../src/core/sse-frame.js";
import { expectSchemaValid } from "./helpers/anthropic-gateway.js";
import { startFakeAnthropic, type FakeAnthropic } from "./helpers/anthropic-upstream.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_NATIVE";
const log = createLogger("silent");
let fake: FakeAnthropic;
let backend: BackendInstance;

const ctx = (): CallContext => ({
  requestedModel: "my-claude",
  client: { aborted: false, signal: new AbortController().signal, onAbort: () => () => undefined },
  requestId: "req-1",
  log,
  setHeader: () => undefined,
});

beforeAll(async () => {
  fake = await startFakeAnthropic();
  process.env[KEY_ENV] = fake.apiKey;
  const provider: Provider = {
    id: "claude",
    display_name: "claude",
    type: "anthropic",
    api_version: "v1",
    debug_connections: false,
    endpoints: [{ url: fake.url, api_key_env: KEY_ENV, weight: 1 }],
    retry: { attempts: 1 },
  };
  backend = backendModule("anthropic").create({ settings: { provider: "claude", upstream_model: "claude-upstream" }, provider, log });
});
afterAll(async () => {
  await backend.release?.();
  await fake.close();
  delete process.env[KEY_ENV];
});

const last = () => fake.requests[fake.requests.length - 1];
const plain = (v: unknown) => (v instanceof SerializedJson ? v.toObject() : (v as Record<string, unknown>));

const request = {
  model: "my-claude",
  max_tokens: 50,
  system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
  thinking: { type: "enabled", budget_tokens: 1024 },
  messages: [
    { role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] },
    { role: "assistant", content: [{ type: "future_block", payload: 1 }] },
    { role: "user", content: "again" },
  ],
};

describe("anthropic backend: native Messages API", () => {
  it("serves messages and countMessageTokens (and chat), nothing else", () => {
    expect(typeof backend.messages).toBe("function");
    expect(typeof backend.countMessageTokens).toBe("function");
    expect(typeof backend.chat).toBe("function");
    expect(backend.completion).toBeUndefined();
    expect(backend.embeddings).toBeUndefined();
  });

  it("passes the request through with only model replaced, and answers with the client's model name", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "text", text: "Hi" },
      ],
    });
    const answer = plain(await backend.messages!(request as never, ctx()));
    expect(last().body).toEqual({ ...request, model: "claude-upstream" });
    expect(last().headers["x-api-key"]).toBe(fake.apiKey);
    expect(last().headers["anthropic-version"]).toBe("2023-06-01");
    expect(answer).toMatchObject({ type: "message", model: "my-claude", content: [{ type: "thinking" }, { type: "text", text: "Hi" }] });
    expectSchemaValid("AnthropicMessage", answer);
  });

  it("streams the upstream's named events as SSE frames, message_start carrying the client's model name", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "text", text: "Hello" },
        { type: "tool_use", name: "f", input: { a: 1 } },
      ],
    });
    const stream = (await backend.messages!({ ...request, stream: true } as never, ctx())) as AsyncIterable<SseFrame>;
    const frames: SseFrame[] = [];
    for await (const f of stream) frames.push(f);
    const events = frames.map((f) => ({ name: f.event, data: plain(f.data) }));
    for (const e of events) {
      expect(e.name).toBe(e.data.type);
      expectSchemaValid("AnthropicStreamEvent", e.data);
    }
    expect(events[0].name).toBe("message_start");
    expect((events[0].data.message as Record<string, unknown>).model).toBe("my-claude");
    expect(events.map((e) => e.name)).toContain("ping");
    expect(events.slice(-2).map((e) => e.name)).toEqual(["message_delta", "message_stop"]);
    expect(last().body.stream).toBe(true);
  });

  it("ends a stream with the upstream's error event as an ApiError that keeps its type", async () => {
    fake.script({ kind: "error", type: "overloaded_error", message: "busy", inStream: true });
    const stream = (await backend.messages!({ ...request, stream: true } as never, ctx())) as AsyncIterable<SseFrame>;
    const names: (string | undefined)[] = [];
    const error = await (async () => {
      for await (const f of stream) names.push(f.event);
    })().catch((e) => e);
    expect(names[0]).toBe("message_start");
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ type: "overloaded_error", message: "claude: busy" });
  });

  it("ends a stream whose event type is not a name (a line break would forge SSE fields) with a 502", async () => {
    fake.script({
      kind: "raw",
      handle: (_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const start = {
          type: "message_start",
          message: {
            id: "msg_1",
            type: "message",
            role: "assistant",
            model: "m",
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 1, output_tokens: 0 },
          },
        };
        res.write(`event: message_start\ndata: ${JSON.stringify(start)}\n\n`);
        res.end(`event: ping\ndata: ${JSON.stringify({ type: "ping\nevent: forged" })}\n\n`);
      },
    });
    const stream = (await backend.messages!({ ...request, stream: true } as never, ctx())) as AsyncIterable<SseFrame>;
    const names: (string | undefined)[] = [];
    const error = await (async () => {
      for await (const f of stream) names.push(f.event);
    })().catch((e) => e);
    expect(names).toEqual(["message_start"]);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 502, code: "upstream_protocol_error" });
  });

  it("relays upstream HTTP errors with their status and Anthropic type", async () => {
    fake.script({ kind: "error", type: "not_found_error", message: "no such model" });
    const err = await Promise.resolve(backend.messages!(request as never, ctx())).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, type: "not_found_error", message: "claude: no such model" });
  });

  it("passes count_tokens through", async () => {
    fake.countTokens(() => 42);
    const { model: _m, max_tokens: _t, thinking: _th, ...countRequest } = request;
    const answer = plain(await backend.countMessageTokens!({ ...countRequest, model: "my-claude" } as never, ctx()));
    expect(answer).toEqual({ input_tokens: 42 });
    expect(last().path).toBe("/v1/messages/count_tokens");
    expect(last().body.model).toBe("claude-upstream");
    fake.countTokens(undefined);
  });
});

describe("anthropic backend: debug_connections", () => {
  it("logs the exchange with the x-api-key header and the key value redacted", async () => {
    const lines: string[] = [];
    const capture = pino({ level: "info", base: undefined }, { write: (line: string) => void lines.push(line) });
    const provider: Provider = {
      id: "debugged",
      display_name: "debugged",
      type: "anthropic",
      api_version: "v1",
      debug_connections: true,
      endpoints: [{ url: fake.url, api_key_env: KEY_ENV, weight: 1 }],
    };
    const debugged = backendModule("anthropic").create({ settings: { provider: "debugged", upstream_model: "claude-upstream" }, provider, log: capture });
    try {
      // The upstream quotes the key back: the log must not carry it either.
      fake.script({ kind: "message", content: [{ type: "text", text: `your key is ${fake.apiKey}` }] });
      await debugged.chat!({ model: "m", messages: [{ role: "user", content: "hi" }] } as never, { ...ctx(), log: capture });
    } finally {
      await debugged.release?.();
    }
    const text = lines.join("\n");
    expect(text).toContain("upstream request");
    expect(text).toContain('"x-api-key":"[REDACTED]"');
    expect(text).toContain('"anthropic-version":"2023-06-01"');
    expect(text).not.toContain(fake.apiKey);
  });
});
