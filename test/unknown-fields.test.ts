/**
 * A top-level field the extended spec's request schema does not declare is OpenAI's 400
 * `Unrecognized request argument supplied: <name>` on a backend that cannot honour it; a provider
 * with `extra_fields: pass` (the default of the vllm, llamacpp-server and understudy profiles)
 * sends it upstream unchanged, as vLLM takes `top_k` or `guided_json` from `extra_body` clients.
 */
import yaml from "js-yaml";
import OpenAI from "openai";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { postJson, startTestServer, writeConfigDir, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

let upstream: FakeUpstream;
let server: TestServer;

const provider = (id: string, extra: Record<string, unknown>) => ({ id, type: "openai-compatible", endpoints: [{ url: upstream.url }], ...extra });
const registration = (model: string, providerId: string, backend = "openai-compatible") =>
  yaml.dump({ registration: { model }, local_settings: { backend, provider: providerId, upstream_model: `${model}-upstream` } });

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const providers = [
    provider("vllm", { profile: "vllm" }),
    provider("openai", {}),
    provider("strict-vllm", { profile: "vllm", extra_fields: "reject" }),
    provider("open-openai", { extra_fields: "pass" }),
    provider("cpp", { profile: "llamacpp-server" }),
    provider("next", { profile: "understudy" }),
    provider("ollama", { profile: "ollama" }),
    { id: "tgi", type: "huggingface-tgi", endpoints: [{ url: upstream.url }] },
  ];
  const dir = await demoConfigDir({
    "providers.yaml": yaml.dump(providers),
    "demo.yaml": demoRegistration("demo"),
    "on-vllm.yaml": registration("on-vllm", "vllm"),
    "on-openai.yaml": registration("on-openai", "openai"),
    "on-strict-vllm.yaml": registration("on-strict-vllm", "strict-vllm"),
    "on-open-openai.yaml": registration("on-open-openai", "open-openai"),
    "on-cpp.yaml": registration("on-cpp", "cpp"),
    "on-next.yaml": registration("on-next", "next"),
    "on-ollama.yaml": registration("on-ollama", "ollama"),
    "on-tgi.yaml": registration("on-tgi", "tgi", "huggingface-tgi"),
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

const hi = [{ role: "user" as const, content: "hi" }];
const last = () => upstream.requests[upstream.requests.length - 1];
const post = (path: string, body: unknown) => postJson(`${server.url}/v1${path}`, body);

async function expectUnrecognized(call: Promise<unknown>, field: string): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  const apiError = err as InstanceType<typeof OpenAI.APIError>;
  expect(apiError.status).toBe(400);
  expect(apiError.error).toEqual({
    message: `Unrecognized request argument supplied: ${field}`,
    type: "invalid_request_error",
    param: field,
    code: "unknown_parameter",
  });
}

describe("llama-cpp refuses fields the spec does not declare", () => {
  it("chat, through the openai SDK: a 400 naming the field", async () => {
    await expectUnrecognized(server.client.chat.completions.create({ model: "demo", messages: hi, max_tokens: 1, bogus_field: 3 } as never), "bogus_field");
  });

  it("completions and embeddings too", async () => {
    await expectUnrecognized(server.client.completions.create({ model: "demo", prompt: "x", max_tokens: 1, top_k: 5 } as never), "top_k");
    await expectUnrecognized(server.client.embeddings.create({ model: "demo", input: "x", truncate: true } as never), "truncate");
  });

  it("a field of another endpoint is unknown here (messages on embeddings)", async () => {
    const res = await post("/embeddings", { model: "demo", input: "x", messages: hi });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ param: "messages", code: "unknown_parameter" });
  });

  it("declared fields, x-localai-extensions included, are not unknown", async () => {
    const res = await post("/chat/completions", { model: "demo", messages: hi, max_tokens: 1, user: "u", n: 1, "x-localai-extensions": { top_k: 5 } });
    expect(res.status).toBe(200);
  });

  it("an unknown model is still a 404: the check needs the backend", async () => {
    const res = await post("/chat/completions", { model: "nope", messages: hi, bogus_field: 1 });
    expect(res.status).toBe(404);
  });
});

describe("openai-compatible: extra_fields", () => {
  it("profile vllm passes top_k, guided_json and repetition_penalty upstream unchanged (extra_body)", async () => {
    const guided = { type: "object", properties: { a: { type: "string" } } };
    // What the Python SDK's extra_body does: the fields go at the top level of the JSON body.
    const r = await server.client.chat.completions.create({ model: "on-vllm", messages: hi, top_k: 5, guided_json: guided, repetition_penalty: 1.1 } as never);
    expect((r as { model: string }).model).toBe("on-vllm");
    expect(last().body).toEqual({ model: "on-vllm-upstream", messages: hi, top_k: 5, guided_json: guided, repetition_penalty: 1.1 });
  });

  it.each([
    ["completions", "/completions", { prompt: "x" }],
    ["embeddings", "/embeddings", { input: "x" }],
  ])("profile vllm passes them on %s too", async (_name, path, fields) => {
    expect((await post(path, { model: "on-vllm", ...fields, min_p: 0.1 })).status).toBe(200);
    expect(last().body).toEqual({ model: "on-vllm-upstream", ...fields, min_p: 0.1 });
  });

  it.each(["on-cpp", "on-next"])("%s (llamacpp-server, understudy) passes by default", async (model) => {
    expect((await post("/chat/completions", { model, messages: hi, top_k: 5 })).status).toBe(200);
    expect(last().body).toEqual({ model: `${model}-upstream`, messages: hi, top_k: 5 });
  });

  it.each(["on-openai", "on-ollama", "on-strict-vllm", "on-tgi"])("%s refuses, and nothing is sent upstream", async (model) => {
    const before = upstream.requests.length;
    await expectUnrecognized(server.client.chat.completions.create({ model, messages: hi, top_k: 5 } as never), "top_k");
    expect(upstream.requests.length).toBe(before);
  });

  it("an explicit extra_fields: pass on an openai profile passes", async () => {
    expect((await post("/chat/completions", { model: "on-open-openai", messages: hi, seed_extra: "x" })).status).toBe(200);
    expect(last().body).toEqual({ model: "on-open-openai-upstream", messages: hi, seed_extra: "x" });
  });
});

describe("extra_fields in providers.yaml", () => {
  const problemsOf = (providers: unknown[], model: string) =>
    loadConfig(writeConfigDir({ "providers.yaml": yaml.dump(providers), "m.yaml": model })).problems.map(formatProblem);

  it("takes only pass or reject", () => {
    const problems = problemsOf([{ id: "p", type: "openai-compatible", extra_fields: "maybe", endpoints: [{ url: "http://x:1/v1" }] }], registration("m", "p"));
    expect(problems).toContainEqual(expect.stringMatching(/^providers\.yaml:\d+: \[0\]\.extra_fields: must be one of: "pass", "reject"/));
  });

  it("is not a huggingface-tgi key: TGI's Messages API ignores fields it does not know", () => {
    const problems = problemsOf(
      [{ id: "t", type: "huggingface-tgi", extra_fields: "pass", endpoints: [{ url: "http://x:1/v1" }] }],
      registration("m", "t", "huggingface-tgi"),
    );
    expect(problems).toEqual([expect.stringMatching(/m\.yaml:\d+: local_settings\.provider: .*extra_fields/)]);
  });
});
