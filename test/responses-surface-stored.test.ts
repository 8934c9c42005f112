/**
 * Stored `/v1/responses` conversations through chat (issue 14), seen from an openai-compatible
 * loopback upstream: what `previous_response_id` and `item_reference` put into the chat messages,
 * the 404s, `input_items` paging, and the bounds on input items and conversation length.
 */
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { postJson } from "./helpers/server.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

// Small bounds for the limit tests (read on first use, so before any request).
process.env.UNDERSTUDY_RESPONSES_MAX_INPUT_ITEMS = "40";
process.env.UNDERSTUDY_RESPONSES_MAX_CONVERSATION_ITEMS = "50";
process.env.UNDERSTUDY_RESPONSES_MAX_REFERENCED_RESPONSES = "3";
process.env.UNDERSTUDY_RESPONSES_MAX_REFERENCED_BYTES = "2000";

let upstream: FakeUpstream;
let gw: Gateway;
const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };
const lastMessages = () => upstream.requests[upstream.requests.length - 1].body.messages;
const create = (body: Record<string, unknown>) => postJson(`${gw.url}/v1/responses`, { model: "m", ...body });
const get = async (path: string, method = "GET") => {
  const res = await fetch(`${gw.url}/v1/responses/${path}`, { method });
  return { status: res.status, json: await res.json() };
};

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }], retry }],
    models: { m: { provider: "up", upstream_model: "up-model" } },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});

