/**
 * Sourcegraph's completions API (issue 12) on an `anthropic` upstream: the request goes as a
 * Messages request (the system prompt in `system`, for each prompt version), so the upstream's own
 * stop reasons (end_turn, stop_sequence, max_tokens) reach the client; its errors, before the
 * stream and in it, come back in Sourcegraph's forms.
 */
import { ConfigStore } from "../src/config/store.js";
import { createLogger } from "../src/core/logger.js";
import { startServer, type RunningServer } from "../src/http/server.js";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { testServices } from "./helpers/server.js";
import { anthropicError, sseEvent, startFakeAnthropic, type FakeAnthropic } from "./helpers/anthropic-upstream.js";
import { sleep } from "./helpers/upstream-server.js";
import { CODE, expectCompletionStream, LEGACY_BODY, names, sgPost, STREAM, V1_BODY, V2_BODY } from "./helpers/sourcegraph.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_SOURCEGRAPH";
let fake: FakeAnthropic;
let server: RunningServer;
let config: ConfigStore;
const last = () => fake.requests[fake.requests.length - 1];
const post = (path: string, body: object) => sgPost(server.url, path, body);

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: "sk-ant-sourcegraph-0123456789" });
  process.env[KEY_ENV] = fake.apiKey;
  const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };
  const dir = gatewayConfigDir({
    providers: [{ id: "claude", type: "anthropic", endpoints: [{ url: fake.url, api_key_env: KEY_ENV }], retry }],
    models: { sonnet: { provider: "claude", upstream_model: "claude-sonnet-test", backend: "anthropic" as never } },
  });
  const log = createLogger(process.env.LOG_LEVEL ?? "silent");
  config = ConfigStore.open(dir, log);
  server = await startServer({ log, services: testServices(config), host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  config.close();
  await server.close();
  config.current().retire();
  await fake.close();
  delete process.env[KEY_ENV];
});

describe("the Messages request seen upstream", () => {
  it("legacy: one user turn, sampling in Anthropic's names", async () => {
    const res = await post(STREAM, { ...LEGACY_BODY, model: "sonnet", stream: false, topK: 5, topP: 0.5, stopSequences: ["\n\nHuman:"] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ completion: "Hello world", stopReason: "end_turn" });
    expect(last().body).toEqual({
      model: "claude-sonnet-test",
      max_tokens: 30,
      messages: [{ role: "user", content: "What is your name?" }],
      temperature: 0,
      top_p: 0.5,
      top_k: 5,
      stop_sequences: ["\n\nHuman:"],
    });
  });

  it.each([
    ["api-version=1", "?api-version=1", V1_BODY],
    ["api-version=2", "?api-version=2", V2_BODY],
  ])("%s: the system message is `system`", async (_name, query, body) => {
    expect((await post(`${CODE}${query}`, { ...body, model: "sonnet" })).status).toBe(200);
    expect(last().body).toMatchObject({ system: "You only answer using emoji.", messages: [{ role: "user", content: "What is your name?" }], stream: true });
  });

  it("legacy: Cody's preamble becomes `system`", async () => {
    const preamble = "You are Cody, an AI-powered coding assistant created by Sourcegraph.";
    const messages = [{ speaker: "human", text: preamble }, { speaker: "assistant", text: "Ok." }, ...LEGACY_BODY.messages];
    expect((await post(STREAM, { ...LEGACY_BODY, model: "sonnet", messages })).status).toBe(200);
    expect(last().body).toMatchObject({ system: `${preamble}\n\nOk.`, messages: [{ role: "user", content: "What is your name?" }] });
  });
});

describe("Anthropic's stop reasons come through", () => {
  it.each(["end_turn", "stop_sequence", "max_tokens"])("%s, streamed (v1: accumulated; v2: deltas) and not", async (stop_reason) => {
    const reply = {
      kind: "message" as const,
      content: [{ type: "text" as const, text: "Hello world" }],
      stop_reason,
      stop_sequence: stop_reason === "stop_sequence" ? "END" : null,
    };
    fake.script(reply, { ...reply, frameDelayMs: 5 }, { ...reply, frameDelayMs: 5 });
    expect((await post(STREAM, { ...LEGACY_BODY, model: "sonnet", stream: false })).json).toEqual({ completion: "Hello world", stopReason: stop_reason });
    const v1 = await post(`${STREAM}?api-version=1`, { ...V1_BODY, model: "sonnet" });
    expect(expectCompletionStream(v1.events!, 1)).toEqual({ text: "Hello world", stopReason: stop_reason });
    const v2 = await post(`${STREAM}?api-version=2`, { ...V2_BODY, model: "sonnet" });
    expect(expectCompletionStream(v2.events!, 2)).toEqual({ text: "Hello world", stopReason: stop_reason });
    expect(v2.events!.length).toBeGreaterThan(3);
  });
});

describe("errors", () => {
  it("an upstream error event after text is an `error` event naming the model, then done", async () => {
    fake.script({
      kind: "raw",
      handle: async (req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const message = {
          id: "msg_1",
          type: "message",
          role: "assistant",
          model: req.body.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 1, output_tokens: 1 },
        };
        res.write(sseEvent({ type: "message_start", message } as { type: string }));
        res.write(sseEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } as { type: string }));
        res.write(sseEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } } as { type: string }));
        await sleep(30);
        res.end(sseEvent(anthropicError("overloaded_error", "busy now")));
      },
    });
    const res = await post(STREAM, { ...LEGACY_BODY, model: "sonnet" });
    expect(res.status).toBe(200);
    expect(names(res.events!)).toEqual(["completion", "error", "done"]);
    expect(res.events![0].data).toEqual({ completion: "Hel" });
    expect(res.events![1].data.error).toMatch(/^sonnet: .*busy now/);
  });

  it("an upstream error before any text is a plain-text error with the upstream's status", async () => {
    fake.script({ kind: "error", type: "invalid_request_error", message: "messages: bad" });
    const res = await post(STREAM, { ...LEGACY_BODY, model: "sonnet", stream: false });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain("messages: bad");
  });

  // Last: the 429 holds the provider's only endpoint for its Retry-After.
  it("an upstream 429 is a plain-text 429 with Retry-After", async () => {
    fake.script({ kind: "error", type: "rate_limit_error", message: "slow down", retryAfterSeconds: 1 });
    const res = await post(STREAM, { ...LEGACY_BODY, model: "sonnet" });
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.headers.get("retry-after")).toBe("1");
  });
});
