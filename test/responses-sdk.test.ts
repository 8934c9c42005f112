/**
 * OpenAI's Responses API (`/v1/responses`, issue 14) through the `openai` SDK, on the llama-cpp demo
 * model (gibberish: shapes, counts, statuses and events only) and on an openai-compatible upstream
 * (the loopback fake of helpers/fake-chat-upstream.ts, which decides tool calls and JSON itself):
 * create with a string, items, instructions, a strict JSON schema and a function-tool round trip;
 * retrieve, delete, input_items; the 400s and 404s (streams: responses-sdk-stream.test.ts).
 * Every answer and event is checked against the spec by test/setup-response-validation.ts.
 */
import OpenAI from "openai";
import { chatRequests, textOf } from "./helpers/fake-chat-upstream.js";
import { BACKENDS, responsesGatewayForFile, outputText, rejection, weatherTool, type Backend } from "./helpers/fake-chat-upstream-gateway.js";

const gw = responsesGatewayForFile();

const lastUpstream = () => chatRequests(gw.upstream).at(-1)!.body;
const weatherSchema = {
  type: "object",
  properties: { city: { type: "string", maxLength: 10 }, temperature: { type: "number" }, sunny: { type: "boolean" } },
  required: ["city", "temperature", "sunny"],
  additionalProperties: false,
};