describe("previous_response_id", () => {
  it("puts the earlier turns' inputs and outputs before this turn's input; instructions are not carried over", async () => {
    const first = await create({ input: "one", instructions: "Be brief." });
    expect(first.status).toBe(200);
    const second = await create({ input: [{ role: "user", content: "two" }], previous_response_id: first.json.id, instructions: "Be kind." });
    expect(second.json.previous_response_id).toBe(first.json.id);
    expect(lastMessages()).toEqual([
      { role: "system", content: "Be kind." },
      { role: "user", content: "one" },
      { role: "assistant", content: "Hello world" },
      { role: "user", content: "two" },
    ]);
    await create({ input: "three", previous_response_id: second.json.id });
    expect(lastMessages()).toEqual([
      { role: "user", content: "one" },
      { role: "assistant", content: "Hello world" },
      { role: "user", content: "two" },
      { role: "assistant", content: "Hello world" },
      { role: "user", content: "three" },
    ]);
  });

  it("is a 404 in OpenAI's shape when unknown, malformed, deleted or never stored", async () => {
    const unstored = await create({ input: "x", store: false });
    const deleted = await create({ input: "x" });
    expect((await get(deleted.json.id, "DELETE")).status).toBe(200);
    for (const id of ["resp_unknown", "not-an-id", "x".repeat(500), unstored.json.id, deleted.json.id]) {
      const before = upstream.requests.length;
      const res = await create({ input: "y", previous_response_id: id });
      expect(res.status).toBe(404);
      expect(res.json.error).toMatchObject({ type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found" });
      expect(upstream.requests.length).toBe(before);
    }
  });

  it("continues a turn that ended in a function call with only its output", async () => {
    upstream.route((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "c",
          object: "chat.completion",
          created: 1,
          model: req.body.model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: null, tool_calls: [{ id: "call_7", type: "function", function: { name: "f", arguments: "{}" } }] },
              finish_reason: "tool_calls",
              logprobs: null,
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
    const first = await create({ input: "call f", tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: false }] });
    upstream.route(undefined);
    expect(first.json.output).toEqual([expect.objectContaining({ type: "function_call", call_id: "call_7" })]);
    await create({ input: [{ type: "function_call_output", call_id: "call_7", output: "42" }], previous_response_id: first.json.id });
    expect(lastMessages()).toEqual([
      { role: "user", content: "call f" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_7", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_7", content: "42" },
    ]);
  });
});

describe("item_reference", () => {
  it("brings back an item of a stored response by its id", async () => {
    const first = await create({ input: "one" });
    const itemId = first.json.output[0].id;
    await create({
      input: [
        { role: "user", content: "one" },
        { type: "item_reference", id: itemId },
        { role: "user", content: "two" },
      ],
    });
    expect(lastMessages()).toEqual([
      { role: "user", content: "one" },
      { role: "assistant", content: "Hello world" },
      { role: "user", content: "two" },
    ]);
  });

  it("is a 404 naming the item for an id this server does not have", async () => {
    const res = await create({ input: [{ type: "item_reference", id: "msg_0123456789abcdef0" }] });
    expect(res.status).toBe(404);
    expect(res.json.error).toMatchObject({ param: "input[0].id", code: "item_not_found" });
  });
});

describe("retrieve, delete and input_items", () => {
  it("retrieve answers the stored response; delete answers the deleted object, then 404", async () => {
    const r = await create({ input: "hi", metadata: { k: "v" } });
    const got = await get(r.json.id);
    expect(got).toEqual({ status: 200, json: r.json });
    expect(await get(r.json.id, "DELETE")).toEqual({ status: 200, json: { id: r.json.id, object: "response", deleted: true } });
    for (const method of ["GET", "DELETE"]) {
      const gone = await get(r.json.id, method);
      expect(gone.status).toBe(404);
      expect(gone.json.error).toMatchObject({ param: "response_id", code: "response_not_found" });
    }
    expect((await get(`${r.json.id}/input_items`)).status).toBe(404);
  });

  it("lists this turn's input items with ids, newest first by default, a page at a time", async () => {
    const input = ["a", "b", "c", "d", "e"].map((text) => ({ role: "user", content: text }));
    const first = await create({ input: "earlier" });
    const r = await create({ input, previous_response_id: first.json.id });
    const texts = (list: { data: { content: { text: string }[] }[] }) => list.data.map((item) => item.content[0].text);
    const all = await get(`${r.json.id}/input_items`);
    expect(all.status).toBe(200);
    expect(texts(all.json)).toEqual(["e", "d", "c", "b", "a"]);
    expect(all.json).toMatchObject({ object: "list", has_more: false, first_id: all.json.data[0].id, last_id: all.json.data[4].id });
    for (const item of all.json.data) expect(item).toMatchObject({ id: expect.stringMatching(/^msg_/), type: "message", role: "user", status: "completed" });
    const page1 = await get(`${r.json.id}/input_items?order=asc&limit=2`);
    expect(texts(page1.json)).toEqual(["a", "b"]);
    expect(page1.json.has_more).toBe(true);
    const page2 = await get(`${r.json.id}/input_items?order=asc&limit=2&after=${page1.json.last_id}`);
    expect(texts(page2.json)).toEqual(["c", "d"]);
    const page3 = await get(`${r.json.id}/input_items?order=asc&limit=2&after=${page2.json.last_id}`);
    expect(texts(page3.json)).toEqual(["e"]);
    expect(page3.json.has_more).toBe(false);
  });

  it("refuses a limit outside 1 to 100, an unknown `after`, and include", async () => {
    const r = await create({ input: "hi" });
    for (const query of ["limit=0", "limit=101", "after=msg_nope", "include=message.output_text.logprobs"]) {
      const res = await get(`${r.json.id}/input_items?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
      expect(res.json.error.param).toBe(query.split("=")[0]);
    }
    expect((await get(`${r.json.id}?stream=true`)).status).toBe(400);
  });
});

describe("bounds", () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ role: "user", content: `m${i}` }));

  it("refuses more input items than UNDERSTUDY_RESPONSES_MAX_INPUT_ITEMS, naming the setting", async () => {
    expect((await create({ input: items(40) })).status).toBe(200);
    const before = upstream.requests.length;
    const res = await create({ input: items(41) });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ param: "input", code: "too_many_input_items" });
    expect(res.json.error.message).toContain("UNDERSTUDY_RESPONSES_MAX_INPUT_ITEMS");
    expect(upstream.requests.length).toBe(before);
  });

  it("refuses to continue a conversation past UNDERSTUDY_RESPONSES_MAX_CONVERSATION_ITEMS", async () => {
    const first = await create({ input: items(30) }); // 30 inputs + 1 output
    const second = await create({ input: items(20), previous_response_id: first.json.id }); // 31 + 20 = 51 > 50
    expect(second.status).toBe(400);
    expect(second.json.error).toMatchObject({ param: "previous_response_id", code: "conversation_too_long" });
    expect(second.json.error.message).toContain("UNDERSTUDY_RESPONSES_MAX_CONVERSATION_ITEMS");
    expect((await create({ input: items(19), previous_response_id: first.json.id })).status).toBe(200);
  });

  it("refuses item_references to more stored responses, or more bytes, than their settings allow", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await create({ input: `turn ${i}` })).json.output[0].id);
    const ref = (id: string) => ({ type: "item_reference", id });
    expect((await create({ input: ids.slice(0, 3).map(ref) })).status).toBe(200);
    const before = upstream.requests.length;
    const many = await create({ input: ids.map(ref) });
    expect(many.status).toBe(400);
    expect(many.json.error).toMatchObject({ param: "input", code: "too_many_item_references" });
    expect(many.json.error.message).toContain("UNDERSTUDY_RESPONSES_MAX_REFERENCED_RESPONSES");
    // One small item named again and again: each copy is sent on, so the copies count.
    const big = await create({ input: Array.from({ length: 30 }, () => ref(ids[0])) });
    expect(big.status).toBe(400);
    expect(big.json.error.message).toContain("UNDERSTUDY_RESPONSES_MAX_REFERENCED_BYTES");
    expect(upstream.requests.length).toBe(before);
  });
});
