/**
 * The `anthropic` upstream dialect through the `openai` SDK, against a loopback fake that speaks
 * the Messages API as Anthropic documents it (alternation, max_tokens and headers enforced):
 * requests translated to Messages, answers translated back, every response schema-valid.
 */
import OpenAI from "openai";
import { expectSchemaValid, startAnthropicGateway, type AnthropicGateway } from "./helpers/anthropic-gateway.js";
import { startFakeAnthropic, type FakeAnthropic } from "./helpers/anthropic-upstream.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_BASICS";
let fake: FakeAnthropic;
let gw: AnthropicGateway;

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: "sk-ant-basics-0123456789" });
  process.env[KEY_ENV] = fake.apiKey;
  const endpoints = [{ url: fake.url, api_key_env: KEY_ENV }];
  gw = await startAnthropicGateway(
    [
      { id: "claude", type: "anthropic", endpoints },
      { id: "pinned", type: "anthropic", anthropic_version: "2024-01-01", endpoints },
    ],
    { sonnet: { provider: "claude", upstream_model: "claude-sonnet-test" }, short: { provider: "pinned", max_output_tokens: 77 } },
  );
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  delete process.env[KEY_ENV];
});

const last = () => fake.requests[fake.requests.length - 1];
const chat = (body: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) =>
  gw.client.chat.completions.create({ model: "sonnet", messages: [{ role: "user", content: "hi" }], ...body } as OpenAI.ChatCompletionCreateParamsNonStreaming);

describe("anthropic upstream: text", () => {
  it("answers a chat completion with the client's model name, the key as x-api-key and anthropic-version", async () => {
    const { data, response } = await chat({ max_tokens: 20 }).withResponse();
    expectSchemaValid("CreateChatCompletionResponse", data);
    expect(data.model).toBe("sonnet");
    expect(data.choices[0]).toMatchObject({ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hello world" } });
    expect(response.headers.get("x-understudy-endpoint")).toBe("claude#0");
    const req = last();
    expect(req.status).toBe(200);
    expect(req.path).toBe("/v1/messages");
    expect(req.headers["x-api-key"]).toBe(fake.apiKey);
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
    expect(req.headers.authorization).toBeUndefined();
    expect(req.body).toEqual({ model: "claude-sonnet-test", max_tokens: 20, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] });
  });

  it("sends the provider's anthropic_version, and local_settings.max_output_tokens when the request sets no limit", async () => {
    await gw.client.chat.completions.create({ model: "short", messages: [{ role: "user", content: "hi" }] });
    expect(last().headers["anthropic-version"]).toBe("2024-01-01");
    expect(last().body.max_tokens).toBe(77);
    await chat({});
    expect(last().body.max_tokens).toBe(4096);
    await chat({ max_completion_tokens: 33 });
    expect(last().body.max_tokens).toBe(33);
  });

  it("moves system and developer messages, wherever they are, into the top-level system", async () => {
    await chat({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
        { role: "developer", content: [{ type: "text", text: "Use French." }] },
      ],
    });
    expect(last().status).toBe(200);
    expect(last().body.system).toBe("Be brief.\n\nUse French.");
    expect(last().body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "hi" }] }]);
  });

  it("merges consecutive same-role turns, drops empty ones, and sends a trailing assistant message as a prefill", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: " cat sat." }] });
    const r = await chat({
      messages: [
        { role: "user", content: "one" },
        { role: "user", content: "two" },
        { role: "assistant", content: "" },
        { role: "assistant", content: "ok" },
        { role: "user", content: [{ type: "text", text: "three" }] },
        { role: "assistant", content: "The " },
      ],
    });
    expect(last().status).toBe(200);
    expect(last().body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "one" },
          { type: "text", text: "two" },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "ok" }] },
      { role: "user", content: [{ type: "text", text: "three" }] },
      // Anthropic refuses a prefill that ends in whitespace.
      { role: "assistant", content: [{ type: "text", text: "The" }] },
    ]);
    expect(r.choices[0].message.content).toBe(" cat sat.");
  });

  it("carries stop, temperature, top_p, top_k and user", async () => {
    await chat({ stop: "END", temperature: 0.5, top_p: 0.9, user: "u-42", "x-localai-extensions": { top_k: 7 } } as never);
    expect(last().body).toMatchObject({ stop_sequences: ["END"], temperature: 0.5, top_p: 0.9, top_k: 7, metadata: { user_id: "u-42" } });
    await chat({ stop: ["a", "b"] });
    expect(last().body.stop_sequences).toEqual(["a", "b"]);
  });

  it("sends image parts as image blocks (data URL as base64, https URL as url)", async () => {
    await chat({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          ],
        },
      ],
    });
    expect(last().body.messages[0].content).toEqual([
      { type: "text", text: "what is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });

  it("reports usage with cache tokens as prompt tokens and cached_tokens", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "text", text: "Hi" },
      ],
      usage: { input_tokens: 10, cache_read_input_tokens: 30, cache_creation_input_tokens: 5, output_tokens: 7 },
    });
    const r = await chat({});
    expectSchemaValid("CreateChatCompletionResponse", r);
    expect(r.usage).toEqual({ prompt_tokens: 45, completion_tokens: 7, total_tokens: 52, prompt_tokens_details: { cached_tokens: 30 } });
    // The thinking block is not content.
    expect(r.choices[0].message.content).toBe("Hi");
  });

  it.each([
    ["max_tokens", "length"],
    ["stop_sequence", "stop"],
    ["end_turn", "stop"],
    ["refusal", "content_filter"],
  ])("maps stop_reason %s to finish_reason %s", async (stop_reason, finish) => {
    fake.script({ kind: "message", content: [{ type: "text", text: "x" }], stop_reason });
    const r = await chat({});
    expect(r.choices[0].finish_reason).toBe(finish);
  });
});

describe("anthropic upstream: what cannot be carried is a 400 naming the field", () => {
  it.each([
    ["logprobs", { logprobs: true }],
    ["top_logprobs", { top_logprobs: 2 }],
    ["n", { n: 2 }],
    ["presence_penalty", { presence_penalty: 0.5 }],
    ["frequency_penalty", { frequency_penalty: 0.5 }],
    ["logit_bias", { logit_bias: { "1": 5 } }],
    ["seed", { seed: 1 }],
    ["temperature", { temperature: 1.5 }],
    ["x-localai-extensions.min_p", { "x-localai-extensions": { min_p: 0.1 } }],
    ["response_format.type", { response_format: { type: "json_object" } }],
    ["messages[0].content[0].type", { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AA==", format: "wav" } }] }] }],
  ])("%s", async (field, body) => {
    const before = fake.requests.length;
    const err = await chat(body as never).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe(field);
    expect(err.error.message).toContain(field);
    expect(fake.requests.length).toBe(before);
  });

  it("accepts the values that ask for nothing (n 1, zero penalties, logprobs false)", async () => {
    const r = await chat({ n: 1, presence_penalty: 0, frequency_penalty: 0, logprobs: false, temperature: 1 });
    expect(r.choices).toHaveLength(1);
    expect(last().body).not.toHaveProperty("n");
    expect(last().body).not.toHaveProperty("presence_penalty");
  });
});

describe("the schema check itself", () => {
  it("rejects a response that is not a chat completion", () => {
    expect(() => expectSchemaValid("CreateChatCompletionResponse", { id: "x", choices: [{}] })).toThrow(/rejects/);
    expect(() => expectSchemaValid("CreateChatCompletionStreamResponse", { object: "chat.completion.chunk" })).toThrow(/rejects/);
  });
});
