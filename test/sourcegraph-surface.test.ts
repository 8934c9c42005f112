/**
 * Sourcegraph's completions API (issue 12) on the llama-cpp demo model, replaying requests as Cody
 * clients send them: the legacy form and the api-version=1 form, streaming and not, to /stream
 * and /code, and the api-version=2 form with content parts (deltaText frames). The demo model
 * writes gibberish: event sequences, shapes and stop reasons only.
 */
import { startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir } from "./helpers/demo.js";
import { CODE, expectCompletionStream, LEGACY_BODY, sgPost, STREAM, V1_BODY, V2_BODY } from "./helpers/sourcegraph.js";

let server: TestServer;

const registration = (model: string, capabilities: string) => `registration:
  model: ${model}
  capabilities: [${capabilities}]
local_settings:
  backend: llama-cpp
  model: MODEL
  threads: 1
`;

beforeAll(async () => {
  server = await startTestServer({
    configDir: await demoConfigDir({ "demo.yaml": registration("demo", "chat, code_completion"), "chat-only.yaml": registration("chat-only", "chat") }),
  });
});
afterAll(() => server.close());

const post = (path: string, body: object, headers?: Record<string, string>) => sgPost(server.url, path, body, headers);
const FORMS = [
  { name: "legacy", query: "", body: LEGACY_BODY, version: 0 },
  { name: "api-version=1", query: "?api-version=1", body: V1_BODY, version: 1 },
  { name: "api-version=2 with content parts", query: "?api-version=2", body: V2_BODY, version: 2 },
];

describe.each([STREAM, CODE])("%s on the demo model", (path) => {
  it.each(FORMS)("$name, streaming: completion events, the last with its stopReason, then done", async ({ query, body, version }) => {
    const res = await post(`${path}${query}`, { ...body, model: "demo" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { text, stopReason } = expectCompletionStream(res.events!, version);
    expect(text.length).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(stopReason);
  });

  it.each(FORMS)("$name, not streaming: {completion, stopReason}", async ({ query, body }) => {
    const res = await post(`${path}${query}`, { ...body, model: "demo", stream: false });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json).sort()).toEqual(["completion", "stopReason"]);
    expect(typeof res.json.completion).toBe("string");
    expect(["stop", "length"]).toContain(res.json.stopReason);
  });
});

describe("sampling and stop reasons on the demo model", () => {
  it("maxTokensToSample 3 stops with length; Cody's topK/topP -1 mean not set", async () => {
    const res = await post(STREAM, { ...LEGACY_BODY, model: "demo", maxTokensToSample: 3, topK: -1, topP: -1, stream: false });
    expect(res.status).toBe(200);
    expect(res.json.stopReason).toBe("length");
  });

  it("fields the API does not declare are ignored, as Sourcegraph's server does (newer Cody releases add some)", async () => {
    const res = await post(STREAM, {
      ...V1_BODY,
      model: "demo",
      maxTokensToSample: 2,
      stream: false,
      prediction: { type: "content", content: "x" },
      rewriteSpeaker: true,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ stopReason: "length" });
  });

  it("topK and topP are taken; Bearer auth is accepted as well as token", async () => {
    const res = await post(STREAM, { ...V1_BODY, model: "demo", topK: 20, topP: 0.9, maxTokensToSample: 2 }, { authorization: "Bearer sk-x" });
    expect(res.status).toBe(200);
    expect(expectCompletionStream(res.events!, 0).stopReason).toBe("length");
  });
});

describe("errors before the answer are plain text with their status", () => {
  it("/code on a model without code completion is a 400 saying so", async () => {
    const res = await post(CODE, { ...LEGACY_BODY, model: "chat-only" });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toBe('model "chat-only" is not configured for code completion');
  });

  it("an unknown model is a 404 naming it", async () => {
    const res = await post(`${STREAM}?api-version=1`, { ...V1_BODY, model: "no-such-model" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain("no-such-model");
  });

  it("a request the schema refuses (an unknown speaker) is a 400", async () => {
    const res = await post(STREAM, { ...LEGACY_BODY, model: "demo", messages: [{ speaker: "bot", text: "hi" }] });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain("speaker");
  });

  it("a content part of another type is a 400 naming it", async () => {
    const res = await post(`${STREAM}?api-version=2`, { ...V2_BODY, model: "demo", messages: [{ speaker: "human", content: [{ type: "tool_call" }] }] });
    expect(res.status).toBe(400);
    expect(res.text).toContain("messages[0].content[0]");
  });

  it.each([
    ["an image_url part without its url", { messages: [{ speaker: "human", content: [{ type: "image_url" }] }] }, "messages[0].content[0].image_url.url"],
    ["only holes", { messages: [{ speaker: "human" }, { speaker: "assistant", text: "" }] }, "'messages'"],
    ["an empty stop sequence", { stopSequences: [""] }, "stopSequences"],
  ])("%s is a 400 naming the field", async (_name, extra, named) => {
    const res = await post(`${STREAM}?api-version=2`, { ...V2_BODY, model: "demo", ...extra });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain(named);
  });

  it.each([
    [STREAM, {}, "no default model is configured for chat"],
    [STREAM, { fast: true }, "no default model is configured for fast chat"],
    [CODE, {}, "no default model is configured for code completion"],
  ])("%s without a model and no default configured (%j) is a 400", async (path, extra, message) => {
    const res = await post(path, { ...LEGACY_BODY, ...extra });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toContain(message);
  });
});
