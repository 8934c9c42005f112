/**
 * Tools and json_schema through the `anthropic` upstream dialect, with the `openai` SDK: a tool
 * round trip (tool_calls -> tool_use, tool messages -> tool_result in one user turn), streamed
 * tool calls, and response_format json_schema as a forced tool, plain and streamed.
 */
import OpenAI from "openai";
import { expectSchemaValid, startAnthropicGateway, type AnthropicGateway } from "./helpers/anthropic-gateway.js";
import { startFakeAnthropic, type FakeAnthropic } from "./helpers/anthropic-upstream.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_TOOLS";
let fake: FakeAnthropic;
let gw: AnthropicGateway;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  process.env[KEY_ENV] = fake.apiKey;
  gw = await startAnthropicGateway([{ id: "claude", type: "anthropic", endpoints: [{ url: fake.url, api_key_env: KEY_ENV }] }], {
    sonnet: { provider: "claude" },
  });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  delete process.env[KEY_ENV];
});

const last = () => fake.requests[fake.requests.length - 1];
const weather: OpenAI.ChatCompletionTool = {
  type: "function",
  function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

async function streamed(body: Omit<OpenAI.ChatCompletionCreateParamsStreaming, "model" | "stream">): Promise<OpenAI.ChatCompletionChunk[]> {
  const stream = await gw.client.chat.completions.create({ model: "sonnet", stream: true, ...body });
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const c of stream) {
    expectSchemaValid("CreateChatCompletionStreamResponse", c);
    chunks.push(c);
  }
  return chunks;
}

describe("anthropic upstream: tools", () => {
  it("does a tool round trip: tool definitions, tool_calls back, tool results merged into one user turn", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "text", text: "Let me look." },
        { type: "tool_use", name: "get_weather", input: { city: "Paris" }, id: "toolu_1" },
        { type: "tool_use", name: "get_weather", input: { city: "Rome" }, id: "toolu_2" },
      ],
    });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "weather in Paris and Rome?" }];
    const first = await gw.client.chat.completions.create({ model: "sonnet", messages, tools: [weather], tool_choice: "required" });
    expectSchemaValid("CreateChatCompletionResponse", first);
    expect(last().body.tools).toEqual([{ name: "get_weather", description: "Weather of a city", input_schema: weather.function.parameters }]);
    expect(last().body.tool_choice).toEqual({ type: "any" });
    const choice = first.choices[0];
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe("Let me look.");
    expect(choice.message.tool_calls).toEqual([
      { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "toolu_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
    ]);

    fake.script({ kind: "message", content: [{ type: "text", text: "Sunny in both." }] });
    messages.push(choice.message, { role: "tool", tool_call_id: "toolu_1", content: "sunny" }, { role: "tool", tool_call_id: "toolu_2", content: "sunny too" });
    const second = await gw.client.chat.completions.create({ model: "sonnet", messages, tools: [weather] });
    expect(last().status).toBe(200);
    expect(second.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Sunny in both." } });
    expect(last().body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me look." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "sunny" }] },
          { type: "tool_result", tool_use_id: "toolu_2", content: [{ type: "text", text: "sunny too" }] },
        ],
      },
    ]);
  });

  it.each([
    ["auto", { type: "auto" }],
    ["none", { type: "none" }],
    [
      { type: "function", function: { name: "get_weather" } },
      { type: "tool", name: "get_weather" },
    ],
  ])("maps tool_choice %j", async (choice, expected) => {
    await gw.client.chat.completions.create({
      model: "sonnet",
      messages: [{ role: "user", content: "hi" }],
      tools: [weather],
      tool_choice: choice as OpenAI.ChatCompletionToolChoiceOption,
    });
    expect(last().body.tool_choice).toEqual(expected);
  });

  it("sends parallel_tool_calls: false as disable_parallel_tool_use", async () => {
    await gw.client.chat.completions.create({ model: "sonnet", messages: [{ role: "user", content: "hi" }], tools: [weather], parallel_tool_calls: false });
    expect(last().body.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  it("streams tool calls: a stable index and id, arguments in fragments that join to the input", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "text", text: "Checking" },
        { type: "tool_use", name: "get_weather", input: { city: "Paris", days: [1, 2] }, id: "toolu_a" },
        { type: "tool_use", name: "get_weather", input: { city: "Rome" }, id: "toolu_b" },
      ],
    });
    const chunks = await streamed({ messages: [{ role: "user", content: "weather?" }], tools: [weather] });
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    const byIndex = new Map<number, { id?: string; name?: string; args: string }>();
    for (const call of calls) {
      const seen = byIndex.get(call.index) ?? { args: "" };
      if (call.id) {
        expect(seen.id).toBeUndefined();
        seen.id = call.id;
        seen.name = call.function?.name;
      }
      seen.args += call.function?.arguments ?? "";
      byIndex.set(call.index, seen);
    }
    expect([...byIndex.keys()]).toEqual([0, 1]);
    expect(byIndex.get(0)).toMatchObject({ id: "toolu_a", name: "get_weather" });
    expect(JSON.parse(byIndex.get(0)!.args)).toEqual({ city: "Paris", days: [1, 2] });
    expect(JSON.parse(byIndex.get(1)!.args)).toEqual({ city: "Rome" });
    expect(calls.filter((c) => c.index === 0).length).toBeGreaterThanOrEqual(3);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("Checking");
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["tool_calls"]);
  });
});

describe("anthropic upstream: response_format json_schema as a forced tool", () => {
  const format = {
    type: "json_schema" as const,
    json_schema: { name: "city", schema: { type: "object", properties: { name: { type: "string" }, population: { type: "integer" } } } },
  };

  it("forces the tool and returns its input as the message content", async () => {
    fake.script({ kind: "message", content: [{ type: "tool_use", name: "city", input: { name: "Paris", population: 2100000 } }] });
    const r = await gw.client.chat.completions.create({ model: "sonnet", messages: [{ role: "user", content: "a city" }], response_format: format });
    expectSchemaValid("CreateChatCompletionResponse", r);
    expect(last().body.tools).toEqual([{ name: "city", input_schema: format.json_schema.schema }]);
    expect(last().body.tool_choice).toEqual({ type: "tool", name: "city" });
    expect(r.choices[0].finish_reason).toBe("stop");
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(JSON.parse(r.choices[0].message.content!)).toEqual({ name: "Paris", population: 2100000 });
  });

  it("streams the tool's input as content deltas", async () => {
    fake.script({ kind: "message", content: [{ type: "tool_use", name: "city", input: { name: "Rome", population: 2800000 } }] });
    const chunks = await streamed({ messages: [{ role: "user", content: "a city" }], response_format: format });
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(JSON.parse(content)).toEqual({ name: "Rome", population: 2800000 });
    expect(chunks.some((c) => c.choices[0]?.delta?.tool_calls)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"]);
  });

  it("refuses json_schema together with tools, and a schema whose root is not an object", async () => {
    const both = await gw.client.chat.completions
      .create({ model: "sonnet", messages: [{ role: "user", content: "x" }], response_format: format, tools: [weather] })
      .catch((e) => e);
    expect(both).toBeInstanceOf(OpenAI.BadRequestError);
    expect(both.param).toBe("response_format");
    const array = { type: "json_schema" as const, json_schema: { name: "list", schema: { type: "array" } } };
    const notObject = await gw.client.chat.completions
      .create({ model: "sonnet", messages: [{ role: "user", content: "x" }], response_format: array })
      .catch((e) => e);
    expect(notObject).toBeInstanceOf(OpenAI.BadRequestError);
    expect(notObject.param).toBe("response_format.json_schema.schema");
  });
});
