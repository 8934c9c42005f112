/**
 * Anthropic's Messages API (`/v1/messages`, issue 11) served by the llama-cpp demo model, through
 * `@anthropic-ai/sdk`: the request becomes the internal chat call and the answer a Message or its
 * stream of events. The demo model writes gibberish: shapes, counts, events and stop reasons only.
 */
import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { expectAnthropicValid, expectValidEventSequence, parseSse } from "./helpers/anthropic-schemas.js";

let server: TestServer;
let client: Anthropic;
/** Sampling fields: the API and the overlay take them; @anthropic-ai/sdk 1.x's types no longer declare them. */
const sampling = (fields: Record<string, number>): object => fields;
const user = (content: string) => [{ role: "user" as const, content }];
const weather: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"] },
};

beforeAll(async () => {
  server = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo", "  parallel: 2\n") }) });
  client = new Anthropic({ baseURL: server.url, apiKey: "sk-test", maxRetries: 0, timeout: 60_000 });
});
afterAll(() => server.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("messages.create on the demo model", () => {
  it("answers a Message with text, the requested model, usage and a stop reason", async () => {
    const msg = await client.messages.create({ model: "demo", max_tokens: 8, system: "Be brief.", messages: user("hello"), ...sampling({ temperature: 0 }) });
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg).toMatchObject({ type: "message", role: "assistant", model: "demo", stop_sequence: null });
    expect(msg.id).toMatch(/^msg_/);
    expect(["end_turn", "max_tokens"]).toContain(msg.stop_reason);
    expect(msg.content.every((b) => b.type === "text")).toBe(true);
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });

  it("max_tokens: 5 stops with max_tokens after exactly 5 output tokens; top_k and top_p are taken", async () => {
    const msg = await client.messages.create({
      model: "demo",
      max_tokens: 5,
      messages: user("hi"),
      ...sampling({ top_k: 20, top_p: 0.9 }),
      metadata: { user_id: "u-1" },
    });
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBe(5);
  });

  it("system blocks and a multi-turn conversation count more input tokens than one turn", async () => {
    const one = await client.messages.create({ model: "demo", max_tokens: 2, messages: user("hi") });
    const many = await client.messages.create({
      model: "demo",
      max_tokens: 2,
      system: [{ type: "text", text: "You are terse." }],
      messages: [
        { role: "user", content: [{ type: "text", text: "hi" }] },
        { role: "assistant", content: "hello" },
        { role: "user", content: "again" },
      ],
    });
    expect(many.usage.input_tokens).toBeGreaterThan(one.usage.input_tokens);
  });

  it("completes a tool round trip: tool_use with an object input, then a tool_result answered", async () => {
    const messages: Anthropic.MessageParam[] = user("What is the weather in Paris?");
    const first = await client.messages.create({
      model: "demo",
      max_tokens: 80,
      messages,
      tools: [weather],
      tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true },
    });
    expectAnthropicValid("AnthropicMessage", first);
    expect(first.stop_reason).toBe("tool_use");
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(call.name).toBe("get_weather");
    expect(typeof (call.input as { city: unknown }).city).toBe("string");

    messages.push(
      { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: JSON.stringify({ temperature_c: 21 }) }] },
    );
    const second = await client.messages.create({ model: "demo", max_tokens: 6, messages, tools: [weather], ...sampling({ temperature: 0 }) });
    expectAnthropicValid("AnthropicMessage", second);
    expect(second.stop_reason).toBe("max_tokens");
    expect(second.content[0].type).toBe("text");
    expect(second.usage.input_tokens).toBeGreaterThan(first.usage.input_tokens);
  });

  it("tool_choice any forces a tool call", async () => {
    const msg = await client.messages.create({
      model: "demo",
      max_tokens: 80,
      messages: user("look"),
      tools: [weather],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content.some((b) => b.type === "tool_use")).toBe(true);
  });
});

