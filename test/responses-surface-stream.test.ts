/**
 * Streamed `/v1/responses` through chat (issue 14): the semantic event sequence and its
 * sequence numbers on an openai-compatible loopback upstream and on the demo model (llama-cpp),
 * response.failed for a failure after the first byte, and a store that cannot write failing the
 * request rather than losing the response. Every event is checked against the spec's
 * ResponseStreamEvent by test/setup-response-validation.ts.
 */
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { startTestServer, testResponseStore, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { chatChunk, data, startFakeUpstream, startSse, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";
import { parseSse, type SseEvent } from "./helpers/sse-text.js";
import type { ResponseStore, StoredResponse } from "../src/stores/response-store.js";

const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };

/** A real store whose writes can be made to fail. */
class FlakyStore implements ResponseStore {
  failWrites = false;
  constructor(private readonly inner: ResponseStore) {}
  put(record: StoredResponse) {
    return this.failWrites ? Promise.reject(new Error("disk full")) : this.inner.put(record);
  }
  get(id: string) {
    return this.inner.get(id);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  close() {
    return this.inner.close();
  }
}

let upstream: FakeUpstream;
let store: FlakyStore;
let gw: TestServer;
let demo: TestServer;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  store = new FlakyStore(testResponseStore());
  const configDir = gatewayConfigDir({
    providers: [{ id: "up", type: "openai-compatible", profile: "vllm", endpoints: [{ url: upstream.url }], retry }],
    models: { m: { provider: "up", upstream_model: "up-model" } },
  });
  gw = await startTestServer({ configDir, responses: store });
  demo = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo") }) });
}, 60_000);
afterAll(async () => {
  await gw.close();
  gw.config.current().retire();
  await store.close();
  await demo.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.route(undefined);
  store.failWrites = false;
});

