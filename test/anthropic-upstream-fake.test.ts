/**
 * The fake Anthropic upstream (test/helpers/anthropic-upstream.ts) speaks the protocol
 * `@anthropic-ai/sdk` expects, and what it sends validates against the overlay's schemas
 * (patches/002-anthropic-messages.yaml, in openapi/extended.json): the two pieces agree.
 */
import Anthropic from "@anthropic-ai/sdk";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { extendedSpec } from "../src/spec/extended-spec.js";
import { ERROR_STATUS, startFakeAnthropic, type AnthropicErrorType, type FakeAnthropic } from "./helpers/anthropic-upstream.js";

let fake: FakeAnthropic;
let client: Anthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
  client = new Anthropic({ baseURL: fake.url, apiKey: fake.apiKey, maxRetries: 0 });
});
afterAll(() => fake.close());

/** The overlay's Anthropic* schemas, compiled by the same ajv the server's config uses. */
const schemas = (() => {
  const all = extendedSpec().components.schemas as Record<string, unknown>;
  const mine = Object.fromEntries(Object.entries(all).filter(([name]) => name.startsWith("Anthropic")));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: "anthropic.json", components: { schemas: mine } });
  return (name: string): ValidateFunction => ajv.getSchema(`anthropic.json#/components/schemas/${name}`)!;
})();

function expectValid(name: string, value: unknown): void {
  const validate = schemas(name);
  expect(validate).toBeDefined();
  const ok = validate(value);
  expect({ valid: ok, errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
}

const lastBody = () => fake.requests[fake.requests.length - 1].body;
const weatherTool = {
  name: "get_weather",
  description: "Weather of a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } } },
};

describe("the fake Anthropic upstream through @anthropic-ai/sdk", () => {
  it("answers messages.create with a Message the schema accepts, and records the request", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: "Hi there" }], usage: { input_tokens: 12, cache_read_input_tokens: 4 } });
    const msg = await client.messages.create({ model: "claude-x", max_tokens: 64, system: "Be brief.", messages: [{ role: "user", content: "hello" }] });
    expect(msg).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-x",
      stop_reason: "end_turn",
      content: [{ type: "text", text: "Hi there" }],
    });
    expect(msg.usage).toMatchObject({ input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 });
    expectValid("AnthropicMessage", msg);
    const req = fake.requests[fake.requests.length - 1];
    // @anthropic-ai/sdk 1.x sends `apiKey` as a bearer token, not as x-api-key.
    expect(req.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(req.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/); // 1.12 sends 2026-10-21
    expect(req.body).toMatchObject({ model: "claude-x", max_tokens: 64, system: "Be brief." });
    expectValid("AnthropicCreateMessageRequest", req.body);
  });

  it("answers a tool_use with its input object and stop_reason tool_use", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "text", text: "Let me look." },
        { type: "tool_use", name: "get_weather", input: { city: "Paris" } },
      ],
    });
    const msg = await client.messages.create({
      model: "m",
      max_tokens: 64,
      tools: [weatherTool],
      tool_choice: { type: "auto" },
      messages: [{ role: "user", content: "weather?" }],
    });
    expect(msg.stop_reason).toBe("tool_use");
    const call = msg.content.find((b) => b.type === "tool_use");
    expect(call).toMatchObject({ name: "get_weather", input: { city: "Paris" } });
    expectValid("AnthropicMessage", msg);
    expectValid("AnthropicCreateMessageRequest", lastBody());
  });

  it("streams text and a tool call in the documented event sequence, and finalMessage() assembles them", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "text", text: "Checking the weather" },
        { type: "tool_use", name: "get_weather", input: { city: "Paris", days: [1, 2] } },
      ],
    });
    const stream = client.messages.stream({ model: "m", max_tokens: 64, tools: [weatherTool], messages: [{ role: "user", content: "weather?" }] });
    const events: { type: string }[] = [];
    stream.on("streamEvent", (e) => events.push(e));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      expect.objectContaining({ type: "text", text: "Checking the weather" }),
      expect.objectContaining({ type: "tool_use", name: "get_weather", input: { city: "Paris", days: [1, 2] } }),
    ]);
    expect(final.stop_reason).toBe("tool_use");
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("message_start");
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    expect(types.filter((t) => t === "content_block_start")).toHaveLength(2);
    const fragments = events.filter((e: any) => e.delta?.type === "input_json_delta");
    expect(fragments.length).toBeGreaterThanOrEqual(3);
    for (const event of events) expectValid("AnthropicStreamEvent", event);
    expect(lastBody().stream).toBe(true);
  });

  it("streams raw events (ping included) that each validate, thinking and signature deltas too", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "text", text: "ok" },
      ],
    });
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": fake.apiKey, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "m", max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const frames = (await res.text()).split("\n\n").filter((f) => f !== "");
    const parsed = frames.map((f) => {
      const [, name] = /^event: (\S+)$/m.exec(f)!;
      const data = JSON.parse(/^data: (.*)$/m.exec(f)![1]);
      expect(data.type).toBe(name);
      expectValid("AnthropicStreamEvent", data);
      return data;
    });
    expect(parsed[1]).toEqual({ type: "ping" });
    expect(parsed.map((e) => e.delta?.type).filter(Boolean)).toEqual(["thinking_delta", "signature_delta", "text_delta", "text_delta"]);
  });

  it("counts tokens with messages.countTokens", async () => {
    fake.countTokens(() => 42);
    const count = await client.messages.countTokens({ model: "m", messages: [{ role: "user", content: "hello" }] });
    expect(count).toEqual({ input_tokens: 42 });
    expectValid("AnthropicMessageTokensCount", count);
    expectValid("AnthropicCountMessageTokensRequest", lastBody());
    fake.countTokens(undefined);
  });

  const errorClasses: [AnthropicErrorType, new (...args: any[]) => Error][] = [
    ["invalid_request_error", Anthropic.BadRequestError],
    ["authentication_error", Anthropic.AuthenticationError],
    ["permission_error", Anthropic.PermissionDeniedError],
    ["not_found_error", Anthropic.NotFoundError],
    ["rate_limit_error", Anthropic.RateLimitError],
    ["api_error", Anthropic.InternalServerError],
    ["overloaded_error", Anthropic.InternalServerError],
  ];

  it.each(errorClasses)("raises a scripted %s as the SDK's typed error with its status", async (type, cls) => {
    fake.script({ kind: "error", type, retryAfterSeconds: type === "rate_limit_error" ? 7 : undefined });
    const err: any = await client.messages.create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(ERROR_STATUS[type]);
    expect(err.error).toMatchObject({ type: "error", error: { type } });
    expectValid("AnthropicErrorResponse", err.error);
    if (type === "rate_limit_error") expect(err.headers.get("retry-after")).toBe("7");
  });

  it("breaks a stream off with an in-stream error event the SDK raises", async () => {
    fake.script({ kind: "error", type: "overloaded_error", inStream: true });
    const err: any = await client.messages
      .stream({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] })
      .finalMessage()
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    expectValid("AnthropicStreamEvent", err.error);
  });
});