describe("messages.stream on the demo model", () => {
  it("streams text events that finalMessage() assembles into a valid Message", async () => {
    const stream = client.messages.stream({ model: "demo", max_tokens: 12, messages: user("Write something"), ...sampling({ temperature: 0 }) });
    const events: string[] = [];
    stream.on("streamEvent", (e) => {
      expectAnthropicValid("AnthropicStreamEvent", e);
      events.push(e.type);
    });
    const msg = await stream.finalMessage();
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBe(12);
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.content).toHaveLength(1);
    expect(events[0]).toBe("message_start");
    expect(events.at(-1)).toBe("message_stop");

    const whole = await client.messages.create({ model: "demo", max_tokens: 12, messages: user("Write something"), ...sampling({ temperature: 0 }) });
    expect(msg.content).toEqual(whole.content);
  });

  it("sends the documented event sequence on the wire, each event named by its type", async () => {
    const res = await post("/v1/messages", { model: "demo", max_tokens: 6, messages: user("hi"), stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    expectValidEventSequence(events);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(["content_block_start", "content_block_delta", "content_block_stop"]));
    expect(events.find((e) => e.event === "content_block_delta")!.data.delta.type).toBe("text_delta");
  });

  it("streams a tool call as input_json_delta fragments that finalMessage() parses", async () => {
    const stream = client.messages.stream({
      model: "demo",
      max_tokens: 80,
      messages: user("look"),
      tools: [weather],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
    const deltas: string[] = [];
    stream.on("streamEvent", (e) => {
      expectAnthropicValid("AnthropicStreamEvent", e);
      if (e.type === "content_block_delta") deltas.push(e.delta.type);
    });
    const msg = await stream.finalMessage();
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg.stop_reason).toBe("tool_use");
    expect(deltas).toContain("input_json_delta");
    const call = msg.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(typeof (call.input as { city: unknown }).city).toBe("string");
  });
});

describe("messages.countTokens on the demo model", () => {
  it("counts the input tokens a create with the same conversation reports", async () => {
    const params = { model: "demo", system: "Be brief.", messages: user("How many tokens is this?") };
    const counted = await client.messages.countTokens(params);
    expectAnthropicValid("AnthropicMessageTokensCount", counted);
    const msg = await client.messages.create({ ...params, max_tokens: 1 });
    expect(counted.input_tokens).toBe(msg.usage.input_tokens);
    const withTools = await client.messages.countTokens({ ...params, tools: [weather] });
    expect(withTools.input_tokens).toBeGreaterThan(counted.input_tokens);
  });
});

describe("errors in Anthropic's shape", () => {
  it("an unknown model is the SDK's NotFoundError, a not_found_error", async () => {
    const err = await client.messages.create({ model: "nope", max_tokens: 4, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as APIError).error).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringMatching(/nope/) } });
    expectAnthropicValid("AnthropicErrorResponse", (err as APIError).error);
  });

  it("an invalid body (no max_tokens) is the SDK's BadRequestError, an invalid_request_error", async () => {
    const err = await client.messages.create({ model: "demo", messages: user("hi") } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as APIError).error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringMatching(/max_tokens/) } });
    expectAnthropicValid("AnthropicErrorResponse", (err as APIError).error);
  });

  it.each([
    ["thinking enabled", { thinking: { type: "enabled", budget_tokens: 2048 } }, /thinking/],
    [
      "a document block",
      { messages: [{ role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "x" } }] }] },
      /messages\[0\]\.content\[0\]/,
    ],
    ["an unknown block type", { messages: [{ role: "user", content: [{ type: "search_result", source: "s", title: "t", content: [] }] }] }, /search_result/],
    ["a server tool", { tools: [{ type: "web_search_20250305", name: "web_search" }] }, /tools\[0\]/],
    ["an unknown top-level field", { frobnicate: 1 }, /frobnicate/],
  ])("%s is a 400 naming the field", async (_what, extra, named) => {
    const res = await post("/v1/messages", { model: "demo", max_tokens: 4, messages: user("hi"), ...extra });
    expect(res.status).toBe(400);
    const body = await res.json();
    expectAnthropicValid("AnthropicErrorResponse", body);
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(named);
  });

  it("malformed JSON is a 400 invalid_request_error in Anthropic's shape", async () => {
    const res = await fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model": ' });
    expect(res.status).toBe(400);
    const body = await res.json();
    expectAnthropicValid("AnthropicErrorResponse", body);
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("a body over the limit is a 413 request_too_large", async () => {
    const small = await startTestServer({ limits: { bodyLimitBytes: 1024 } });
    try {
      const res = await fetch(`${small.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo", max_tokens: 4, messages: user("x".repeat(4096)) }),
      });
      expect(res.status).toBe(413);
      const body = await res.json();
      expectAnthropicValid("AnthropicErrorResponse", body);
      expect(body.error.type).toBe("request_too_large");
    } finally {
      await small.close();
    }
  });

  it("accepts Anthropic's headers: x-api-key, anthropic-version, anthropic-beta and Authorization", async () => {
    const res = await post(
      "/v1/messages",
      { model: "demo", max_tokens: 2, messages: user("hi") },
      { "x-api-key": "sk-ant-x", "anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31", authorization: "Bearer sk-x" },
    );
    expect(res.status).toBe(200);
    expectAnthropicValid("AnthropicMessage", await res.json());
  });
});
