/**
 * `/v1/messages` (issue 11) on an `anthropic` upstream, through `@anthropic-ai/sdk`: the request
 * passes through natively (only `model` replaced: cache_control, thinking and unknown blocks kept),
 * the answer and its events are relayed with the client's model name, count_tokens is passed on,
 * and the upstream's errors reach the SDK as its typed errors.
 */
import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { ConfigStore } from "../src/config/store.js";
import { createLogger } from "../src/core/logger.js";
import { startServer, type RunningServer } from "../src/http/server.js";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { testServices } from "./helpers/server.js";
import { startFakeAnthropic, type FakeAnthropic } from "./helpers/anthropic-upstream.js";
import { expectAnthropicValid, expectValidEventSequence, parseSse } from "./helpers/anthropic-schemas.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_SURFACE";
let fake: FakeAnthropic;
let server: RunningServer;
let config: ConfigStore;
let client: Anthropic;
const user = (content: string) => [{ role: "user" as const, content }];
const last = () => fake.requests[fake.requests.length - 1];
const weather: Anthropic.Tool = { name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } };

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: "sk-ant-surface-0123456789" });
  process.env[KEY_ENV] = fake.apiKey;
  const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };
  const dir = gatewayConfigDir({
    providers: [{ id: "claude", type: "anthropic", endpoints: [{ url: fake.url, api_key_env: KEY_ENV }], retry }],
    models: { sonnet: { provider: "claude", upstream_model: "claude-sonnet-test", backend: "anthropic" as never } },
  });
  const log = createLogger(process.env.LOG_LEVEL ?? "silent");
  config = ConfigStore.open(dir, log);
  server = await startServer({ log, services: testServices(config), host: "127.0.0.1", port: 0 });
  client = new Anthropic({ baseURL: server.url, apiKey: "sk-client", maxRetries: 0, timeout: 30_000 });
});
afterAll(async () => {
  config.close();
  await server.close();
  config.current().retire();
  await fake.close();
  delete process.env[KEY_ENV];
});

describe("messages.create passed through to an anthropic upstream", () => {
  it("sends the request as it is (model replaced) and relays the Message with the client's model name", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "text", text: "Hi there" },
      ],
      usage: { input_tokens: 12, cache_read_input_tokens: 4 },
    });
    const body = {
      model: "sonnet",
      max_tokens: 64,
      system: [{ type: "text" as const, text: "Be brief.", cache_control: { type: "ephemeral" as const } }],
      thinking: { type: "enabled" as const, budget_tokens: 1024 },
      messages: user("hello"),
    };
    const msg = await client.messages.create(body);
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg).toMatchObject({ model: "sonnet", stop_reason: "end_turn", content: [{ type: "thinking" }, { type: "text", text: "Hi there" }] });
    expect(msg.usage).toMatchObject({ input_tokens: 12, cache_read_input_tokens: 4 });
    expect(last().path).toBe("/v1/messages");
    expect(last().headers["x-api-key"]).toBe(fake.apiKey);
    expect(last().body).toEqual({ ...body, model: "claude-sonnet-test" });
  });

  it("passes the client's anthropic-beta header on, but never its key or version", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: "ok" }] });
    await client.messages.create(
      { model: "sonnet", max_tokens: 16, messages: user("hi") },
      { headers: { "anthropic-beta": "prompt-caching-2024-07-31", "anthropic-version": "2099-01-01" } },
    );
    expect(last().headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(last().headers["anthropic-version"]).toBe("2023-06-01");
    expect(last().headers["x-api-key"]).toBe(fake.apiKey);
    expect(last().headers.authorization).toBeUndefined();
    fake.script({ kind: "message", content: [{ type: "text", text: "ok" }] });
    await client.messages.create({ model: "sonnet", max_tokens: 16, messages: user("hi") });
    expect(last().headers["anthropic-beta"]).toBeUndefined();
  });

  it("relays tool_use answers", async () => {
    fake.script({ kind: "message", content: [{ type: "tool_use", name: "get_weather", input: { city: "Paris" } }] });
    const msg = await client.messages.create({ model: "sonnet", max_tokens: 64, messages: user("weather?"), tools: [weather], tool_choice: { type: "any" } });
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } });
    expect(last().body).toMatchObject({ tools: [weather], tool_choice: { type: "any" } });
  });
});

describe("messages.stream passed through to an anthropic upstream", () => {
  it("relays the upstream's events, which finalMessage() assembles", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "text", text: "Hello there" },
        { type: "tool_use", name: "get_weather", input: { city: "Rome" } },
      ],
    });
    const stream = client.messages.stream({ model: "sonnet", max_tokens: 64, messages: user("hi"), tools: [weather] });
    const events: unknown[] = [];
    stream.on("streamEvent", (e) => events.push(e));
    const msg = await stream.finalMessage();
    for (const e of events) expectAnthropicValid("AnthropicStreamEvent", e);
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg).toMatchObject({ model: "sonnet", stop_reason: "tool_use" });
    expect(msg.content[1]).toMatchObject({ type: "tool_use", input: { city: "Rome" } });
    expect(last().body.stream).toBe(true);
  });

  it("sends the documented sequence on the wire; an upstream error mid-stream is `event: error`", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: "Hi" }] });
    const ok = await fetch(`${server.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sonnet", max_tokens: 8, messages: user("hi"), stream: true }),
    });
    expectValidEventSequence(parseSse(await ok.text()));

    fake.script({ kind: "error", type: "overloaded_error", inStream: true });
    const broken = await fetch(`${server.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sonnet", max_tokens: 8, messages: user("hi"), stream: true }),
    });
    const events = parseSse(await broken.text());
    expect(events.at(-1)!.event).toBe("error");
    expectAnthropicValid("AnthropicErrorResponse", events.at(-1)!.data);
  });
});

describe("count_tokens and errors on an anthropic upstream", () => {
  it("messages.countTokens is passed through", async () => {
    fake.countTokens(() => 42);
    try {
      const counted = await client.messages.countTokens({ model: "sonnet", messages: user("hi"), system: "x" });
      expect(counted).toEqual({ input_tokens: 42 });
      expect(last().path).toBe("/v1/messages/count_tokens");
      expect(last().body).toEqual({ model: "claude-sonnet-test", messages: user("hi"), system: "x" });
    } finally {
      fake.countTokens(undefined);
    }
  });

  it("the upstream's invalid_request_error is the SDK's BadRequestError", async () => {
    fake.script({ kind: "error", type: "invalid_request_error", message: "bad thing" });
    const err = await client.messages.create({ model: "sonnet", max_tokens: 8, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expectAnthropicValid("AnthropicErrorResponse", (err as APIError).error);
  });

  it("an unknown model is the SDK's NotFoundError without asking the upstream", async () => {
    const before = fake.requests.length;
    const err = await client.messages.create({ model: "nope", max_tokens: 8, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(fake.requests.length).toBe(before);
  });

  it("the upstream's rate_limit_error is the SDK's RateLimitError", async () => {
    fake.script({ kind: "error", type: "rate_limit_error", retryAfterSeconds: 60 });
    const err = await client.messages.create({ model: "sonnet", max_tokens: 8, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as APIError).error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
  });
});
