/**
 * Stored conversations of the Responses API (issue 14) through the `openai` SDK: previous_response_id
 * chaining across turns (on the demo model and an openai-compatible upstream, whose requests show
 * the whole conversation was sent), what is not chained (instructions, store: false, deleted or
 * unknown ids), and conversations that outlive a server: a restart on the same SQLite data
 * directory, and two servers sharing a Redis store.
 */
import OpenAI from "openai";
import { freshDataDir, type TestServer } from "./helpers/server.js";
import { chatRequests, startFakeChatUpstream, textOf } from "./helpers/fake-chat-upstream.js";
import { sleep, type FakeUpstream } from "./helpers/upstream-server.js";
import { BACKENDS, rejection, responsesConfigDir, startResponsesServer } from "./helpers/fake-chat-upstream-gateway.js";
import { startRedis, type RedisServer } from "./helpers/fake-chat-upstream-redis.js";

let upstream: FakeUpstream;
let configDir: string;
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeChatUpstream();
  configDir = await responsesConfigDir(upstream.url);
  server = await startResponsesServer(configDir);
  client = server.client;
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

/** What the upstream's last chat request carried: each message as role and text. */
const lastConversation = () =>
  chatRequests(upstream)
    .at(-1)!
    .body.messages.map((m: { role: string; content: unknown }) => ({ role: m.role, text: textOf(m.content) }));

/** Three turns, each continuing the one before. */
async function threeTurns(c: OpenAI, model: string, turns = ["one", "two", "three"]) {
  const out: OpenAI.Responses.Response[] = [];
  for (const input of turns) {
    const previous_response_id = out.at(-1)?.id;
    out.push(await c.responses.create({ model, input, max_output_tokens: 16, ...(previous_response_id ? { previous_response_id } : {}) }));
  }
  return out;
}

describe.each(BACKENDS)("previous_response_id on %s", (model) => {
  it("chains three turns: each answer names the one before, and the prompt grows", async () => {
    const [r1, r2, r3] = await threeTurns(client, model);
    expect(r1.previous_response_id ?? null).toBeNull();
    expect(r2.previous_response_id).toBe(r1.id);
    expect(r3.previous_response_id).toBe(r2.id);
    expect(new Set([r1.id, r2.id, r3.id]).size).toBe(3);
    expect(r2.usage!.input_tokens).toBeGreaterThan(r1.usage!.input_tokens);
    expect(r3.usage!.input_tokens).toBeGreaterThan(r2.usage!.input_tokens);
    // input_items lists only a turn's own input.
    const items = await client.responses.inputItems.list(r3.id, { order: "asc" });
    expect(items.data).toHaveLength(1);
    expect((items.data[0] as OpenAI.Responses.ResponseInputMessageItem).content).toEqual([{ type: "input_text", text: "three" }]);
    if (model === "up") {
      expect(lastConversation()).toEqual([
        { role: "user", text: "one" },
        { role: "assistant", text: "reply to one" },
        { role: "user", text: "two" },
        { role: "assistant", text: "reply to two" },
        { role: "user", text: "three" },
      ]);
    }
  });
});

describe("what a chain carries, on the upstream", () => {
  it("does not carry instructions over to the next turn, as OpenAI documents", async () => {
    const r1 = await client.responses.create({ model: "up", input: "one", instructions: "Be terse." });
    await client.responses.create({ model: "up", input: "two", previous_response_id: r1.id });
    expect(lastConversation()).toEqual([
      { role: "user", text: "one" },
      { role: "assistant", text: "reply to one" },
      { role: "user", text: "two" },
    ]);
    await client.responses.create({ model: "up", input: "two", previous_response_id: r1.id, instructions: "Be kind." });
    expect(lastConversation()[0]).toMatchObject({ text: "Be kind." });
  });

  it("continues a function call with only its function_call_output (the agents' pattern)", async () => {
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: "function",
        name: "lookup",
        strict: true,
        parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"], additionalProperties: false },
      },
    ];
    const r1 = await client.responses.create({ model: "up", input: "find cats", tools });
    const call = r1.output.find((i) => i.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call.call_id).toEqual(expect.any(String));
    const r2 = await client.responses.create({
      model: "up",
      previous_response_id: r1.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "3 cats" }],
      tools,
    });
    expect(r2.output_text).toBe("reply to find cats");
    const sent = chatRequests(upstream).at(-1)!.body.messages;
    expect(sent.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(sent[1].tool_calls[0]).toMatchObject({ id: call.call_id, function: { name: "lookup", arguments: call.arguments } });
    expect(sent[2]).toMatchObject({ tool_call_id: call.call_id });
  });

  it("a response stored with store: false, or deleted, cannot be continued (404)", async () => {
    const unstored = await client.responses.create({ model: "up", input: "one", store: false });
    await rejection(client.responses.retrieve(unstored.id), OpenAI.NotFoundError);
    const err = await rejection(client.responses.create({ model: "up", input: "two", previous_response_id: unstored.id }), OpenAI.NotFoundError);
    expect(err.message).toContain(unstored.id);
    const stored = await client.responses.create({ model: "up", input: "one" });
    await client.responses.delete(stored.id);
    await rejection(client.responses.create({ model: "up", input: "two", previous_response_id: stored.id }), OpenAI.NotFoundError);
  });

  it("a turn with store: false may continue a stored one, and is not stored itself", async () => {
    const r1 = await client.responses.create({ model: "up", input: "one" });
    const r2 = await client.responses.create({ model: "up", input: "two", previous_response_id: r1.id, store: false });
    expect(r2.output_text).toBe("reply to two");
    expect(lastConversation()).toHaveLength(3);
    await rejection(client.responses.retrieve(r2.id), OpenAI.NotFoundError);
  });
});

