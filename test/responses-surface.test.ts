/**
 * `/v1/responses` through chat (issue 14), seen from an openai-compatible loopback upstream: the
 * chat request each Responses request becomes, the Response each chat answer becomes, and the 400s
 * for what chat cannot honour. (End-to-end SDK use is test/responses-sdk*.test.ts.) Every answer is
 * checked against the spec by test/setup-response-validation.ts.
 */
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { postJson } from "./helpers/server.js";
import { sendJson, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

let upstream: FakeUpstream;
let gw: Gateway;
const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };
const lastBody = () => upstream.requests[upstream.requests.length - 1].body;
const create = (body: Record<string, unknown>) => postJson(`${gw.url}/v1/responses`, { model: "m", ...body });
const weather = {
  type: "function",
  name: "get_weather",
  description: "Weather",
  parameters: { type: "object", properties: { city: { type: "string" } } },
  strict: true,
};

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [{ id: "up", type: "openai-compatible", profile: "vllm", endpoints: [{ url: upstream.url }], retry }],
    models: { m: { provider: "up", upstream_model: "up-model" } },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => upstream.route(undefined));

const answer = (
  message: Record<string, unknown>,
  finish: string,
  usage: Record<string, unknown> = { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39 },
) => ({
  id: "chatcmpl-up",
  object: "chat.completion",
  created: 1,
  model: "up-model",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish, logprobs: null }],
  usage,
});

describe("the chat request a Responses request becomes", () => {
  it("maps a string input, instructions and the sampling fields; metadata and store stay here", async () => {
    const res = await create({
      input: "hello",
      instructions: "Be brief.",
      max_output_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      safety_identifier: "user-7",
      metadata: { case: "a" },
      store: false,
    });
    expect(res.status).toBe(200);
    expect(lastBody()).toEqual({
      model: "up-model",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello" },
      ],
      max_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      user: "user-7",
    });
    expect(res.json).toMatchObject({ instructions: "Be brief.", max_output_tokens: 64, temperature: 0.5, top_p: 0.9, metadata: { case: "a" }, store: false });
  });

  it("maps every kind of input item: roles, parts, images, function calls and their outputs", async () => {
    await create({
      input: [
        { role: "developer", content: "Answer in French." },
        { type: "message", role: "system", content: [{ type: "input_text", text: "Be kind." }] },
        {
          role: "user",
          content: [
            { type: "input_text", text: "What is " },
            { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" },
          ],
        },
        { role: "assistant", content: [{ type: "output_text", text: "Let me look." }] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
        { type: "function_call", call_id: "call_2", name: "get_weather", arguments: '{"city":"Rome"}' },
        { type: "function_call_output", call_id: "call_1", output: "cold" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "warm" }] },
        {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "And " },
            { type: "input_text", text: "Paris?" },
          ],
        },
      ],
    });
    expect(lastBody().messages).toEqual([
      { role: "system", content: "Answer in French." },
      { role: "system", content: "Be kind." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is " },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
        ],
      },
      {
        role: "assistant",
        content: "Let me look.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "cold" },
      { role: "tool", tool_call_id: "call_2", content: "warm" },
      { role: "user", content: "And Paris?" },
    ]);
  });

  it("maps flat function tools, a named tool_choice, parallel_tool_calls and json_schema", async () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    await create({
      input: "hi",
      tools: [weather, { type: "function", name: "bare", parameters: null, strict: null }],
      tool_choice: { type: "function", name: "get_weather" },
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "out", schema, strict: true } },
    });
    const sent = lastBody();
    expect(sent.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: weather.parameters, strict: true } },
      { type: "function", function: { name: "bare" } },
    ]);
    expect(sent.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(sent.parallel_tool_calls).toBe(false);
    expect(sent.response_format).toEqual({ type: "json_schema", json_schema: { name: "out", schema, strict: true } });
  });

  it("maps text.format json_object, tool_choice strings, and user", async () => {
    await create({ input: "hi", text: { format: { type: "json_object" } }, tools: [weather], tool_choice: "required", user: "u-1" });
    expect(lastBody()).toMatchObject({ response_format: { type: "json_object" }, tool_choice: "required", user: "u-1" });
    await create({ input: "hi", text: { format: { type: "text" } }, tool_choice: "none" });
    expect(lastBody().response_format).toBeUndefined();
    expect(lastBody().tool_choice).toBe("none");
  });
});

