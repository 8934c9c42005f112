/**
 * Sourcegraph's completions API (issue 12) through an openai-compatible upstream: the chat request
 * seen upstream for each prompt version (where the system prompt goes: legacy, api-version=1 and
 * Cody's "You are Cody" introspection), the sampling fields, and the error forms: an upstream
 * error mid-stream, a timeout (a slow upstream), a 429 and a field the provider cannot carry.
 */
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { chatChunk, data, sendJson, sleep, startFakeUpstream, startSse, untilClosed, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";
import { CODE, expectCompletionStream, LEGACY_BODY, names, sgPost, STREAM, V1_BODY, V2_BODY } from "./helpers/sourcegraph.js";

let upstream: FakeUpstream;
let gw: Gateway;
const retry = { attempts: 1, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };
const lastRequest = () => upstream.requests[upstream.requests.length - 1];
const lastBody = () => lastRequest().body;
const post = (path: string, body: object) => sgPost(gw.url, path, body);

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [
      { id: "up", type: "openai-compatible", profile: "vllm", endpoints: [{ url: upstream.url }], retry },
      // Its own provider (no profile: no top_k); a 429 holds its endpoint for the Retry-After.
      { id: "limited", type: "openai-compatible", endpoints: [{ url: upstream.url }], retry },
    ],
    models: { m: { provider: "up", upstream_model: "up-model" }, limited: { provider: "limited", upstream_model: "up-model" } },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => upstream.route(undefined));

describe("the chat request seen upstream", () => {
  it("legacy: the trailing empty assistant message and holes are dropped; sampling is mapped", async () => {
    const res = await post(STREAM, { ...LEGACY_BODY, model: "m", stream: false, topK: 40, topP: 0.9, stopSequences: ["END"] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ completion: "Hello world", stopReason: "stop" });
    expect(lastBody()).toEqual({
      model: "up-model",
      messages: [{ role: "user", content: "What is your name?" }],
      max_tokens: 30,
      temperature: 0,
      top_p: 0.9,
      top_k: 40,
      stop: ["END"],
    });
  });

  it("legacy: a system prompt sent as the first human turn stays an ordinary turn; holes go", async () => {
    const messages = [
      { speaker: "human", text: "Answer briefly." },
      { speaker: "assistant", text: "Ok." },
      { speaker: "human", text: "" },
      { speaker: "human", text: "What is your name?" },
      { speaker: "assistant", text: "" },
    ];
    expect((await post(STREAM, { ...LEGACY_BODY, model: "m", messages })).status).toBe(200);
    expect(lastBody().messages).toEqual([
      { role: "user", content: "Answer briefly." },
      { role: "assistant", content: "Ok." },
      { role: "user", content: "What is your name?" },
    ]);
    expect(lastBody().stream).toBe(true);
    expect("stop" in lastBody()).toBe(false);
  });

  it("legacy: Cody's preamble and the assistant's reply to it become the system prompt", async () => {
    const preamble = "You are Cody, an AI-powered coding assistant created by Sourcegraph. You work inside a text editor.";
    const messages = [
      { speaker: "human", text: preamble },
      { speaker: "assistant", text: "I am Cody." },
      { speaker: "human", text: "What is your name?" },
      { speaker: "assistant" },
    ];
    expect((await post(STREAM, { ...LEGACY_BODY, model: "m", messages })).status).toBe(200);
    expect(lastBody().messages).toEqual([
      { role: "system", content: `${preamble}\n\nI am Cody.` },
      { role: "user", content: "What is your name?" },
    ]);
  });

  it("legacy: a `system` speaker is the system prompt", async () => {
    const messages = [{ speaker: "system", text: "Be terse." }, ...LEGACY_BODY.messages];
    expect((await post(STREAM, { ...LEGACY_BODY, model: "m", messages })).status).toBe(200);
    expect(lastBody().messages).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: "What is your name?" },
    ]);
  });

  it.each([
    ["api-version=1, text", "?api-version=1", V1_BODY],
    ["api-version=2, content parts", "?api-version=2", V2_BODY],
  ])("%s: system messages are the system prompt", async (_name, query, body) => {
    expect((await post(`${STREAM}${query}`, { ...body, model: "m" })).status).toBe(200);
    expect(lastBody().messages).toEqual([
      { role: "system", content: "You only answer using emoji." },
      { role: "user", content: "What is your name?" },
    ]);
  });

  it("api-version=2: an image part goes upstream as an image_url part", async () => {
    const messages = [
      {
        speaker: "human",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        ],
      },
    ];
    expect((await post(`${CODE}?api-version=2`, { ...V2_BODY, model: "m", messages })).status).toBe(200);
    expect(lastBody().messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        ],
      },
    ]);
  });

  it("the model is given as a legacy provider/model id, and Cody's `token` auth never goes upstream", async () => {
    expect((await post(STREAM, { ...LEGACY_BODY, model: "up/m", stream: false })).status).toBe(200);
    expect(lastBody().model).toBe("up-model");
    expect(lastRequest().headers.authorization).toBeUndefined();
  });
});

