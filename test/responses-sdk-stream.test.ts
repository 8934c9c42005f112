/**
 * Streamed Responses API answers (issue 14) through the `openai` SDK's `responses.stream`, on the demo
 * model and an openai-compatible upstream (helpers/fake-chat-upstream.ts): the documented event
 * sequence (helpers/fake-chat-upstream-gateway.ts checks it), the final response the SDK assembles,
 * response.incomplete at max_output_tokens, function-call arguments, and a call cut by the limit.
 * Every event is checked against the spec by test/setup-response-validation.ts.
 */
import OpenAI from "openai";
import { BACKENDS, responsesGatewayForFile, expectResponseEvents, outputText, weatherTool } from "./helpers/fake-chat-upstream-gateway.js";

const gw = responsesGatewayForFile();

describe.each(BACKENDS)("responses.stream on %s", (model) => {
  const collect = async (params: OpenAI.Responses.ResponseCreateParamsStreaming) => {
    const stream = gw.client.responses.stream(params);
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    return { events, final: await stream.finalResponse() };
  };

  it("streams the documented event sequence, and the SDK assembles the final response", async () => {
    const { events, final } = await collect({ model, input: "Tell me a story", max_output_tokens: 200, stream: true });
    const last = expectResponseEvents(events);
    expect(final.id).toBe(last.id);
    // The SDK adds `parsed: null` to each text part it assembles; everything else is the server's.
    expect(final.output).toMatchObject(last.output);
    expect(final.output_text).toBe(outputText(last));
    const types = events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(["response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done"]),
    );
    if (model === "up") expect(final.output_text).toBe("reply to Tell me a story");
    expect((await gw.client.responses.retrieve(final.id)).output).toEqual(last.output);
  });

  it("ends with response.incomplete when max_output_tokens cuts the answer", async () => {
    const long = "word ".repeat(40).trim();
    const { events, final } = await collect({ model, input: long, max_output_tokens: 16, stream: true });
    expect(events.at(-1)!.type).toBe("response.incomplete");
    expectResponseEvents(events);
    expect(final.status).toBe("incomplete");
    expect(final.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(final.usage!.output_tokens).toBe(16);
  });

  it("streams a function call's arguments", async () => {
    const tool_choice: OpenAI.Responses.ResponseCreateParams["tool_choice"] = model === "up" ? "auto" : "required";
    const { events, final } = await collect({
      model,
      input: "Weather in Paris?",
      tools: [weatherTool],
      tool_choice,
      parallel_tool_calls: false,
      max_output_tokens: 80,
      stream: true,
    });
    expectResponseEvents(events);
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["response.function_call_arguments.delta", "response.function_call_arguments.done"]));
    const call = final.output.find((i) => i.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: "get_weather", status: "completed" });
    expect(typeof JSON.parse(call.arguments).city).toBe("string");
  });

  it("streams parallel calls one item at a time, a completed call's arguments whole JSON", async () => {
    // The demo model goes on calling until max_output_tokens cuts it: several calls, the last one cut.
    const input = model === "up" ? "Weather in Paris and in Rome?" : "Weather?";
    const { events, final } = await collect({ model, input, tools: [weatherTool], tool_choice: "required", max_output_tokens: 120, stream: true });
    expectResponseEvents(events);
    const calls = final.output.filter((i) => i.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall[];
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) if (c.status === "completed") expect(() => JSON.parse(c.arguments)).not.toThrow();
  });
});

describe.each(BACKENDS)("a function call cut by max_output_tokens on %s", (model) => {
  // The upstream cuts a long call's arguments; the demo model goes on calling (parallel calls) until cut.
  const fields = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`field_${i}`, { type: "string" }]));
  const report: OpenAI.Responses.FunctionTool = {
    type: "function",
    name: "report",
    strict: true,
    parameters: { type: "object", properties: fields, required: Object.keys(fields), additionalProperties: false },
  };
  const params =
    model === "up" ? { model, input: "Report", tools: [report] } : { model, input: "Weather?", tools: [weatherTool], tool_choice: "required" as const };

  it("answers status incomplete, reason max_output_tokens, no call completed, arguments a string", async () => {
    const r = await gw.client.responses.create({ ...params, max_output_tokens: 16 });
    expect(r.status).toBe("incomplete");
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(r.usage!.output_tokens).toBe(16);
    const calls = r.output.filter((i) => i.type === "function_call");
    // The upstream's cut call comes through, not completed; on the demo model 16 tokens may end before a call's arguments begin.
    if (model === "up") expect(calls.filter((c) => c.status !== "completed").length).toBeGreaterThan(0);
    for (const c of calls) expect(typeof c.arguments).toBe("string");
    for (const c of calls) if (c.status === "completed") expect(() => JSON.parse(c.arguments)).not.toThrow();
  });

  it("streams it ending with response.incomplete", async () => {
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of await gw.client.responses.create({ ...params, max_output_tokens: 16, stream: true })) events.push(e);
    expect(events.at(-1)!.type).toBe("response.incomplete");
    const final = expectResponseEvents(events);
    for (const c of final.output) if (c.type === "function_call") expect(typeof c.arguments).toBe("string");
  });
});