/** The checks every completed response passes, on any backend. */
function expectCompleted(r: OpenAI.Responses.Response, model: Backend): void {
  expect(r).toMatchObject({ object: "response", status: "completed", model, error: null, incomplete_details: null });
  expect(r.id).toMatch(/^resp_/);
  expect(Number.isInteger(r.created_at)).toBe(true);
  expect(r.output.length).toBeGreaterThan(0);
  for (const item of r.output) expect(item.id).toEqual(expect.any(String));
  expect(r.usage!.input_tokens).toBeGreaterThan(0);
  expect(r.usage!.output_tokens).toBeGreaterThan(0);
  expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
}
describe.each(BACKENDS)("responses.create on %s", (model) => {
  it("answers a string input with one assistant message of output_text", async () => {
    const r = await gw.client.responses.create({ model, input: "Say hello", max_output_tokens: 24 });
    expect(["completed", "incomplete"]).toContain(r.status);
    if (r.status === "completed") expectCompleted(r, model);
    expect(r.output.every((i) => i.type === "message")).toBe(true);
    const message = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect(message).toMatchObject({ type: "message", role: "assistant" });
    expect(message.id).toMatch(/^msg_/);
    expect(message.content.map((c) => c.type)).toEqual(["output_text"]);
    expect(r.output_text).toBe(outputText(r));
    if (model === "up") {
      expect(r.output_text).toBe("reply to Say hello");
      expect(lastUpstream().messages).toEqual([{ role: "user", content: "Say hello" }]);
      expect(lastUpstream().max_tokens ?? lastUpstream().max_completion_tokens).toBe(24);
    }
  });

  it("takes message items with input_text parts, and easy messages", async () => {
    const input: OpenAI.Responses.ResponseInput = [
      { type: "message", role: "user", content: [{ type: "input_text", text: "first" }] },
      { role: "assistant", content: "ok" },
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: "second" },
          { type: "input_text", text: " part" },
        ],
      },
    ];
    const r = await gw.client.responses.create({ model, input, max_output_tokens: 16 });
    expect(r.output[0].type).toBe("message");
    if (model === "up") {
      expect(r.output_text).toBe("reply to second part");
      const sent = lastUpstream().messages;
      expect(sent.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
      expect(sent.map((m: { content: unknown }) => textOf(m.content))).toEqual(["first", "ok", "second part"]);
    }
  });

  it("puts instructions first, as a system or developer message", async () => {
    const plain = await gw.client.responses.create({ model, input: "hi", max_output_tokens: 16 });
    const r = await gw.client.responses.create({ model, input: "hi", instructions: "Answer in one short sentence, politely.", max_output_tokens: 16 });
    expect(r.instructions).toBe("Answer in one short sentence, politely.");
    expect(r.usage!.input_tokens).toBeGreaterThan(plain.usage!.input_tokens);
    if (model === "up") {
      const [first, second] = lastUpstream().messages;
      expect(["system", "developer"]).toContain(first.role);
      expect(textOf(first.content)).toBe("Answer in one short sentence, politely.");
      expect(second).toEqual({ role: "user", content: "hi" });
    }
  });

  it("text.format json_schema strict: output_text parses and matches the schema", async () => {
    const r = await gw.client.responses.create({
      model,
      input: "Weather in Paris as JSON",
      max_output_tokens: 120,
      text: { format: { type: "json_schema", name: "weather", strict: true, schema: weatherSchema } },
    });
    expectCompleted(r, model);
    expect(r.text?.format).toMatchObject({ type: "json_schema", name: "weather", strict: true });
    const value = JSON.parse(r.output_text);
    expect(Object.keys(value).sort()).toEqual(["city", "sunny", "temperature"]);
    expect(typeof value.city).toBe("string");
    expect(value.city.length).toBeLessThanOrEqual(10);
    expect(typeof value.temperature).toBe("number");
    expect(typeof value.sunny).toBe("boolean");
    if (model === "up")
      expect(lastUpstream().response_format).toMatchObject({ type: "json_schema", json_schema: { name: "weather", strict: true, schema: weatherSchema } });
  });

  it("completes a function-tool round trip: function_call, then function_call_output, then text", async () => {
    // The upstream decides to call the tool itself; the demo model is made to.
    const tool_choice: OpenAI.Responses.ResponseCreateParams["tool_choice"] = model === "up" ? "auto" : { type: "function", name: "get_weather" };
    const question: OpenAI.Responses.ResponseInputItem = { role: "user", content: "What is the weather in Paris?" };
    const first = await gw.client.responses.create({
      model,
      input: [question],
      tools: [weatherTool],
      tool_choice,
      parallel_tool_calls: false,
      max_output_tokens: 80,
    });
    expectCompleted(first, model);
    const calls = first.output.filter((i): i is OpenAI.Responses.ResponseFunctionToolCall => i.type === "function_call");
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    expect(call.call_id).toEqual(expect.any(String));
    expect(typeof JSON.parse(call.arguments).city).toBe("string");
    // The upstream's own call id comes through (the fake names them `call_fake_<request number>`).
    if (model === "up") expect(call.call_id).toBe(`call_fake_${gw.upstream.requests.length}`);

    const output = { type: "function_call_output" as const, call_id: call.call_id, output: JSON.stringify({ temperature: 21 }) };
    const second = await gw.client.responses.create({
      model,
      input: [question, ...first.output, output] as OpenAI.Responses.ResponseInput,
      tools: [weatherTool],
      tool_choice: "none",
      max_output_tokens: 24,
    });
    expect(["completed", "incomplete"]).toContain(second.status);
    expect(second.output.map((i) => i.type)).toEqual(["message"]);
    if (model === "up") {
      expect(second.output_text).toBe("reply to What is the weather in Paris?");
      const sent = lastUpstream().messages;
      expect(sent.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "tool"]);
      expect(sent[1].tool_calls).toEqual([{ id: call.call_id, type: "function", function: { name: "get_weather", arguments: call.arguments } }]);
      expect(sent[2]).toMatchObject({ tool_call_id: call.call_id });
      expect(textOf(sent[2].content)).toBe('{"temperature":21}');
    }
  });
});

