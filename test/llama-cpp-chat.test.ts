import OpenAI from "openai";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";

let server: TestServer;
let client: OpenAI;
const user = (content: string) => [{ role: "user" as const, content }];

beforeAll(async () => {
  server = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo", "  parallel: 2\n") }) });
  client = server.client;
});
afterAll(() => server.close());

describe("chat completions on the demo model through the openai SDK", () => {
  it("returns OpenAI's response shape with the requested model name", async () => {
    const r = await client.chat.completions.create({ model: "demo", messages: user("hello"), max_tokens: 8, temperature: 0 });
    expect(r).toMatchObject({ object: "chat.completion", model: "demo", system_fingerprint: expect.any(String) });
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(typeof r.created).toBe("number");
    expect(r.choices[0].message.role).toBe("assistant");
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it("temperature 0 gives the same text twice", async () => {
    const a = await client.chat.completions.create({ model: "demo", messages: user("Tell me a story"), max_tokens: 24, temperature: 0 });
    const b = await client.chat.completions.create({ model: "demo", messages: user("Tell me a story"), max_tokens: 24, temperature: 0 });
    expect(a.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
  });

  it("streamed text joined equals the non-streamed text for the same seed", async () => {
    const params = { model: "demo", messages: user("Write something"), max_tokens: 30, temperature: 0.9, seed: 1234 };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.model).toBe("demo");
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe(whole.choices[0].finish_reason);
  });

  it("max_tokens: 5 gives finish_reason length and exactly 5 completion tokens", async () => {
    const r = await client.chat.completions.create({ model: "demo", messages: user("hi"), max_tokens: 5, temperature: 0 });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage!.completion_tokens).toBe(5);
  });

  it("a stop sequence cuts the text and finishes with stop", async () => {
    const free = await client.chat.completions.create({ model: "demo", messages: user("hi"), max_tokens: 40, temperature: 0 });
    const text = free.choices[0].message.content!;
    const stop = text.slice(6, 9);
    const cut = await client.chat.completions.create({ model: "demo", messages: user("hi"), max_tokens: 40, temperature: 0, stop: [stop] });
    expect(cut.choices[0].finish_reason).toBe("stop");
    expect(cut.choices[0].message.content).toBe(text.slice(0, text.indexOf(stop)));
    expect(cut.choices[0].message.content).not.toContain(stop);
  });

  it("include_usage streams a last chunk with empty choices and usage", async () => {
    const stream = await client.chat.completions.create({
      model: "demo",
      messages: user("hi"),
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 6, total_tokens: last.usage!.prompt_tokens + 6 });
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe("length");
  });

  it("n: 2 returns two choices", async () => {
    const r = await client.chat.completions.create({ model: "demo", messages: user("hi"), max_tokens: 4, n: 2, temperature: 0.8, seed: 7 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(r.usage!.completion_tokens).toBe(8);
  });

  it("json_schema output validates against the schema", async () => {
    const schema = {
      type: "object",
      properties: { mood: { type: "string", enum: ["happy", "sad"] }, ok: { type: "boolean" }, tag: { type: "string", maxLength: 6 } },
      required: ["mood", "ok", "tag"],
      additionalProperties: false,
    };
    const r = await client.chat.completions.create({
      model: "demo",
      messages: user("rate this"),
      max_tokens: 200,
      temperature: 0,
      response_format: { type: "json_schema", json_schema: { name: "rating", schema, strict: true } },
    });
    expect(r.choices[0].finish_reason).toBe("stop");
    const value = JSON.parse(r.choices[0].message.content!);
    expect(["happy", "sad"]).toContain(value.mood);
    expect(typeof value.ok).toBe("boolean");
    expect(value.tag.length).toBeLessThanOrEqual(6);
    expect(Object.keys(value).sort()).toEqual(["mood", "ok", "tag"]);
  });

  it("a GBNF grammar from x-localai-extensions constrains the output", async () => {
    const r = await client.chat.completions.create({
      model: "demo",
      messages: user("yes or no?"),
      max_tokens: 10,
      "x-localai-extensions": { grammar: 'root ::= "yes" | "no"' },
    } as never);
    expect(["yes", "no"]).toContain((r as any).choices[0].message.content);
  });

  it("completes a tool-call round trip", async () => {
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = user("What is the weather in Paris?");
    const first = await client.chat.completions.create({
      model: "demo",
      messages,
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      max_tokens: 80,
    });
    expect(first.choices[0].finish_reason).toBe("tool_calls");
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe("get_weather");
    expect(typeof JSON.parse(call.function.arguments).city).toBe("string");

    messages.push(first.choices[0].message, { role: "tool", tool_call_id: call.id, content: JSON.stringify({ temperature_c: 21 }) });
    const second = await client.chat.completions.create({ model: "demo", messages, tools, max_tokens: 12, temperature: 0 });
    expect(second.choices[0].finish_reason).toBe("length");
    expect(second.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(second.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
  });

  it("streams tool calls as delta.tool_calls fragments", async () => {
    const tools = [
      {
        type: "function" as const,
        function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string", maxLength: 8 } }, required: ["q"] } },
      },
    ];
    const stream = await client.chat.completions.create({
      model: "demo",
      messages: user("look it up"),
      tools,
      tool_choice: "required",
      parallel_tool_calls: false,
      max_tokens: 60,
      stream: true,
    });
    let id = "";
    let name = "";
    let args = "";
    let finish = "";
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        id ||= tc.id ?? "";
        name ||= tc.function?.name ?? "";
        args += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(id).toMatch(/^call_/);
    expect(name).toBe("lookup");
    expect(typeof JSON.parse(args).q).toBe("string");
    expect(finish).toBe("tool_calls");
  });
});

describe("fields llama-cpp cannot honour are refused, naming the field", () => {
  it.each([
    [{ logprobs: true }, "logprobs"],
    [{ "x-localai-extensions": { mirostat: 2 } }, "x-localai-extensions.mirostat"],
    [{ "x-localai-extensions": { typical_p: 0.5 } }, "x-localai-extensions.typical_p"],
    [{ n: 9 }, "n"],
  ])("%j", async (extra, param) => {
    const err = await client.chat.completions.create({ model: "demo", messages: user("hi"), max_tokens: 2, ...(extra as object) }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe(param);
  });

  it("rejects an image part with a 400", async () => {
    const err = await client.chat.completions
      .create({
        model: "demo",
        max_tokens: 2,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("messages[0].content[0]");
  });
});
