/**
 * `/v1/messages` (issue 11) served by an openai-compatible upstream, through `@anthropic-ai/sdk`:
 * what arrives upstream is the chat request the Messages request maps to, and the upstream's
 * answers (JSON, streams, errors) come back as Messages, events and the SDK's typed errors.
 */
import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { chatChunk, data, sendJson, startFakeUpstream, startSse, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";
import { expectAnthropicValid, expectValidEventSequence, parseSse } from "./helpers/anthropic-schemas.js";

let upstream: FakeUpstream;
let gw: Gateway;
let client: Anthropic;
const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };
/** Sampling fields: the API and the overlay take them; @anthropic-ai/sdk 1.x's types no longer declare them. */
const sampling = (fields: Record<string, number>): object => fields;
const user = (content: string) => [{ role: "user" as const, content }];
const weather: Anthropic.Tool = { name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } };
const lastBody = () => upstream.requests[upstream.requests.length - 1].body;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [
      { id: "up", type: "openai-compatible", profile: "vllm", endpoints: [{ url: upstream.url }], retry },
      // Its own provider: a 429 holds the endpoint for the Retry-After.
      { id: "limited", type: "openai-compatible", endpoints: [{ url: upstream.url }], retry },
    ],
    models: { m: { provider: "up", upstream_model: "up-model" }, limited: { provider: "limited", upstream_model: "up-model" } },
  });
  client = new Anthropic({ baseURL: gw.url, apiKey: "sk-client", maxRetries: 0, timeout: 30_000 });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => upstream.route(undefined));

const toolCallAnswer = (model: string) => ({
  id: "chatcmpl-up",
  object: "chat.completion",
  created: 1,
  model,
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: "Let me look.",
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: "tool_calls",
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39, prompt_tokens_details: { cached_tokens: 10 } },
});

describe("messages.create through an openai-compatible upstream", () => {
  it("sends the mapped chat request and answers a Message", async () => {
    const msg = await client.messages.create({
      model: "m",
      max_tokens: 64,
      system: [{ type: "text", text: "Be brief." }],
      messages: [
        { role: "user", content: "hello" },
        { role: "assistant", content: [{ type: "text", text: "Hi." }] },
        { role: "user", content: [{ type: "text", text: "Again" }] },
      ],
      stop_sequences: ["END"],
      ...sampling({ temperature: 0.5, top_p: 0.9, top_k: 40 }),
      metadata: { user_id: "user-7" },
    });
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg).toMatchObject({ model: "m", content: [{ type: "text", text: "Hello world" }], stop_reason: "end_turn", stop_sequence: null });
    expect(msg.usage).toMatchObject({ input_tokens: 3, output_tokens: 2 });
    expect(lastBody()).toEqual({
      model: "up-model",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello" },
        { role: "assistant", content: "Hi." },
        { role: "user", content: "Again" },
      ],
      max_tokens: 64,
      stop: ["END"],
      ...sampling({ temperature: 0.5, top_p: 0.9, top_k: 40 }),
      user: "user-7",
    });
  });

  it("maps tools, tool_choice, tool_use and tool_result, images; answers tool_use blocks with cache reads split out", async () => {
    upstream.route((req, res) => sendJson(res, 200, toolCallAnswer(req.body.model)));
    const msg = await client.messages.create({
      model: "m",
      max_tokens: 64,
      tools: [weather],
      tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true },
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "text", text: "Weather?" },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: "cold", is_error: false },
            { type: "text", text: "And Paris?" },
          ],
        },
      ],
    });
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content).toEqual([
      { type: "text", text: "Let me look." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
    ]);
    expect(msg.usage).toMatchObject({ input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 10 });
    const sent = lastBody();
    expect(sent.tools).toEqual([{ type: "function", function: { name: "get_weather", description: "Weather", parameters: weather.input_schema } }]);
    expect(sent.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(sent.parallel_tool_calls).toBe(false);
    expect(sent.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          { type: "text", text: "Weather?" },
        ],
      },
      { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
      { role: "tool", tool_call_id: "toolu_1", content: "cold" },
      { role: "user", content: "And Paris?" },
    ]);
  });

  it.each([
    [{ type: "auto" }, "auto"],
    [{ type: "any" }, "required"],
    [{ type: "none" }, "none"],
  ] as const)("tool_choice %j becomes %j", async (choice, sent) => {
    await client.messages.create({ model: "m", max_tokens: 8, messages: user("hi"), tools: [weather], tool_choice: choice });
    expect(lastBody().tool_choice).toBe(sent);
  });

  it.each([
    ["length", null, "max_tokens", null],
    ["stop", "END", "stop_sequence", "END"],
    ["content_filter", null, "refusal", null],
  ])("finish_reason %s (stop_reason %s) is stop_reason %s", async (finish, said, reason, sequence) => {
    upstream.route((req, res) => {
      const answer = toolCallAnswer(req.body.model);
      answer.choices[0] = {
        index: 0,
        message: { role: "assistant", content: "x" } as never,
        finish_reason: finish,
        logprobs: null,
        stop_reason: said,
      } as never;
      sendJson(res, 200, answer);
    });
    const msg = await client.messages.create({ model: "m", max_tokens: 8, messages: user("hi"), stop_sequences: ["END"] });
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg.stop_reason).toBe(reason);
    expect(msg.stop_sequence).toBe(sequence);
  });
});

