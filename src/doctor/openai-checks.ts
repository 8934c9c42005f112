/** The per-model checks of OpenAI's API: models, chat (plain, streamed, usage, stop, length, JSON, tools), embeddings, errors. */
import { expect, type Check, type CheckContext } from "./check-types.js";
import { chatJson, chatStream, expectApiError, HELLO, sdkOptions, streamedText } from "./openai-calls.js";
import { expectSchema } from "./schema-check.js";
import { jsonBody } from "./wire.js";

/** Enough tokens for the tiny JSON answers below (`{"ok": true}`), so that they are judged whole. */
const JSON_MAX_TOKENS = 48;
const FINISH_REASONS = ["stop", "length"];

const retrieve: Check = {
  name: "models.retrieve",
  async run(ctx) {
    const res = await ctx.client.models.retrieve(ctx.model, sdkOptions(ctx)).asResponse();
    const body = await jsonBody(res, 200, "model");
    expectSchema("Model", body, "model");
    expect(body.id === ctx.model, `retrieve answered id ${JSON.stringify(body.id)}`);
  },
};

const chat: Check = {
  name: "chat",
  needs: "chat",
  async run(ctx) {
    const body = await chatJson(ctx);
    const finish = body.choices[0].finish_reason;
    expect(FINISH_REASONS.includes(finish), `finish_reason ${finish} (expected stop or length)`);
    expect(body.model !== undefined, "no model");
  },
};

const chatStreamed: Check = {
  name: "chat.stream",
  needs: "chat",
  async run(ctx) {
    const s = await chatStream(ctx);
    expect(FINISH_REASONS.includes(s.finish), `finish_reason ${s.finish} (expected stop or length)`);
    expect(
      s.chunks.every((c) => c.usage == null),
      "usage sent without stream_options.include_usage",
    );
  },
};

const includeUsage: Check = {
  name: "stream.include_usage",
  needs: "chat",
  async run(ctx) {
    const s = await chatStream(ctx, { stream_options: { include_usage: true } });
    const last = s.chunks.at(-1);
    expect(last.usage != null, "the last chunk carries no usage");
    expect(last.choices.length === 0, `the usage chunk has ${last.choices.length} choices (expected none)`);
    expect(last.usage.total_tokens === last.usage.prompt_tokens + last.usage.completion_tokens, "usage.total_tokens is not prompt + completion");
    expect(
      s.chunks.slice(0, -1).every((c) => c.usage == null),
      "a chunk before the last carries usage",
    );
  },
};

// The demo model's words are separated by spaces: a space stop sequence is met quickly on most models.
const STOP = " ";
const stop: Check = {
  name: "stop",
  needs: "chat",
  async run(ctx) {
    const body = await chatJson(ctx, { stop: [STOP] });
    const { finish_reason, message } = body.choices[0];
    expect(FINISH_REASONS.includes(finish_reason), `finish_reason ${finish_reason}`);
    expect(!(message.content ?? "").includes(STOP), "the answer contains its stop sequence");
    const s = await chatStream(ctx, { stop: STOP });
    expect(!streamedText(s).includes(STOP), "the streamed answer contains its stop sequence");
  },
};

const LENGTH_TOKENS = 2;
const maxTokens: Check = {
  name: "max_tokens",
  needs: "chat",
  async run(ctx) {
    const body = await chatJson(ctx, { max_tokens: LENGTH_TOKENS });
    const used = body.usage?.completion_tokens;
    expect(typeof used !== "number" || used <= LENGTH_TOKENS, `completion_tokens ${used} > max_tokens ${LENGTH_TOKENS}`);
    const finish = body.choices[0].finish_reason;
    // Ending sooner than the budget is a legitimate `stop`; reaching it must say `length`.
    if (finish === "stop" && typeof used === "number" && used < LENGTH_TOKENS) return "ended before max_tokens";
    expect(finish === "length", `finish_reason ${finish} at max_tokens ${LENGTH_TOKENS} (expected length)`);
  },
};

/** The content of a JSON-mode answer, parsed; a cut answer (`length`) has nothing to judge. */
function parsedContent(body: any): unknown {
  const { finish_reason, message } = body.choices[0];
  if (finish_reason === "length") return undefined;
  expect(finish_reason === "stop", `finish_reason ${finish_reason}`);
  try {
    return JSON.parse(message.content ?? "");
  } catch {
    expect(false, `content is not JSON: ${JSON.stringify(String(message.content).slice(0, 80))}`);
  }
}

const jsonObject: Check = {
  name: "json_object",
  needs: "chat",
  async run(ctx) {
    const messages = [{ role: "user" as const, content: "Answer in JSON." }];
    const body = await chatJson(ctx, { messages, max_tokens: JSON_MAX_TOKENS, response_format: { type: "json_object" } });
    const value = parsedContent(body);
    if (value === undefined) return `cut at max_tokens ${JSON_MAX_TOKENS}: not parsed`;
    expect(typeof value === "object" && value !== null && !Array.isArray(value), "content is JSON but not an object");
  },
};