describe.each(BACKENDS)("stored responses on %s", (model) => {
  it("retrieve answers the response as created", async () => {
    const r = await gw.client.responses.create({ model, input: "hi", max_output_tokens: 16, metadata: { case: "retrieve" } });
    const got = await gw.client.responses.retrieve(r.id);
    for (const key of ["id", "object", "created_at", "status", "model", "output", "usage", "metadata"] as const) expect(got[key]).toEqual(r[key]);
    expect(got.metadata).toEqual({ case: "retrieve" });
  });

  it("input_items lists this turn's items with ids, newest first by default, oldest first with order=asc", async () => {
    const input: OpenAI.Responses.ResponseInput = [
      { role: "developer", content: "Be brief." },
      { type: "message", role: "user", content: [{ type: "input_text", text: "hello" }] },
    ];
    const r = await gw.client.responses.create({ model, input, max_output_tokens: 16 });
    const asc = await gw.client.responses.inputItems.list(r.id, { order: "asc" });
    expect(asc.data).toHaveLength(2);
    expect(asc.data.map((i) => (i as OpenAI.Responses.ResponseInputMessageItem).role)).toEqual(["developer", "user"]);
    for (const item of asc.data) expect(item).toMatchObject({ type: "message", id: expect.any(String) });
    const userItem = asc.data[1] as OpenAI.Responses.ResponseInputMessageItem;
    expect(userItem.content).toEqual([{ type: "input_text", text: "hello" }]);
    const desc = await gw.client.responses.inputItems.list(r.id);
    expect(desc.data.map((i) => i.id)).toEqual(asc.data.map((i) => i.id).reverse());
    const page = await gw.client.responses.inputItems.list(r.id, { order: "asc", limit: 1 });
    expect(page.data.map((i) => i.id)).toEqual([asc.data[0].id]);
    expect(page.has_more).toBe(true);
    const all = [];
    for await (const item of gw.client.responses.inputItems.list(r.id, { order: "asc", limit: 1 })) all.push(item.id);
    expect(all).toEqual(asc.data.map((i) => i.id));
  });

  it("delete removes it: retrieve, input_items and a second delete answer 404", async () => {
    const r = await gw.client.responses.create({ model, input: "bye", max_output_tokens: 16 });
    const res = await fetch(`${gw.server.url}/v1/responses/${r.id}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: r.id, object: "response", deleted: true });
    const gone = await rejection(gw.client.responses.retrieve(r.id), OpenAI.NotFoundError);
    expect(gone.message).toContain(r.id);
    await rejection(gw.client.responses.inputItems.list(r.id), OpenAI.NotFoundError);
    await rejection(gw.client.responses.delete(r.id), OpenAI.NotFoundError);
  });

  it("store: false keeps nothing: retrieve is a 404", async () => {
    const r = await gw.client.responses.create({ model, input: "secret", max_output_tokens: 16, store: false });
    expect(r.id).toMatch(/^resp_/);
    await rejection(gw.client.responses.retrieve(r.id), OpenAI.NotFoundError);
  });
});

describe("what the server refuses", () => {
  it.each([
    ["web_search", { type: "web_search" }],
    ["file_search", { type: "file_search", vector_store_ids: ["vs_1"] }],
    ["code_interpreter", { type: "code_interpreter", container: { type: "auto" } }],
    ["image_generation", { type: "image_generation" }],
  ])("a built-in tool (%s) is a 400 naming tools", async (_name, tool) => {
    for (const model of BACKENDS) {
      const err = await rejection(gw.client.responses.create({ model, input: "hi", tools: [tool as OpenAI.Responses.Tool] }), OpenAI.BadRequestError);
      expect(`${err.param ?? ""} ${err.message}`).toMatch(/tools/);
    }
  });

  it.each([
    ["background", { background: true }],
    ["reasoning", { reasoning: { effort: "high" } }],
  ])("%s is a 400 naming the field", async (field, extra) => {
    const err = await rejection(
      gw.client.responses.create({ model: "up", input: "hi", ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming),
      OpenAI.BadRequestError,
    );
    expect(`${err.param ?? ""} ${err.message}`).toContain(field);
  });

  it("an unknown previous_response_id is a 404 in OpenAI's shape", async () => {
    const err = await rejection(gw.client.responses.create({ model: "up", input: "hi", previous_response_id: "resp_doesnotexist" }), OpenAI.NotFoundError);
    expect(err.message).toContain("resp_doesnotexist");
    expect((err.error as { type?: string }).type).toBe("invalid_request_error");
    await rejection(gw.client.responses.retrieve("resp_doesnotexist"), OpenAI.NotFoundError);
  });
});
