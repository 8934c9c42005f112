/**
 * The client's request, as sent: an upstream receives what the client sent plus what the
 * registration sets (request_defaults, request_overrides), and nothing else. The spec's defaults
 * (`n: 1`, `temperature: 1`, completions' `max_tokens: 16`...) are documentation, never injected.
 */
import yaml from "js-yaml";
import { postJson, startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

let upstream: FakeUpstream;
let server: TestServer;

const upstreamRegistration = (model: string, extra: Record<string, unknown> = {}) =>
  yaml.dump({
    registration: { model, allow_debug: true },
    local_settings: { backend: "openai-compatible", provider: "up", upstream_model: `${model}-upstream` },
    ...extra,
  });

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const dir = await demoConfigDir({
    "providers.yaml": yaml.dump([{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }]),
    "plain.yaml": upstreamRegistration("plain"),
    "shaped.yaml": upstreamRegistration("shaped", {
      request_defaults: { createChatCompletion: { temperature: 0.3 }, createCompletion: { temperature: 0.3 }, createEmbedding: { user: "from-defaults" } },
      request_overrides: { createCompletion: { max_tokens: 7 } },
    }),
    "demo.yaml": demoRegistration("demo"),
  });
  server = await startTestServer({ configDir: dir });
});
afterAll(async () => {
  if (server) {
    await server.close();
    server.config.current().retire();
  }
  await upstream?.close();
});

const hi = [{ role: "user", content: "hi" }];
const last = () => upstream.requests[upstream.requests.length - 1];
const post = (path: string, body: unknown) => postJson(`${server.url}/v1${path}`, body);

describe("an upstream receives only what the client and the registration set", () => {
  it("a minimal chat request (through the openai SDK) arrives as model and messages", async () => {
    const r = await server.client.chat.completions.create({ model: "plain", messages: [{ role: "user", content: "hi" }] });
    expect(r.model).toBe("plain");
    expect(last().body).toEqual({ model: "plain-upstream", messages: hi });
  });

  it("a minimal streamed chat request arrives with stream and nothing else", async () => {
    const stream = await server.client.chat.completions.create({ model: "plain", messages: [{ role: "user", content: "hi" }], stream: true });
    for await (const _ of stream) void _;
    expect(last().body).toEqual({ model: "plain-upstream", messages: hi, stream: true });
  });

  it("a minimal completions request arrives as model and prompt (no max_tokens: 16, suffix, best_of)", async () => {
    const res = await post("/completions", { model: "plain", prompt: "Once" });
    expect(res.status).toBe(200);
    expect(last().body).toEqual({ model: "plain-upstream", prompt: "Once" });
  });

  it("a minimal embeddings request arrives as model and input (no encoding_format)", async () => {
    const res = await post("/embeddings", { model: "plain", input: "x" });
    expect(res.status).toBe(200);
    expect(last().body).toEqual({ model: "plain-upstream", input: "x" });
  });

  it("request_defaults and request_overrides are added, per endpoint", async () => {
    expect((await post("/chat/completions", { model: "shaped", messages: hi })).status).toBe(200);
    expect(last().body).toEqual({ model: "shaped-upstream", messages: hi, temperature: 0.3 });
    expect((await post("/completions", { model: "shaped", prompt: "Once", max_tokens: 50 })).status).toBe(200);
    expect(last().body).toEqual({ model: "shaped-upstream", prompt: "Once", temperature: 0.3, max_tokens: 7 });
    expect((await post("/embeddings", { model: "shaped", input: "x" })).status).toBe(200);
    expect(last().body).toEqual({ model: "shaped-upstream", input: "x", user: "from-defaults" });
  });

  it("the client's own values (0, false, the spec's default values) are sent as the client sent them", async () => {
    expect((await post("/chat/completions", { model: "shaped", messages: hi, temperature: 0, n: 1, logprobs: false })).status).toBe(200);
    expect(last().body).toEqual({ model: "shaped-upstream", messages: hi, temperature: 0, n: 1, logprobs: false });
  });
});

describe("the debug echo is what goes to the backend", () => {
  it.each([
    ["/chat/completions", { messages: hi }],
    ["/completions", { prompt: "Once" }],
    ["/embeddings", { input: "x" }],
  ])("%s: the echo equals what the upstream received, with the client's model name", async (path, fields) => {
    const res = await post(path, { model: "shaped", ...fields, "x-localai-extensions": { debug: true } });
    expect(res.status).toBe(200);
    const echo = res.json["x-localai-debug"];
    expect(echo).toMatchObject({ registration: "shaped", backend: "openai-compatible" });
    expect(last().body).not.toHaveProperty("x-localai-extensions");
    expect(echo.request).toEqual({ ...last().body, model: "shaped" });
  });

  it("the first chunk of a stream carries the same echo", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "shaped", messages: hi, stream: true, "x-localai-extensions": { debug: true } }),
    });
    const first = (await res.text()).split("\n\n")[0];
    expect(JSON.parse(first.slice("data: ".length))["x-localai-debug"].request).toEqual({ ...last().body, model: "shaped" });
  });

  it("llama-cpp: a minimal chat request reaches the backend as model and messages", async () => {
    const res = await post("/chat/completions", { model: "demo", messages: hi, "x-localai-extensions": { debug: true } });
    expect(res.status).toBe(200);
    expect(res.json["x-localai-debug"].request).toEqual({ model: "demo", messages: hi });
  });
});

describe("what a backend does with an absent field is its own default", () => {
  it("llama-cpp completions without max_tokens stop at 16 tokens, OpenAI's documented default", async () => {
    const res = await post("/completions", { model: "demo", prompt: "Once", "x-localai-extensions": { ignore_eos: true, debug: true } });
    expect(res.status).toBe(200);
    expect(res.json["x-localai-debug"].request).not.toHaveProperty("max_tokens");
    expect(res.json.usage.completion_tokens).toBe(16);
    expect(res.json.choices[0].finish_reason).toBe("length");
  });

  it("llama-cpp embeddings without encoding_format answer floats", async () => {
    const res = await post("/embeddings", { model: "demo", input: "x" });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.json.data[0].embedding)).toBe(true);
  });
});