describe("messages.stream through an openai-compatible upstream", () => {
  it("streams text, asks the upstream for usage, and finalMessage() has the counts", async () => {
    const stream = client.messages.stream({ model: "m", max_tokens: 16, messages: user("hi") });
    const events: unknown[] = [];
    stream.on("streamEvent", (e) => events.push(e));
    const msg = await stream.finalMessage();
    for (const e of events) expectAnthropicValid("AnthropicStreamEvent", e);
    expectAnthropicValid("AnthropicMessage", msg);
    expect(msg).toMatchObject({ content: [{ type: "text", text: "Hello world" }], stop_reason: "end_turn", usage: { input_tokens: 3, output_tokens: 2 } });
    expect(lastBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("streams tool calls as input_json_delta, one block after another", async () => {
    upstream.route(async (req, res) => {
      const m = req.body.model;
      const tc = (index: number, fields: Record<string, unknown>) => ({ tool_calls: [{ index, ...fields }] });
      startSse(res);
      await writeFrames(res, [
        data(chatChunk(m, { role: "assistant", content: "" })),
        data(chatChunk(m, { content: "Checking." })),
        data(chatChunk(m, tc(0, { id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }))),
        data(chatChunk(m, tc(0, { function: { arguments: '{"city":' } }))),
        data(chatChunk(m, tc(0, { function: { arguments: '"Paris"}' } }))),
        data(chatChunk(m, tc(1, { id: "call_b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }))),
        data(chatChunk(m, {}, "tool_calls")),
        data({ ...chatChunk(m, {}), choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }),
        "data: [DONE]\n\n",
      ]);
    });
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", max_tokens: 64, messages: user("weather"), tools: [weather], stream: true }),
    });
    const events = parseSse(await res.text());
    expectValidEventSequence(events);
    const starts = events.filter((e) => e.event === "content_block_start").map((e) => e.data.content_block);
    expect(starts).toEqual([
      { type: "text", text: "" },
      { type: "tool_use", id: "call_a", name: "get_weather", input: {} },
      { type: "tool_use", id: "call_b", name: "get_weather", input: {} },
    ]);
    const json = events.filter((e) => e.data.delta?.type === "input_json_delta").map((e) => [e.data.index, e.data.delta.partial_json]);
    expect(json).toEqual([
      [1, '{"city":'],
      [1, '"Paris"}'],
      [2, '{"city":"Rome"}'],
    ]);
    expect(events.find((e) => e.event === "message_delta")!.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 11, output_tokens: 7 },
    });
  });

  it("an upstream failure mid-stream is an in-band `event: error`, with nothing after it", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await writeFrames(
        res,
        [data(chatChunk(req.body.model, { role: "assistant", content: "" })), data(chatChunk(req.body.model, { content: "Hel" }))],
        0,
        false,
      );
      res.destroy();
    });
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", max_tokens: 64, messages: user("hi"), stream: true }),
    });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    const last = events.at(-1)!;
    expect(last.event).toBe("error");
    expectAnthropicValid("AnthropicErrorResponse", last.data);
    expect(events[0].event).toBe("message_start");
    expect(events.map((e) => e.event)).not.toContain("message_stop");
  });
});

describe("count_tokens and errors through an openai-compatible upstream", () => {
  it("messages.countTokens is a 501 in Anthropic's shape: the upstream has no tokenizer here", async () => {
    const before = upstream.requests.length;
    const err = await client.messages.countTokens({ model: "m", messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as APIError).status).toBe(501);
    expectAnthropicValid("AnthropicErrorResponse", (err as APIError).error);
    expect((err as APIError).headers?.get("x-should-retry")).toBe("false");
    expect(upstream.requests.length).toBe(before);
  });

  it("an upstream 400 about a field the translation wrote names the Anthropic field", async () => {
    upstream.route((_req, res) => sendJson(res, 400, { error: { message: "'stop' is bad", type: "invalid_request_error", param: "stop" } }));
    const err = await client.messages.create({ model: "m", max_tokens: 8, messages: user("hi"), stop_sequences: ["x"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expectAnthropicValid("AnthropicErrorResponse", (err as APIError).error);
    expect((err as APIError).error).toMatchObject({ error: { message: expect.stringContaining("'stop_sequences'") } });
  });

  it("top_k on a provider whose profile cannot carry it is a 400 naming top_k", async () => {
    const err = await client.messages.create({ model: "limited", max_tokens: 8, messages: user("hi"), ...sampling({ top_k: 5 }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as APIError).error).toMatchObject({ error: { message: expect.stringContaining("'top_k'") } });
  });
  it("an upstream 429 is the SDK's RateLimitError with Retry-After", async () => {
    upstream.route((_req, res) => sendJson(res, 429, { error: { message: "quota exceeded" } }, { "retry-after": "120" }));
    const err = await client.messages.create({ model: "limited", max_tokens: 8, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as APIError).error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect((err as APIError).headers?.get("retry-after")).toBe("120");
  });
});
