import OpenAI from "openai";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { defaultRoute, sendJson, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

const KEY_ENV = "UNDERSTUDY_TEST_UPSTREAM_KEY_BASICS";
let upstream: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  process.env[KEY_ENV] = "sk-upstream-basics-0123456789";
  upstream = await startFakeUpstream();
  const endpoint = { url: upstream.url, api_key_env: KEY_ENV };
  gw = await startGateway({
    providers: [
      { id: "gpu", type: "openai-compatible", profile: "vllm", endpoints: [endpoint] },
      { id: "plain", type: "openai-compatible", endpoints: [endpoint] },
      { id: "cpp", type: "openai-compatible", profile: "llamacpp-server", endpoints: [endpoint] },
      { id: "tgi", type: "huggingface-tgi", endpoints: [endpoint] },
      { id: "next", type: "openai-compatible", profile: "understudy", endpoints: [endpoint] },
    ],
    models: {
      qwen: { provider: "gpu", upstream_model: "Qwen/Qwen2.5-7B-Instruct" },
      gpt: { provider: "plain", upstream_model: "gpt-4o-mini" },
      local: { provider: "cpp", upstream_model: "any" },
      zephyr: { provider: "tgi", backend: "huggingface-tgi" },
      chained: { provider: "next", upstream_model: "demo" },
    },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
  delete process.env[KEY_ENV];
});
beforeEach(() => upstream.route(undefined));

const hi = [{ role: "user" as const, content: "hi" }];
const last = () => upstream.requests[upstream.requests.length - 1];

describe("model resolution through the openai SDK", () => {
  it.each([
    ["model ref provider::api_version::model", "gpu::v1::qwen"],
    ["legacy provider/model", "gpu/qwen"],
    ["legacy provider/upstream model", "gpu/Qwen/Qwen2.5-7B-Instruct"],
    ["bare upstream model id", "Qwen/Qwen2.5-7B-Instruct"],
  ])("%s reaches the registration and answers with the name the client used", async (_form, name) => {
    const r = await gw.client.chat.completions.create({ model: name, messages: hi, max_tokens: 5 });
    expect(r.model).toBe(name);
    expect(last().body.model).toBe("Qwen/Qwen2.5-7B-Instruct");
    expect((await gw.client.models.retrieve(name)).id).toBe("qwen");
  });
});

describe("openai-compatible backend: pass-through", () => {
  it("sends upstream_model and the provider key upstream, and answers with the client's model name", async () => {
    const { data, response } = await gw.client.chat.completions.create({ model: "qwen", messages: hi, max_tokens: 5 }).withResponse();
    expect(data.model).toBe("qwen");
    expect(data.choices[0].message.content).toBe("Hello world");
    expect(data.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(response.headers.get("x-understudy-endpoint")).toBe("gpu#0");
    const req = last();
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.body).toMatchObject({ model: "Qwen/Qwen2.5-7B-Instruct", messages: hi, max_tokens: 5 });
    expect(req.headers.authorization).toBe("Bearer sk-upstream-basics-0123456789");
    expect(req.headers.authorization).not.toContain("sk-client");
  });

  it("streams chunks with the client's model name and passes stream_options through", async () => {
    const { data: stream, response } = await gw.client.chat.completions
      .create({ model: "qwen", messages: hi, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get("x-understudy-endpoint")).toBe("gpu#0");
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => c.model === "qwen")).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("Hello world");
    expect(chunks[chunks.length - 1].usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(last().body.stream_options).toEqual({ include_usage: true });
    expect(last().headers.accept).toBe("text/event-stream");
  });

  it.each([
    [
      "compact, model first (relayed as text)",
      (m: string) =>
        `{"id":"c1","object":"chat.completion","created":1,"model":"${m}","choices":[{"index":0,"message":{"role":"assistant","content":"say \\"model\\": \\"x\\""},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
    ],
    [
      "model after a nested object (parsed)",
      (m: string) =>
        `{"id":"c1","object":"chat.completion","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":"say \\"model\\": \\"x\\""},"finish_reason":"stop","logprobs":null}],"model":"${m}","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
    ],
    [
      "pretty-printed over several lines (parsed)",
      (m: string) =>
        JSON.stringify(
          {
            id: "c1",
            object: "chat.completion",
            created: 1,
            model: m,
            choices: [{ index: 0, message: { role: "assistant", content: 'say "model": "x"' }, finish_reason: "stop", logprobs: null }],
            usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
          },
          null,
          2,
        ),
    ],
  ])("answers a non-streaming call with the client's model name and the content intact: %s", async (_shape, text) => {
    upstream.route((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(text("Qwen/Qwen2.5-7B-Instruct"));
    });
    const r = await gw.client.chat.completions.create({ model: "qwen", messages: hi });
    expect(r.model).toBe("qwen");
    expect(r.choices[0].message.content).toBe('say "model": "x"');
    expect(r.usage).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
  });

  it("never answers a 2xx error payload or a non-object body as a success", async () => {
    upstream.route((_req, res) => sendJson(res, 200, { error: { message: "model is loading", type: "server_error", code: null } }));
    const loading = await gw.client.chat.completions.create({ model: "qwen", messages: hi }).catch((e) => e);
    expect(loading).toBeInstanceOf(OpenAI.APIError);
    expect(loading.status).toBe(502);
    expect(loading.message).toContain("gpu: model is loading");
    upstream.route((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("[1,2,3]");
    });
    const list = await gw.client.chat.completions.create({ model: "qwen", messages: hi }).catch((e) => e);
    expect(list.status).toBe(502);
    expect(list.error).toMatchObject({ code: "upstream_protocol_error" });
  });

  it("reports no usage when the upstream sends none", async () => {
    upstream.route(async (req, res) => {
      const { stream_options: _dropped, ...body } = req.body;
      return defaultRoute({ ...req, body }, res);
    });
    const stream = await gw.client.chat.completions.create({ model: "qwen", messages: hi, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it("serves completions, streamed completions and embeddings", async () => {
    const completion = await gw.client.completions.create({ model: "qwen", prompt: "Once" });
    expect(completion).toMatchObject({ model: "qwen", choices: [{ text: "Once upon" }] });
    expect(last().path).toBe("/v1/completions");
    const stream = await gw.client.completions.create({ model: "qwen", prompt: "Once", stream: true });
    let text = "";
    for await (const c of stream) {
      expect(c.model).toBe("qwen");
      text += c.choices[0].text;
    }
    expect(text).toBe("Once upon");
    const emb = await gw.client.embeddings.create({ model: "qwen", input: ["a", "b"] });
    expect(emb.model).toBe("qwen");
    expect(emb.data.map((d) => d.embedding)).toEqual([
      [0.25, -0.5, 0.125],
      [0.25, -0.5, 0.125],
    ]);
    expect(last().body).toMatchObject({ model: "Qwen/Qwen2.5-7B-Instruct", input: ["a", "b"] });
  });
});

describe("connections", () => {
  it("reuses keep-alive connections for JSON and streamed calls", async () => {
    const before = upstream.requests.length;
    for (let i = 0; i < 10; i++) {
      await gw.client.chat.completions.create({ model: "qwen", messages: hi });
      for await (const _c of await gw.client.chat.completions.create({ model: "qwen", messages: hi, stream: true }));
    }
    const ports = new Set(upstream.requests.slice(before).map((r) => r.remotePort));
    expect(ports.size).toBeLessThanOrEqual(2);
  });
});

describe("x-localai-extensions per profile", () => {
  const ext = (fields: Record<string, unknown>) => ({ "x-localai-extensions": fields }) as Record<string, unknown>;

  it("vllm: translates top_k, min_p, repeat_penalty, ignore_eos and grammar to vLLM's fields", async () => {
    await gw.client.chat.completions.create({
      model: "qwen",
      messages: hi,
      ...ext({ top_k: 40, min_p: 0.05, repeat_penalty: 1.1, ignore_eos: true, grammar: 'root ::= "yes"' }),
    } as never);
    const body = last().body;
    expect(body).toMatchObject({ top_k: 40, min_p: 0.05, repetition_penalty: 1.1, ignore_eos: true, structured_outputs: { grammar: 'root ::= "yes"' } });
    expect(body["x-localai-extensions"]).toBeUndefined();
  });

  it("llamacpp-server: passes its native parameters under their own names", async () => {
    await gw.client.chat.completions.create({ model: "local", messages: hi, ...ext({ top_k: 5, typical_p: 0.9, mirostat: 2, repeat_last_n: 32 }) } as never);
    expect(last().body).toMatchObject({ top_k: 5, typical_p: 0.9, mirostat: 2, repeat_last_n: 32 });
  });

  it("understudy: passes x-localai-extensions through unchanged", async () => {
    await gw.client.chat.completions.create({ model: "chained", messages: hi, ...ext({ top_k: 3, grammar: 'root ::= "a"', mirostat: 1 }) } as never);
    expect(last().body["x-localai-extensions"]).toEqual({ top_k: 3, grammar: 'root ::= "a"', mirostat: 1 });
    expect(last().body.top_k).toBeUndefined();
  });

  it.each([
    ["vllm", "qwen", { typical_p: 0.9 }, "x-localai-extensions.typical_p"],
    ["openai", "gpt", { top_k: 40 }, "x-localai-extensions.top_k"],
    ["tgi", "zephyr", { min_p: 0.1 }, "x-localai-extensions.min_p"],
  ])("%s: an extension the profile cannot carry is a 400 naming it, and nothing is sent upstream", async (_profile, model, fields, param) => {
    const before = upstream.requests.length;
    const err = await gw.client.chat.completions.create({ model, messages: hi, ...ext(fields) } as never).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe(param);
    expect(err.code).toBe("unsupported_parameter");
    expect(err.message).toContain(param);
    expect(upstream.requests.length).toBe(before);
  });
});

describe("huggingface-tgi backend", () => {
  it("serves chat with model 'tgi' upstream and refuses completions", async () => {
    const out = await gw.client.chat.completions.create({ model: "zephyr", messages: hi });
    expect(out.model).toBe("zephyr");
    expect(last().body.model).toBe("tgi");
    const err = await gw.client.completions.create({ model: "zephyr", prompt: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("model");
  });

  it("reads TGI's string-shaped errors", async () => {
    upstream.route((_req, res) => {
      res.writeHead(422, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "Input validation error: `inputs` must have less than 4096 tokens", error_type: "validation" }));
    });
    const err = await gw.client.chat.completions.create({ model: "zephyr", messages: hi }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(err.status).toBe(422);
    expect(err.message).toContain("tgi: Input validation error");
    expect(err.type).toBe("validation");
  });
});