async function stream(server: TestServer, body: Record<string, unknown>): Promise<{ status: number; type: string | null; events: SseEvent[] }> {
  const res = await fetch(`${server.url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ stream: true, ...body }),
  });
  return { status: res.status, type: res.headers.get("content-type"), events: parseSse(await res.text()) };
}

/** Each frame's `event:` is its data's type, and the sequence numbers count from 0 without a gap. */
function expectSequenced(events: SseEvent[]): string[] {
  events.forEach((e, i) => {
    expect(e.event).toBe(e.data.type);
    expect(e.data.sequence_number).toBe(i);
  });
  return events.map((e) => e.data.type);
}

const TEXT_ITEM = [
  "response.output_item.added",
  "response.content_part.added",
  "response.output_text.delta",
  "response.output_text.delta",
  "response.output_text.done",
  "response.content_part.done",
  "response.output_item.done",
];

describe("streaming from an openai-compatible upstream", () => {
  it("sends the documented events in order, asks the upstream for usage, and ends with response.completed", async () => {
    const res = await stream(gw, { model: "m", input: "hi" });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/event-stream/);
    expect(upstream.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(expectSequenced(res.events)).toEqual(["response.created", "response.in_progress", ...TEXT_ITEM, "response.completed"]);
    const created = res.events[0].data.response;
    expect(created).toMatchObject({ status: "in_progress", output: [], model: "m" });
    const deltas = res.events.filter((e) => e.data.type === "response.output_text.delta").map((e) => e.data.delta);
    expect(deltas.join("")).toBe("Hello world");
    const done = res.events.at(-1)!.data.response;
    expect(done).toMatchObject({ id: created.id, status: "completed", output: [{ type: "message", status: "completed", content: [{ text: "Hello world" }] }] });
    expect(done.usage).toMatchObject({ input_tokens: 3, output_tokens: 2, total_tokens: 5 });
    // Stored before response.completed was sent.
    expect((await gw.client.responses.retrieve(created.id)).status).toBe("completed");
  });

  it("streams text then a function call: the message closes first, the call's arguments arrive as deltas", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      const m = req.body.model;
      await writeFrames(res, [
        data(chatChunk(m, { role: "assistant", content: "Let me look." })),
        data(chatChunk(m, { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] })),
        data(chatChunk(m, { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
        data(chatChunk(m, { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })),
        data(chatChunk(m, {}, "tool_calls")),
        data({ ...chatChunk(m, {}), choices: [], usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 } }),
        "data: [DONE]\n\n",
      ]);
    });
    const res = await stream(gw, {
      model: "m",
      input: "Weather?",
      tools: [{ type: "function", name: "get_weather", parameters: { type: "object" }, strict: false }],
    });
    expect(expectSequenced(res.events)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const argsDone = res.events.find((e) => e.data.type === "response.function_call_arguments.done")!.data;
    expect(argsDone).toMatchObject({ name: "get_weather", arguments: '{"city":"Paris"}', output_index: 1 });
    const final = res.events.at(-1)!.data.response;
    expect(final.output.map((i: { type: string }) => i.type)).toEqual(["message", "function_call"]);
    expect(final.output[1]).toMatchObject({ call_id: "call_1", arguments: '{"city":"Paris"}', status: "completed" });
    expect(final.usage).toMatchObject({ input_tokens: 20, output_tokens: 7 });
  });

  it("ends with response.incomplete when the upstream stopped at the length limit", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await writeFrames(res, [data(chatChunk(req.body.model, { content: "Once" })), data(chatChunk(req.body.model, {}, "length")), "data: [DONE]\n\n"]);
    });
    const res = await stream(gw, { model: "m", input: "A story", max_output_tokens: 16 });
    const last = res.events.at(-1)!.data;
    expect(last.type).toBe("response.incomplete");
    expect(last.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
  });

  it("says a failure after the first byte as response.failed, with the output so far, and ends the stream", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await writeFrames(res, [data(chatChunk(req.body.model, { content: "Hel" }))], 0, false);
      await new Promise((r) => setTimeout(r, 20));
      res.destroy();
    });
    const res = await stream(gw, { model: "m", input: "hi" });
    expect(res.status).toBe(200);
    const types = expectSequenced(res.events);
    expect(types.slice(0, 5)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
    ]);
    expect(types.at(-1)).toBe("response.failed");
    expect(types).not.toContain("response.completed");
    const failed = res.events.at(-1)!.data.response;
    expect(failed).toMatchObject({ status: "failed", error: { code: "server_error" } });
    expect(typeof failed.error.message).toBe("string");
    expect(failed.output[0]).toMatchObject({ type: "message", status: "in_progress" });
  });
});

describe("a store that cannot write", () => {
  it("fails a JSON request (503 store_unavailable) rather than answer a response it did not keep", async () => {
    store.failWrites = true;
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", input: "hi" }),
    });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({ code: "store_unavailable" });
  });

  it("ends a stream with response.failed after the last delta, never response.completed", async () => {
    store.failWrites = true;
    const res = await stream(gw, { model: "m", input: "hi" });
    const types = expectSequenced(res.events);
    expect(types).toContain("response.output_text.done");
    expect(types.at(-1)).toBe("response.failed");
    expect(types).not.toContain("response.completed");
  });

  it("is not needed with store: false", async () => {
    store.failWrites = true;
    const res = await stream(gw, { model: "m", input: "hi", store: false });
    expect(res.events.at(-1)!.data.type).toBe("response.completed");
  });
});

describe("streaming from the demo model (llama-cpp)", () => {
  it("sends the documented events with increasing sequence numbers, then response.incomplete at max_output_tokens", async () => {
    const res = await stream(demo, { model: "demo", input: "Tell me a story", max_output_tokens: 16 });
    expect(res.status).toBe(200);
    const types = expectSequenced(res.events);
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"]);
    expect(types.filter((t) => t === "response.output_text.delta").length).toBeGreaterThan(0);
    const final = res.events.at(-1)!.data.response;
    expect(final).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, model: "demo" });
    expect(final.usage.output_tokens).toBe(16);
    const text = res.events.filter((e) => e.data.type === "response.output_text.delta").map((e) => e.data.delta);
    expect(final.output[0].content[0].text).toBe(text.join(""));
  });

  it("answers the same shape without streaming", async () => {
    const res = await demo.client.responses.create({
      model: "demo",
      input: [{ role: "user", content: [{ type: "input_text", text: "Hi" }] }],
      max_output_tokens: 16,
    });
    expect(res).toMatchObject({ object: "response", status: "incomplete", model: "demo" });
    expect(res.output[0]).toMatchObject({ type: "message", role: "assistant" });
    expect(res.usage!.output_tokens).toBe(16);
  });
});
