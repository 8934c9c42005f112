/**
 * The Vercel AI SDK's default OpenAI provider, `createOpenAI(...)(modelId)`, which speaks the
 * Responses API (issue 14: it failed with `RetryError ... /v1/responses -> 501`), against the demo
 * model and an openai-compatible upstream (helpers/fake-chat-upstream.ts): generateText, streamText,
 * generateObject with a zod schema, and a tool call. A fetch wrapper records the paths the SDK
 * called, so the tests prove it went through /v1/responses. Answers and events are checked against
 * the spec by test/setup-response-validation.ts (the SDK calls the global fetch).
 */
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import type { TestServer } from "./helpers/server.js";
import { chatRequests, startFakeChatUpstream, textOf } from "./helpers/fake-chat-upstream.js";
import type { FakeUpstream } from "./helpers/upstream-server.js";
import { BACKENDS, responsesConfigDir, startResponsesServer } from "./helpers/fake-chat-upstream-gateway.js";

let upstream: FakeUpstream;
let server: TestServer;
let openai: ReturnType<typeof createOpenAI>;
/** `METHOD path` of every request the SDK made, and the JSON bodies it sent. */
const calls: string[] = [];
const bodies: any[] = [];

beforeAll(async () => {
  upstream = await startFakeChatUpstream();
  server = await startResponsesServer(await responsesConfigDir(upstream.url));
  const recordingFetch: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push(`${init?.method ?? (input instanceof Request ? input.method : "GET")} ${url.pathname}`);
    if (typeof init?.body === "string") bodies.push(JSON.parse(init.body));
    // The global fetch at call time: the spec-checking one that setup-response-validation.ts installs.
    return globalThis.fetch(input, init);
  };
  openai = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", fetch: recordingFetch });
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});
beforeEach(() => {
  calls.splice(0);
  bodies.splice(0);
});

/** Every call this test made went to POST /v1/responses (and there was at least one). */
function expectResponsesCalls(n?: number): void {
  expect(calls.length).toBeGreaterThan(0);
  if (n !== undefined) expect(calls).toHaveLength(n);
  expect(new Set(calls)).toEqual(new Set(["POST /v1/responses"]));
}

const weather = tool({
  description: "Weather for a city",
  inputSchema: z.object({ city: z.string().max(10) }),
  execute: async ({ city }) => ({ city, temperature: 21 }),
});

describe.each(BACKENDS)("the AI SDK's openai(modelId) on %s", (model) => {
  it("generateText answers text, usage and a finish reason", async () => {
    const r = await generateText({ model: openai(model), prompt: "Say hello", maxOutputTokens: 24, maxRetries: 0 });
    expectResponsesCalls(1);
    expect(typeof r.text).toBe("string");
    expect(["stop", "length"]).toContain(r.finishReason);
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    expect(r.response.id).toMatch(/^resp_/);
    if (model === "up") {
      expect(r.text).toBe("reply to Say hello");
      expect(r.finishReason).toBe("stop");
    }
  });

  it("generateText with a system prompt and messages", async () => {
    const r = await generateText({
      model: openai(model),
      system: "Be brief.",
      messages: [
        { role: "user", content: "first" },
        { role: "assistant", content: "ok" },
        { role: "user", content: [{ type: "text", text: "second" }] },
      ],
      maxOutputTokens: 16,
      maxRetries: 0,
    });
    expectResponsesCalls(1);
    if (model === "up") {
      expect(r.text).toBe("reply to second");
      expect(
        chatRequests(upstream)
          .at(-1)!
          .body.messages.map((m: { role: string }) => m.role),
      ).toEqual([expect.stringMatching(/^(system|developer)$/), "user", "assistant", "user"]);
    }
  });

  it("streamText: the text stream joins to the final text; fullStream ends with finish", async () => {
    const result = streamText({ model: openai(model), prompt: "Tell me a story", maxOutputTokens: 40, maxRetries: 0 });
    let streamed = "";
    for await (const delta of result.textStream) streamed += delta;
    expect(streamed).toBe(await result.text);
    expect(["stop", "length"]).toContain(await result.finishReason);
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    if (model === "up") expect(streamed).toBe("reply to Tell me a story");

    const again = streamText({ model: openai(model), prompt: "Again", maxOutputTokens: 16, maxRetries: 0 });
    const types: string[] = [];
    for await (const part of again.fullStream) types.push(part.type);
    expect(types).not.toContain("error");
    expect(types[0]).toBe("start");
    expect(types.at(-1)).toBe("finish");
    expect(types).toEqual(expect.arrayContaining(["text-start", "text-delta", "text-end", "finish-step"]));
    expectResponsesCalls(2);
  });

  it("generateObject with a zod schema answers an object of that schema", async () => {
    const schema = z.object({ city: z.string().max(10), temperature: z.number(), sunny: z.boolean() });
    const r = await generateObject({ model: openai(model), schema, prompt: "Weather in Paris", maxOutputTokens: 120, maxRetries: 0 });
    expectResponsesCalls(1);
    expect(schema.parse(r.object)).toEqual(r.object);
    if (model === "up") expect(chatRequests(upstream).at(-1)!.body.response_format).toMatchObject({ type: "json_schema" });
  });

  it("a tool call: toolCalls and the executed toolResults", async () => {
    // The upstream decides to call the tool; the demo model is made to.
    const toolChoice = model === "up" ? ("auto" as const) : ({ type: "tool", toolName: "weather" } as const);
    const r = await generateText({ model: openai(model), prompt: "Weather in Paris?", tools: { weather }, toolChoice, maxOutputTokens: 80, maxRetries: 0 });
    expectResponsesCalls(1);
    expect(r.finishReason).toBe("tool-calls");
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]).toMatchObject({ toolName: "weather", toolCallId: expect.any(String) });
    expect(typeof (r.toolCalls[0].input as { city?: unknown }).city).toBe("string");
    expect(r.toolResults).toHaveLength(1);
    expect(r.toolResults[0]).toMatchObject({ toolName: "weather", toolCallId: r.toolCalls[0].toolCallId, output: { temperature: 21 } });
  });
});