describe("the fake refuses what Anthropic refuses", () => {
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": fake.apiKey, "anthropic-version": "2023-06-01", ...headers },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const user = (content: unknown) => ({ role: "user", content });
  const assistant = (content: unknown) => ({ role: "assistant", content });
  const base = { model: "m", max_tokens: 8 };

  it.each([
    ["a wrong key", base, { "x-api-key": "nope" }, 401, "authentication_error"],
    ["a wrong bearer key", base, { "x-api-key": "", authorization: "Bearer nope" }, 401, "authentication_error"],
    ["no anthropic-version", base, { "anthropic-version": "" }, 400, "invalid_request_error"],
  ])("%s", async (_, body, headers, status, type) => {
    const res = await post({ ...body, messages: [user("hi")] }, headers);
    expect(res).toEqual({ status, json: { type: "error", error: { type, message: expect.any(String) } } });
  });

  it.each([
    ["no max_tokens", { model: "m", messages: [user("hi")] }],
    ["a system role in messages", { ...base, messages: [{ role: "system", content: "x" }, user("hi")] }],
    ["an assistant first", { ...base, messages: [assistant("x"), user("hi")] }],
    ["two user turns in a row", { ...base, messages: [user("a"), user("b")] }],
    ["a tool_use left unanswered", { ...base, messages: [user("a"), assistant([{ type: "tool_use", id: "t1", name: "f", input: {} }]), user("b")] }],
  ])("400 for %s", async (_, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.json.error.type).toBe("invalid_request_error");
    expectValid("AnthropicErrorResponse", res.json);
  });

  it("accepts a prefill and a tool round trip, which the overlay's request schema accepts too", async () => {
    const body = {
      ...base,
      messages: [
        user([{ type: "text", text: "weather?", cache_control: { type: "ephemeral" } }]),
        assistant([{ type: "tool_use", id: "t1", name: "get_weather", input: { city: "Paris" } }]),
        user([{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "sunny" }], is_error: false }]),
        assistant("It is"),
      ],
    };
    expect((await post(body)).status).toBe(200);
    expectValid("AnthropicCreateMessageRequest", body);
  });
});

describe("the overlay's request schema", () => {
  const valid = (body: unknown) => schemas("AnthropicCreateMessageRequest")(body);
  const base = { model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] };

  it("keeps unknown block types, thinking, documents and server tools (pass-through)", () => {
    const content = [
      { type: "thinking", thinking: "t", signature: "s" },
      { type: "redacted_thinking", data: "d" },
      { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" } },
      { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
      { type: "search_result", source: "s", title: "t", content: [] },
      { type: "block_from_the_future", anything: 1 },
    ];
    const tools = [
      { type: "web_search_20250305", name: "web_search", max_uses: 2 },
      { name: "f", input_schema: { type: "object" } },
    ];
    expect(valid({ ...base, messages: [{ role: "user", content }], tools, thinking: { type: "enabled", budget_tokens: 2048 } })).toBe(true);
  });

  it.each([
    ["max_tokens 0", { ...base, max_tokens: 0 }],
    ["no max_tokens", { model: "m", messages: base.messages }],
    ["temperature 1.5", { ...base, temperature: 1.5 }],
    ["a system role", { ...base, messages: [{ role: "system", content: "x" }] }],
    ["a text block without text", { ...base, messages: [{ role: "user", content: [{ type: "text" }] }] }],
    ["a tool_use input that is not an object", { ...base, messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "f", input: "x" }] }] }],
    [
      "an image with an unknown media type",
      { ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/bmp", data: "x" } }] }] },
    ],
    ["a tool name with a space", { ...base, tools: [{ name: "a b", input_schema: { type: "object" } }] }],
    ["65 stop sequences", { ...base, stop_sequences: Array.from({ length: 65 }, (_, i) => `s${i}`) }],
    ["an over-long metadata.user_id", { ...base, metadata: { user_id: "u".repeat(257) } }],
    ["a tool_choice of an unknown type", { ...base, tool_choice: { type: "sometimes" } }],
  ])("refuses %s", (_, body) => {
    expect(valid(body)).toBe(false);
  });
});