describe("the Response a chat answer becomes", () => {
  it("answers text and function calls as output items, with usage and the client's model name", async () => {
    upstream.route((_req, res) =>
      sendJson(
        res,
        200,
        answer(
          { content: "Let me look.", tool_calls: [{ id: "call_9", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          "tool_calls",
          { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39, prompt_tokens_details: { cached_tokens: 10 } },
        ),
      ),
    );
    const res = await create({ input: "Weather?", tools: [weather] });
    expect(res.status).toBe(200);
    const r = res.json;
    expect(r).toMatchObject({ object: "response", status: "completed", model: "m", error: null, incomplete_details: null, previous_response_id: null });
    expect(r.id).toMatch(/^resp_/);
    expect(typeof r.created_at).toBe("number");
    expect(r.output).toHaveLength(2);
    expect(r.output[0]).toMatchObject({
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Let me look.", annotations: [] }],
    });
    expect(r.output[0].id).toMatch(/^msg_/);
    expect(r.output[1]).toMatchObject({ type: "function_call", call_id: "call_9", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" });
    expect(r.output[1].id).toMatch(/^fc_/);
    expect(r.usage).toEqual({
      input_tokens: 30,
      input_tokens_details: { cached_tokens: 10, cache_write_tokens: 0 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 39,
    });
    expect(r.tools).toEqual([{ ...weather }]);
  });

  it("is incomplete, with the reason, when the answer was cut by max_output_tokens", async () => {
    upstream.route((_req, res) => sendJson(res, 200, answer({ content: "Once upon" }, "length")));
    const res = await create({ input: "A story", max_output_tokens: 16 });
    expect(res.json).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, completed_at: null });
    expect(res.json.output[0]).toMatchObject({ type: "message", status: "incomplete" });
  });

  it("answers an empty message for an empty answer", async () => {
    upstream.route((_req, res) => sendJson(res, 200, answer({ content: null }, "stop")));
    const res = await create({ input: "..." });
    expect(res.json.output).toEqual([expect.objectContaining({ type: "message", content: [expect.objectContaining({ text: "" })] })]);
  });
});

describe("what chat cannot honour is a 400 naming the field, and nothing is sent", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a built-in tool", { tools: [{ type: "web_search" }] }, "tools[0]"],
    ["file search", { tools: [weather, { type: "file_search", vector_store_ids: ["vs_1"] }] }, "tools[1]"],
    ["code interpreter", { tools: [{ type: "code_interpreter", container: { type: "auto" } }] }, "tools[0]"],
    ["background", { background: true }, "background"],
    ["reasoning effort", { reasoning: { effort: "high" } }, "reasoning"],
    ["include", { include: ["message.output_text.logprobs"] }, "include"],
    ["conversation", { conversation: "conv_1" }, "conversation"],
    ["prompt", { prompt: { id: "pmpt_1" } }, "prompt"],
    ["top_logprobs", { top_logprobs: 2 }, "top_logprobs"],
    ["truncation auto", { truncation: "auto" }, "truncation"],
    ["a built-in tool_choice", { tool_choice: { type: "web_search_preview" } }, "tool_choice"],
    ["an input_file part", { input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }] }, "input[0].content[0]"],
    [
      "an image by file id",
      { input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1", detail: "auto" }] }] },
      "input[0].content[0].file_id",
    ],
    ["a reasoning item", { input: [{ type: "reasoning", id: "rs_1", summary: [] }] }, "input[0]"],
  ];
  it.each(cases)("%s", async (_name, fields, param) => {
    const before = upstream.requests.length;
    const res = await create({ input: "hi", ...fields });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: "invalid_request_error", param });
    expect(res.json.error.message).toContain(`'${param}'`);
    expect(upstream.requests.length).toBe(before);
  });

  it("takes reasoning effort none, an empty include, background false and OpenAI's cache hints", async () => {
    const res = await create({ input: "hi", reasoning: { effort: "none" }, include: [], background: false, prompt_cache_key: "k", service_tier: "auto" });
    expect(res.status).toBe(200);
  });

  it("says a backend's refusal of a chat field in Responses terms", async () => {
    upstream.route((_req, res) =>
      sendJson(res, 400, { error: { message: "'max_tokens' is too large for this model", type: "invalid_request_error", param: "max_tokens", code: null } }),
    );
    const res = await create({ input: "hi", max_output_tokens: 100000 });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe("max_output_tokens");
  });
});

describe("input items the spec admits pass validation; a wrong one is named", () => {
  it("takes a message whose content is a list of parts (it matches two of the spec's item shapes)", async () => {
    const res = await create({ input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }] });
    expect(res.status).toBe(200);
    expect(lastBody().messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("takes an earlier answer given back without id or status, and a tool without strict", async () => {
    const res = await create({
      input: [
        { role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "output_text", text: "Hello" }] },
        { role: "user", content: "again" },
      ],
      tools: [{ type: "function", name: "f", parameters: { type: "object", properties: {} } }],
    });
    expect(res.status).toBe(200);
  });

  it("names the part and the types it takes for a wrong part type", async () => {
    const res = await create({ input: [{ role: "user", content: [{ type: "input_txt", text: "hi" }] }] });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe("input[0].content[0].type");
    expect(res.json.error.message).toMatch(/'input_text', 'input_image', 'input_file'/);
  });

  it("names the missing field of the item type sent, not another item type's", async () => {
    const res = await create({ input: [{ type: "function_call", name: "f", arguments: "{}" }] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ param: "input[0].call_id", code: "missing_required_parameter" });
  });

  it("names an item type no schema takes, and a wrong field of a known one", async () => {
    const unknown = await create({ input: [{ type: "bogus" }] });
    expect(unknown.json.error).toMatchObject({ param: "input[0].type", code: "invalid_value" });
    expect(unknown.json.error.message).not.toMatch(/Supported values/);
    const output = await create({ input: [{ type: "function_call_output", call_id: "c", output: 5 }] });
    expect(output.json.error).toMatchObject({ param: "input[0].output", code: "invalid_type" });
    const content = await create({ input: [{ role: "user", content: 5 }] });
    expect(content.json.error).toMatchObject({ param: "input[0].content", code: "invalid_type" });
  });

  it("names a wrong role", async () => {
    const res = await create({ input: [{ role: "robot", content: "hi" }] });
    expect(res.status).toBe(400);
    expect(res.json.error.param).toBe("input[0].role");
  });
});
