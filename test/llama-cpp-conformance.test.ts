/**
 * Issue 13, defects 2-5 on the llama-cpp backend, through the openai SDK on the demo model (random
 * weights: only shapes, counts and finish reasons are asserted): a forced function gives exactly
 * one call, tool-call answers count their tokens, json_schema output keeps to the schema's number
 * types and bounds, and streamed tool-call arguments are the same compact JSON as non-streamed ones.
 */
import OpenAI from "openai";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { JsonCompactor } from "../src/backends/llama-cpp/json-compact.js";

let server: TestServer;
let client: OpenAI;
const user = (content: string) => [{ role: "user" as const, content }];
const SEEDS = [1, 2, 3, 4, 5, 6];

const lookup = {
  type: "function" as const,
  function: {
    name: "lookup",
    parameters: { type: "object", properties: { q: { type: "string", maxLength: 8 }, n: { type: "integer" } }, required: ["q", "n"] },
  },
};
const other = { type: "function" as const, function: { name: "other", parameters: { type: "object", properties: { x: { type: "boolean" } } } } };
const named = { type: "function" as const, function: { name: "lookup" } };

beforeAll(async () => {
  server = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo") }) });
  client = server.client;
});
afterAll(() => server.close());

/** Tool calls of one streamed choice, joined per index, with the finish reason and usage. */
async function streamedCalls(params: OpenAI.ChatCompletionCreateParamsNonStreaming) {
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  const calls = new Map<number, { id: string; name: string; args: string }>();
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    usage = chunk.usage ?? usage;
    const choice = chunk.choices[0];
    finish = choice?.finish_reason ?? finish;
    for (const tc of choice?.delta?.tool_calls ?? []) {
      const call = calls.get(tc.index) ?? { id: "", name: "", args: "" };
      call.id ||= tc.id ?? "";
      call.name ||= tc.function?.name ?? "";
      call.args += tc.function?.arguments ?? "";
      calls.set(tc.index, call);
    }
  }
  return { calls: [...calls.values()], finish, usage };
}

const functionCalls = (r: OpenAI.ChatCompletion) => (r.choices[0].message.tool_calls ?? []) as OpenAI.ChatCompletionMessageFunctionToolCall[];

describe("defect 2: a forced function gives exactly one call", () => {
  it.each(SEEDS.slice(0, 3))("named tool_choice, seed %i: one call of that function", async (seed) => {
    const r = await client.chat.completions.create({ model: "demo", messages: user("go"), tools: [lookup, other], tool_choice: named, max_tokens: 300, seed });
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    expect(functionCalls(r).map((c) => c.function.name)).toEqual(["lookup"]);
  });

  it("named tool_choice, streamed: one call", async () => {
    const { calls, finish } = await streamedCalls({ model: "demo", messages: user("go"), tools: [lookup], tool_choice: named, max_tokens: 300, seed: 3 });
    expect(calls.map((c) => c.name)).toEqual(["lookup"]);
    expect(finish).toBe("tool_calls");
  });

  it("required with parallel_tool_calls false: one call", async () => {
    const r = await client.chat.completions.create({
      model: "demo",
      messages: user("go"),
      tools: [lookup],
      tool_choice: "required",
      parallel_tool_calls: false,
      max_tokens: 300,
      seed: 2,
    });
    expect(functionCalls(r)).toHaveLength(1);
  });
});

describe("defect 3: tool-call answers count their completion tokens", () => {
  const params = { model: "demo", messages: user("go"), tools: [lookup], tool_choice: named, max_tokens: 300, seed: 4 };

  it("non-streamed", async () => {
    const r = await client.chat.completions.create(params);
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(300);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  it("streamed, with the same count as non-streamed", async () => {
    const whole = await client.chat.completions.create(params);
    const { usage, finish } = await streamedCalls(params);
    expect(finish).toBe("tool_calls");
    expect(usage!.completion_tokens).toBe(whole.usage!.completion_tokens);
  });

  it("text answers still count exactly, a repeated identical request too", async () => {
    const text = { model: "demo", messages: user("count me"), max_tokens: 7, temperature: 0 };
    for (let i = 0; i < 2; i++) expect((await client.chat.completions.create(text)).usage!.completion_tokens).toBe(7);
  });

  it("a call cut by max_tokens counts max_tokens", async () => {
    const r = await client.chat.completions.create({ ...params, max_tokens: 12 });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage!.completion_tokens).toBe(12);
  });
});

describe("a call cut by max_tokens is kept as it was cut, and the answer finishes with length", () => {
  const weather = {
    type: "function" as const,
    function: { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } },
  };
  // Parallel calls until the budget runs out: the last call is cut (these seeds were seen to end so).
  const cutParams = (seed: number) => ({
    model: "demo",
    messages: user("weather?"),
    tools: [weather],
    tool_choice: "required" as const,
    max_tokens: 80,
    seed,
    temperature: 1,
  });

  it.each(SEEDS)("seed %i: a tool_calls finish only with whole JSON arguments, streamed or not", async (seed) => {
    const whole = await client.chat.completions.create(cutParams(seed));
    const { calls, finish } = await streamedCalls(cutParams(seed));
    for (const [reason, args] of [
      [whole.choices[0].finish_reason, functionCalls(whole).map((c) => c.function.arguments)],
      [finish, calls.map((c) => c.args)],
    ] as const) {
      expect(args.length).toBeGreaterThan(0);
      const parses = args.map((a) => {
        try {
          JSON.parse(a);
          return true;
        } catch {
          return false;
        }
      });
      if (reason === "tool_calls") expect(parses.every(Boolean)).toBe(true);
      else expect(reason).toBe("length");
    }
    // The same calls either way: a stream cannot take back a call it began, so the answer keeps it too.
    expect(calls.length).toBe(functionCalls(whole).length);
  });

  it("the first call cut: the answer has it, with the arguments so far", async () => {
    // 12 tokens go to the call's own opening; at 20 its arguments have begun.
    const r = await client.chat.completions.create({ model: "demo", messages: user("go"), tools: [lookup], tool_choice: named, max_tokens: 20, seed: 4 });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(functionCalls(r).map((c) => c.function.name)).toEqual(["lookup"]);
    expect(() => JSON.parse(functionCalls(r)[0].function.arguments)).toThrow();
  });
});

