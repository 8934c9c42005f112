/**
 * The response check every test runs under (test/setup-response-validation.ts): it catches an
 * answer the spec does not allow, with the JSON path, in JSON bodies and in streamed chunks, and
 * it checks our server's answers only, not the fake upstreams'.
 */
import { OPERATIONS } from "../src/core/operations.js";
import { checked, findOperation, schemaErrors, takeViolations } from "./helpers/response-validation.js";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { chatChunk, chatCompletion, data, sendJson, startFakeUpstream, startSse, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";

const KEY_ENV = "UNDERSTUDY_TEST_UPSTREAM_KEY_RESPONSE_VALIDATION";
let upstream: FakeUpstream;
let gw: Gateway;

/** An openai-compatible upstream that ends its answers with a finish_reason OpenAI never sends. */
function finishDone(): void {
  upstream.route(async (req, res) => {
    const model = req.body.model;
    if (!req.body.stream) {
      const body = chatCompletion(model, "Hello");
      body.choices[0].finish_reason = "done";
      return sendJson(res, 200, body);
    }
    startSse(res);
    await writeFrames(res, [data(chatChunk(model, { role: "assistant", content: "Hello" })), data(chatChunk(model, {}, "done")), data("[DONE]")]);
  });
}

beforeAll(async () => {
  process.env[KEY_ENV] = "sk-upstream-response-validation-0123";
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [{ id: "plain", type: "openai-compatible", endpoints: [{ url: upstream.url, api_key_env: KEY_ENV }] }],
    models: { gpt: { provider: "plain", upstream_model: "gpt-4o-mini" } },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
  delete process.env[KEY_ENV];
});
beforeEach(() => upstream.route(undefined));

const hi = [{ role: "user" as const, content: "hi" }];

describe("response validation", () => {
  it("knows every implemented operation and the service routes", () => {
    for (const op of OPERATIONS) expect(findOperation(op.method.toUpperCase(), op.path.replace("{model}", "demo"))?.id).toBe(op.id);
    expect(findOperation("GET", "/health")?.id).toBe("getHealth");
    expect(findOperation("GET", "/v1/models.json")?.id).toBe("getModelCatalogue");
    expect(findOperation("GET", "/openapi.json")?.id).toBe("getOpenApiDocument");
    expect(findOperation("GET", "/.api/modelconfig/supported-models.json")?.id).toBe("getSourcegraphSupportedModels");
    expect(findOperation("POST", "/v1/moderations")).toBeUndefined();
  });

  it("finds nothing wrong in a conformant answer, streamed or not", async () => {
    await gw.client.chat.completions.create({ model: "gpt", messages: hi, max_tokens: 5 });
    const stream = await gw.client.chat.completions.create({ model: "gpt", messages: hi, max_tokens: 5, stream: true });
    for await (const _ of stream);
    expect(await takeViolations()).toEqual([]);
  });

  it("catches finish_reason 'done' in a JSON body, naming the JSON path", async () => {
    finishDone();
    const r = await gw.client.chat.completions.create({ model: "gpt", messages: hi, max_tokens: 5 });
    expect(r.choices[0].finish_reason).toBe("done");
    const found = await takeViolations();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ request: "POST /v1/chat/completions -> 200", schema: "CreateChatCompletionResponse", where: "body" });
    expect(found[0].errors.some((e) => e.startsWith("/choices/0/finish_reason "))).toBe(true);
  });

  it("catches finish_reason 'done' in a streamed chunk, naming the event and the JSON path", async () => {
    finishDone();
    const stream = await gw.client.chat.completions.create({ model: "gpt", messages: hi, max_tokens: 5, stream: true });
    let chunks = 0;
    for await (const _ of stream) chunks++;
    expect(chunks).toBeGreaterThan(0);
    const found = await takeViolations();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ schema: "CreateChatCompletionStreamResponse", where: expect.stringMatching(/^event \d+$/) });
    expect(found[0].errors.some((e) => e.startsWith("/choices/0/finish_reason "))).toBe(true);
  });

  it("does not check the fake upstream's own answers (only the server under test's)", async () => {
    finishDone();
    const res = await fetch(`${upstream.url}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "x", messages: hi }) });
    expect((await res.json()).choices[0].finish_reason).toBe("done");
    expect(await takeViolations()).toEqual([]);
  });

  it("checks error bodies and the service routes", async () => {
    const before = checked.count;
    const missing = (await gw.client.chat.completions.create({ model: "no-such-model", messages: hi }).catch((e: unknown) => e)) as { status: number };
    expect(missing.status).toBe(404);
    for (const path of ["/health", "/v1/models.json", "/openapi.json", "/.api/modelconfig/supported-models.json", "/v1/models", "/v1/models/gpt"]) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(await takeViolations()).toEqual([]);
    expect(checked.count - before).toBe(7);
    expect(schemaErrors("UnderstudyHealth", { status: "ok" })).not.toEqual([]);
    expect(schemaErrors("ErrorResponse", { error: { message: "m", type: "t" } })[0]).toMatch(/^\/error must have required property/);
  });
});