/** A response on a store whose TTL is `ttlMs`, once it has expired: retrieve, input_items and a continuation are 404s. */
async function expectExpiry(redisUrl?: string): Promise<void> {
  const ttlMs = 300;
  const s = await startResponsesServer(configDir, { ttlMs, redisUrl });
  try {
    const r = await s.client.responses.create({ model: "up", input: "one" });
    expect((await s.client.responses.retrieve(r.id)).id).toBe(r.id);
    await sleep(ttlMs + 400);
    await rejection(s.client.responses.retrieve(r.id), OpenAI.NotFoundError);
    await rejection(s.client.responses.inputItems.list(r.id), OpenAI.NotFoundError);
    const err = await rejection(s.client.responses.create({ model: "up", input: "two", previous_response_id: r.id }), OpenAI.NotFoundError);
    expect(err.message).toContain(r.id);
  } finally {
    await s.close();
  }
}

describe("conversations outlive a server", () => {
  it("an expired response cannot be read or continued (404), on SQLite", () => expectExpiry());

  it("survive a restart on the same SQLite data directory", async () => {
    const dataDir = freshDataDir();
    const first = await startResponsesServer(configDir, { dataDir });
    let r1: OpenAI.Responses.Response;
    let r2: OpenAI.Responses.Response;
    try {
      [r1, r2] = await threeTurns(first.client, "up", ["one", "two"]);
    } finally {
      await first.close();
    }
    const second = await startResponsesServer(configDir, { dataDir });
    try {
      const got = await second.client.responses.retrieve(r2.id);
      expect(got.output).toEqual(r2.output);
      expect((await second.client.responses.inputItems.list(r1.id)).data).toHaveLength(1);
      const r3 = await second.client.responses.create({ model: "up", input: "three", previous_response_id: r2.id });
      expect(r3.previous_response_id).toBe(r2.id);
      expect(lastConversation().map((m: { text: string }) => m.text)).toEqual(["one", "reply to one", "two", "reply to two", "three"]);
      // And the demo model continues it too: the history is the backend's to render.
      const demo = await second.client.responses.create({ model: "demo", input: "four", previous_response_id: r3.id, max_output_tokens: 16 });
      expect(demo.previous_response_id).toBe(r3.id);
    } finally {
      await second.close();
    }
  });

  describe("two servers sharing a Redis store", () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(() => redis?.stop());

    it("a conversation started on server A continues on server B", async () => {
      const a = await startResponsesServer(configDir, { redisUrl: redis.url });
      const b = await startResponsesServer(configDir, { redisUrl: redis.url });
      try {
        const r1 = await a.client.responses.create({ model: "up", input: "one" });
        expect((await b.client.responses.retrieve(r1.id)).output).toEqual(r1.output);
        const r2 = await b.client.responses.create({ model: "up", input: "two", previous_response_id: r1.id });
        const r3 = await a.client.responses.create({ model: "up", input: "three", previous_response_id: r2.id });
        expect(r3.previous_response_id).toBe(r2.id);
        expect(lastConversation().map((m: { text: string }) => m.text)).toEqual(["one", "reply to one", "two", "reply to two", "three"]);
        await b.client.responses.delete(r1.id);
        await rejection(a.client.responses.retrieve(r1.id), OpenAI.NotFoundError);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("an expired response cannot be read or continued (404), on Redis", () => expectExpiry(redis.url));
  });
});