describe.each(BACKENDS)("a second turn with the AI SDK on %s", (model) => {
  const texts = () =>
    chatRequests(upstream)
      .at(-1)!
      .body.messages.map((m: { role: string; content: unknown }) => [m.role, textOf(m.content)]);

  it("with the first turn's response.messages: the SDK refers to its stored items (item_reference)", async () => {
    const first = await generateText({ model: openai(model), prompt: "one", maxOutputTokens: 16, maxRetries: 0 });
    const second = await generateText({
      model: openai(model),
      messages: [{ role: "user", content: "one" }, ...first.response.messages, { role: "user", content: "two" }],
      maxOutputTokens: 16,
      maxRetries: 0,
    });
    expectResponsesCalls(2);
    expect(bodies[1].input.map((i: { type?: string; role?: string }) => i.type ?? i.role)).toEqual(["user", "item_reference", "user"]);
    expect(second.response.id).toMatch(/^resp_/);
    if (model === "up") {
      expect(texts()).toEqual([
        ["user", "one"],
        ["assistant", "reply to one"],
        ["user", "two"],
      ]);
    }
  });

  it("with providerOptions.openai.previousResponseId", async () => {
    const first = await generateText({ model: openai(model), prompt: "one", maxOutputTokens: 16, maxRetries: 0 });
    const previousResponseId = first.providerMetadata?.openai?.responseId as string;
    expect(previousResponseId).toBe(first.response.id);
    await generateText({ model: openai(model), prompt: "two", maxOutputTokens: 16, maxRetries: 0, providerOptions: { openai: { previousResponseId } } });
    expectResponsesCalls(2);
    expect(bodies[1].previous_response_id).toBe(previousResponseId);
    if (model === "up") {
      expect(texts()).toEqual([
        ["user", "one"],
        ["assistant", "reply to one"],
        ["user", "two"],
      ]);
    }
  });
});

describe("the AI SDK's tool loop on the upstream", () => {
  it("sends the tool result back (function_call_output) and ends with the upstream's text", async () => {
    const r = await generateText({ model: openai("up"), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
    expectResponsesCalls(2);
    expect(r.steps).toHaveLength(2);
    expect(r.steps[0].toolCalls).toHaveLength(1);
    expect(r.text).toBe("reply to Weather in Paris?");
    expect(r.finishReason).toBe("stop");
    const sent = chatRequests(upstream).at(-1)!.body.messages;
    expect(sent.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(sent[2].tool_call_id).toBe(r.steps[0].toolCalls[0].toolCallId);
  });

  it("streamText with a tool: tool-call and tool-result parts, then the final text", async () => {
    const result = streamText({ model: openai("up"), prompt: "Weather in Paris?", tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
    const types: string[] = [];
    for await (const part of result.fullStream) types.push(part.type);
    expect(types).toEqual(expect.arrayContaining(["tool-call", "tool-result", "text-delta", "finish"]));
    expect(await result.text).toBe("reply to Weather in Paris?");
    expect((await result.toolResults).length + (await result.steps)[0].toolResults.length).toBeGreaterThan(0);
    expectResponsesCalls(2);
  });
});