describe("defect 5: streamed tool-call arguments are the same compact JSON as non-streamed ones", () => {
  it.each(SEEDS.slice(0, 3))("seed %i", async (seed) => {
    const params = { model: "demo", messages: user("go"), tools: [lookup], tool_choice: named, max_tokens: 300, seed, temperature: 0.9 };
    const whole = functionCalls(await client.chat.completions.create(params));
    const { calls } = await streamedCalls(params);
    expect(calls).toHaveLength(1);
    const args = calls[0].args;
    // Compact: nothing but the JSON (no whitespace outside strings, no trailing "\n\n\n\n").
    expect(args).toBe(args.trim());
    expect(args).toBe(new JsonCompactor().push(args));
    expect(JSON.parse(args)).toEqual(JSON.parse(whole[0].function.arguments));
    expect(whole[0].function.arguments).toBe(JSON.stringify(JSON.parse(args)));
  });
});

describe("defect 4: json_schema output keeps to the schema's number types and bounds", () => {
  const format = (schema: Record<string, unknown>) => ({ type: "json_schema" as const, json_schema: { name: "out", schema, strict: true } });
  const numbers = {
    type: "object",
    properties: { age: { type: "integer" }, score: { type: "number" }, ids: { type: "array", items: { type: "integer" }, maxItems: 3 } },
    required: ["age", "score", "ids"],
    additionalProperties: false,
  };

  it.each(SEEDS)("integers have no fraction or exponent, numbers no exponent (seed %i)", async (seed) => {
    const r = await client.chat.completions.create({ model: "demo", messages: user("numbers"), max_tokens: 400, seed, response_format: format(numbers) });
    expect(r.choices[0].finish_reason).toBe("stop");
    const text = r.choices[0].message.content!;
    expect(text).not.toMatch(/[eE][-+]?\d/);
    const value = JSON.parse(text);
    expect(Number.isSafeInteger(value.age)).toBe(true);
    expect(Number.isFinite(value.score)).toBe(true);
    for (const id of value.ids) expect(Number.isSafeInteger(id)).toBe(true);
  });

  it.each(SEEDS)("an answer outside maximum is never served as valid (seed %i)", async (seed) => {
    const schema = { type: "object", properties: { age: { type: "integer", minimum: 0, maximum: 120 } }, required: ["age"], additionalProperties: false };
    const r = await client.chat.completions
      .create({ model: "demo", messages: user("age"), max_tokens: 100, seed, response_format: format(schema) })
      .catch((e) => e);
    if (r instanceof OpenAI.APIError) {
      expect(r.status).toBe(500);
      expect(r.code).toBe("schema_validation_failed");
    } else {
      const age = JSON.parse(r.choices[0].message.content!).age;
      expect(Number.isInteger(age) && age >= 0 && age <= 120).toBe(true);
    }
  });

  it("an answer cut by max_tokens is finish_reason length with the partial text", async () => {
    const r = await client.chat.completions.create({ model: "demo", messages: user("numbers"), max_tokens: 4, seed: 1, response_format: format(numbers) });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.choices[0].message.content!.startsWith("{")).toBe(true);
  });

  it("an answer cut by a stop sequence is served, not a 500", async () => {
    const r = await client.chat.completions.create({
      model: "demo",
      messages: user("numbers"),
      max_tokens: 400,
      seed: 1,
      stop: ['"score"'],
      response_format: format(numbers),
    });
    expect(r.choices[0].finish_reason).toBe("stop");
    expect(r.choices[0].message.content!.startsWith("{")).toBe(true);
  });
});