describe("answers", () => {
  it("streaming, legacy: accumulated completions; api-version=2: deltas; both end with stopReason then done", async () => {
    // Paced, so each chunk is its own read (chunks read together are one frame).
    upstream.route(async (req, res) => {
      startSse(res);
      const frames = [
        data(chatChunk(req.body.model, { content: "Hello" })),
        data(chatChunk(req.body.model, { content: " world" })),
        data(chatChunk(req.body.model, {}, "stop")),
      ];
      await writeFrames(res, [...frames, "data: [DONE]\n\n"], 30);
    });
    const legacy = await post(STREAM, { ...LEGACY_BODY, model: "m" });
    expect(expectCompletionStream(legacy.events!, 0)).toEqual({ text: "Hello world", stopReason: "stop" });
    expect(legacy.events!.map((e) => e.data.completion).filter((c) => c !== undefined)).toEqual(["Hello", "Hello world", "Hello world"]);
    const v2 = await post(`${STREAM}?api-version=2`, { ...V2_BODY, model: "m" });
    expect(expectCompletionStream(v2.events!, 2)).toEqual({ text: "Hello world", stopReason: "stop" });
    expect(v2.events!.map((e) => e.data.deltaText).filter((c) => c !== undefined)).toEqual(["Hello", " world", ""]);
  });

  it("a length finish is stopReason length", async () => {
    upstream.route(async (req, res) => {
      if (!req.body.stream) return sendJson(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: "Hel" }, finish_reason: "length" }] });
      startSse(res);
      await writeFrames(res, [data(chatChunk("x", { content: "Hel" })), data(chatChunk("x", {}, "length")), "data: [DONE]\n\n"]);
    });
    expect((await post(STREAM, { ...LEGACY_BODY, model: "m", stream: false })).json).toEqual({ completion: "Hel", stopReason: "length" });
    const streamed = await post(STREAM, { ...LEGACY_BODY, model: "m" });
    expect(expectCompletionStream(streamed.events!, 0)).toEqual({ text: "Hel", stopReason: "length" });
  });
});

describe("errors", () => {
  it("an upstream failure mid-stream is an `error` event naming the model, then done", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await writeFrames(res, [data(chatChunk(req.body.model, { content: "Hel" }))], 0, false);
      res.destroy();
    });
    const res = await post(`${STREAM}?api-version=1`, { ...V1_BODY, model: "m" });
    expect(res.status).toBe(200);
    expect(names(res.events!)).toEqual(["completion", "error", "done"]);
    expect(res.events![0].data).toEqual({ completion: "Hel" });
    expect(res.events![1].data.error).toMatch(/^m: ./);
    expect(res.events![2].data).toEqual({});
  });

  it("timeoutMs mid-stream: an error event, then done, and the upstream request is aborted", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await writeFrames(res, [data(chatChunk(req.body.model, { content: "Hel" }))], 0, false);
      await untilClosed(req, 5_000);
      res.end();
    });
    const started = Date.now();
    const res = await post(STREAM, { ...LEGACY_BODY, model: "m", timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(names(res.events!)).toEqual(["completion", "error", "done"]);
    expect(res.events![1].data.error).toMatch(/^m: .*timeoutMs/);
    await untilClosed(lastRequest(), 2_000);
    expect(lastRequest().closedEarly).toBe(true);
  });

  it("timeoutMs before the stream's first text: 504, plain text, as without streaming", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await untilClosed(req, 5_000);
      res.end();
    });
    const res = await post(`${STREAM}?api-version=2`, { ...V2_BODY, model: "m", timeoutMs: 200 });
    expect(res.status).toBe(504);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    await untilClosed(lastRequest(), 2_000);
    expect(lastRequest().closedEarly).toBe(true);
  });

  it("timeoutMs without streaming: 504, plain text", async () => {
    upstream.route(async (req, res) => {
      await untilClosed(req, 5_000);
      if (!res.destroyed) sendJson(res, 200, {});
    });
    const started = Date.now();
    const res = await post(CODE, { ...LEGACY_BODY, model: "m", stream: false, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(res.status).toBe(504);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain("timeoutMs");
    await sleep(10);
  });

  it("an upstream 429 is a plain-text 429 with Retry-After", async () => {
    upstream.route((_req, res) => sendJson(res, 429, { error: { message: "quota exceeded" } }, { "retry-after": "120" }));
    const res = await post(STREAM, { ...LEGACY_BODY, model: "limited" });
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.headers.get("retry-after")).toBe("120");
  });

  it("topK on a provider that cannot carry it is a 400 naming topK", async () => {
    const res = await post(STREAM, { ...LEGACY_BODY, model: "limited", topK: 5 });
    expect(res.status).toBe(400);
    expect(res.text).toContain("'topK'");
    expect(res.text).not.toContain("top_k");
  });

  it("an upstream 400 about stop names stopSequences", async () => {
    upstream.route((_req, res) => sendJson(res, 400, { error: { message: "'stop' is bad", type: "invalid_request_error", param: "stop" } }));
    const res = await post(STREAM, { ...LEGACY_BODY, model: "m", stopSequences: ["x"] });
    expect(res.status).toBe(400);
    expect(res.text).toContain("'stopSequences'");
  });
});