const OK_SCHEMA = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
const jsonSchema: Check = {
  name: "json_schema",
  needs: "json_schema",
  async run(ctx) {
    const response_format = { type: "json_schema" as const, json_schema: { name: "answer", strict: true, schema: OK_SCHEMA } };
    const body = await chatJson(ctx, { max_tokens: JSON_MAX_TOKENS, response_format });
    const value = parsedContent(body) as Record<string, unknown> | undefined;
    if (value === undefined) return `cut at max_tokens ${JSON_MAX_TOKENS}: not parsed`;
    expect(typeof value?.ok === "boolean" && Object.keys(value).length === 1, `content does not match the schema: ${JSON.stringify(value).slice(0, 80)}`);
  },
};

const TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } }, required: ["city"], additionalProperties: false },
  },
};
const TOOL_REQUEST = { tools: [TOOL], tool_choice: { type: "function" as const, function: { name: TOOL.function.name } }, max_tokens: JSON_MAX_TOKENS };
// OpenAI answers a forced function with `stop`; others say `tool_calls`.
const TOOL_FINISHES = ["tool_calls", "stop"];

function expectOneCall(calls: { id?: string; name?: string; arguments: string }[], finish: string): void {
  expect(TOOL_FINISHES.includes(finish), `finish_reason ${finish} (expected tool_calls or stop)`);
  expect(calls.length === 1, `${calls.length} tool calls for a forced function (expected 1)`);
  const [call] = calls;
  expect(typeof call.id === "string" && call.id !== "", "the tool call has no id");
  expect(call.name === TOOL.function.name, `the tool call names ${JSON.stringify(call.name)}`);
  let args: unknown;
  try {
    args = JSON.parse(call.arguments);
  } catch {
    expect(false, `arguments are not JSON: ${JSON.stringify(call.arguments.slice(0, 80))}`);
  }
  expect(typeof args === "object" && args !== null && !Array.isArray(args), "arguments are not a JSON object");
}

const tools: Check = {
  name: "tools",
  needs: "tools",
  async run(ctx) {
    const body = await chatJson(ctx, TOOL_REQUEST);
    const calls = (body.choices[0].message.tool_calls ?? []).map((c: any) => ({ id: c.id, name: c.function?.name, arguments: c.function?.arguments ?? "" }));
    expectOneCall(calls, body.choices[0].finish_reason);
  },
};

const toolsStreamed: Check = {
  name: "tools.stream",
  needs: "tools",
  async run(ctx) {
    const s = await chatStream(ctx, TOOL_REQUEST);
    const byIndex = new Map<number, { id?: string; name?: string; arguments: string }>();
    for (const chunk of s.chunks)
      for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const call = byIndex.get(d.index) ?? { arguments: "" };
        call.id ??= d.id;
        call.name ??= d.function?.name;
        call.arguments += d.function?.arguments ?? "";
        byIndex.set(d.index, call);
      }
    expectOneCall([...byIndex.values()], s.finish);
  },
};

const EMBED_INPUT = "understudy doctor";
async function embed(ctx: CheckContext, encoding_format: "float" | "base64"): Promise<any> {
  const res = await ctx.client.embeddings.create({ model: ctx.model, input: EMBED_INPUT, encoding_format }, sdkOptions(ctx)).asResponse();
  return jsonBody(res, 200, "embeddings");
}

const embeddingsFloat: Check = {
  name: "embeddings.float",
  needs: "embeddings",
  async run(ctx) {
    const body = await embed(ctx, "float");
    expectSchema("CreateEmbeddingResponse", body, "embeddings");
    const vector = body.data[0]?.embedding;
    expect(body.data.length === 1 && vector.length > 0, "expected one non-empty embedding");
    expect(vector.every(Number.isFinite), "the embedding has a non-finite value");
  },
};

const embeddingsBase64: Check = {
  name: "embeddings.base64",
  needs: "embeddings",
  async run(ctx) {
    const body = await embed(ctx, "base64");
    const raw = body?.data?.[0]?.embedding;
    expect(typeof raw === "string", `embedding is ${Array.isArray(raw) ? "an array" : typeof raw}, not a base64 string`);
    const bytes = Buffer.from(raw, "base64");
    expect(bytes.length > 0 && bytes.length % 4 === 0 && bytes.toString("base64") === raw, "embedding is not base64 of float32 values");
    const vector = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    // The spec describes the float form only: the decoded answer must match it.
    expectSchema("CreateEmbeddingResponse", { ...body, data: body.data.map((d: any) => ({ ...d, embedding: vector })) }, "decoded embeddings");
    expect(vector.every(Number.isFinite), "the embedding has a non-finite value");
    const floats = (await embed(ctx, "float")).data[0].embedding as number[];
    expect(floats.length === vector.length, `base64 decodes to ${vector.length} values, float gives ${floats.length}`);
  },
};

const invalidParam: Check = {
  name: "error.invalid_param",
  needs: "chat",
  async run(ctx) {
    const call = ctx.client.chat.completions.create({ model: ctx.model, messages: HELLO, max_tokens: 1, temperature: 5 }, sdkOptions(ctx));
    const error = await expectApiError(call, 400, "temperature 5");
    expect(error.param === "temperature", `param is ${JSON.stringify(error.param)} (expected "temperature")`);
  },
};

export const OPENAI_MODEL_CHECKS: Check[] = [
  retrieve,
  chat,
  chatStreamed,
  includeUsage,
  stop,
  maxTokens,
  jsonObject,
  jsonSchema,
  tools,
  toolsStreamed,
  embeddingsFloat,
  embeddingsBase64,
  invalidParam,
];
