/**
 * Registrations keyed as Sourcegraph keys them (issue 12): one name under two providers, per-endpoint
 * registrations, the default model names, and the unknown-model error's wording.
 */
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { buildIndex, resolveModel } from "../src/config/resolve.js";
import type { Registration } from "../src/config/registration.js";
import { startTestServer, writeConfigDir, type TestServer } from "./helpers/server.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

const upstreamReg = (model: string, provider: string, extra = "") =>
  `registration:\n  model: ${model}\n${extra}local_settings:\n  backend: openai-compatible\n  provider: ${provider}\n  upstream_model: gpt-4o\n`;
const localReg = (model: string, extra = "") => `registration:\n  model: ${model}\n${extra}local_settings:\n  backend: llama-cpp\n  model: m.gguf\n`;

function dirWith(files: Record<string, string>): string {
  const dir = writeConfigDir(files);
  fs.writeFileSync(path.join(dir, "m.gguf"), "GGUF");
  return dir;
}
const problemsOf = (files: Record<string, string>) => loadConfig(dirWith(files)).problems.map(formatProblem);
const providersYaml = (azure: string, openai: string) =>
  `- id: azure\n  type: openai-compatible\n  endpoints: [{url: "${azure}"}]\n- id: openai\n  type: openai-compatible\n  endpoints: [{url: "${openai}"}]\n`;

describe("one name under two providers, through the server", () => {
  let azure: FakeUpstream;
  let openai: FakeUpstream;
  let server: TestServer;
  beforeAll(async () => {
    [azure, openai] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
    const dir = dirWith({
      // azure comes first in providers.yaml: a bare `gpt-4o` is azure's.
      "providers.yaml": providersYaml(azure.url, openai.url),
      "openai.yaml": upstreamReg("gpt-4o", "openai"),
      "azure.yaml": upstreamReg("gpt-4o", "azure", "  aliases: [four-o]\n"),
      "defaults.yaml": "default_models:\n  chat: openai::v1::gpt-4o\n",
    });
    server = await startTestServer({ configDir: dir });
  });
  afterAll(async () => {
    await server.close();
    await Promise.all([azure.close(), openai.close()]);
  });

  const ask = (model: string) => server.client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
  const whoAnswers = async (model: string) => {
    const before = [azure.requests.length, openai.requests.length];
    await ask(model);
    return azure.requests.length > before[0] ? "azure" : openai.requests.length > before[1] ? "openai" : "nobody";
  };

  it.each([
    ["model ref (openai)", "openai::v1::gpt-4o", "openai"],
    ["model ref (azure)", "azure::v1::gpt-4o", "azure"],
    ["legacy provider/name (openai)", "openai/gpt-4o", "openai"],
    ["legacy provider/name (azure)", "azure/gpt-4o", "azure"],
    ["legacy provider/alias", "azure/four-o", "azure"],
    ["bare name: the provider first in providers.yaml", "gpt-4o", "azure"],
    ["default", "default", "openai"],
    ["default-chat", "default-chat", "openai"],
  ])("%s", async (_form, model, expected) => {
    expect(await whoAnswers(model)).toBe(expected);
  });

  it("answers 400 for a default name with no default configured", async () => {
    for (const [model, words] of [
      ["default-fast-chat", "fast chat"],
      ["default-code-completion", "code completion"],
    ]) {
      const err = await ask(model).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.error).toMatchObject({ type: "invalid_request_error", message: `no default model is configured for ${words}` });
    }
  });

  it("lists the name once in /v1/models and the other registration by its model ref", async () => {
    const ids = (await server.client.models.list()).data.map((m) => m.id).sort();
    expect(ids).toEqual(["gpt-4o", "openai::v1::gpt-4o"]);
    const retrieved = await server.client.models.retrieve("openai/gpt-4o");
    expect(retrieved).toMatchObject({ id: "openai::v1::gpt-4o", owned_by: "openai" });
  });

  it("keeps OpenAI's 404 shape and adds Sourcegraph's wording, listing model refs", async () => {
    const err = await ask("gpt-9").catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.error).toMatchObject({ type: "invalid_request_error", param: "model", code: "model_not_found" });
    expect(err.message).toContain('unable to find model "gpt-9"');
    expect(err.message).toContain("azure::v1::gpt-4o, openai::v1::gpt-4o");
  });
});

describe("resolution order and limits (index)", () => {
  const base = { aliases: [], capabilities: ["chat"], defaults: {}, overrides: {} };
  const regs = [
    { ...base, model: "m", endpoints: ["createChatCompletion"], model_ref: "vllm::v1::m", owned_by: "vllm" },
    { ...base, model: "m", endpoints: ["createEmbedding"], model_ref: "understudy::v1::m", owned_by: "understudy" },
    { ...base, model: "m", endpoints: ["createChatCompletion"], model_ref: "tgi::v1::m", owned_by: "tgi" },
    ...Array.from({ length: 12 }, (_, i) => ({ ...base, model: `x${i}`, endpoints: ["createChatCompletion"], model_ref: `vllm::v1::x${i}`, owned_by: "vllm" })),
  ] as unknown as Registration[];
  const index = buildIndex(regs, ["tgi", "vllm"]);

  it("a bare name prefers local models, then providers.yaml order, among those serving the endpoint", () => {
    expect(resolveModel(index, "m", "createEmbedding").model_ref).toBe("understudy::v1::m");
    expect(resolveModel(index, "m", "createChatCompletion").model_ref).toBe("tgi::v1::m");
    expect(resolveModel(index, "vllm::v1::m", "createChatCompletion").model_ref).toBe("vllm::v1::m");
    expect(() => resolveModel(index, "vllm::v1::m", "createEmbedding")).toThrow(/not registered for createEmbedding/);
  });

  it("lists at most 10 model refs in the unknown-model error", () => {
    expect(() => resolveModel(index, "nope")).toThrow(/Model refs: (\S+, ){9}\S+ \(and 5 more\)\./);
  });
});

describe("loading keyed registrations", () => {
  it("accepts one name per endpoint, and under two providers", () => {
    const loaded = loadConfig(
      dirWith({
        "providers.yaml": providersYaml("http://a/v1", "http://b/v1"),
        "chat.yaml": upstreamReg("m", "openai", "  endpoints: [createChatCompletion]\n"),
        "embed.yaml": localReg("m", "  endpoints: [createEmbedding]\n"),
        "azure.yaml": upstreamReg("m", "azure", "  endpoints: [createChatCompletion]\n"),
      }),
    );
    expect(loaded.problems).toEqual([]);
    expect(loaded.registrations.map((r) => r.model_ref).sort()).toEqual(["azure::v1::m", "openai::v1::m", "understudy::v1::m"]);
  });

  it("refuses overlapping endpoints for one name under one provider, naming both files and lines", () => {
    const problems = problemsOf({
      "a.yaml": localReg("m", "  endpoints: [createChatCompletion, createEmbedding]\n"),
      "list.yaml": `- ${localReg("other").replace(/\n/g, "\n  ")}\n- ${localReg("m", "  endpoints: [createEmbedding]\n").replace(/\n(?=.)/g, "\n  ")}`,
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^list\.yaml:8: \[1\]\.registration\.model: duplicate model name or alias 'm'.*a\.yaml:2 and list\.yaml:8 both serve createEmbedding/,
      ),
    ]);
  });

  it("reserves the default names, and a default that names a default", () => {
    expect(problemsOf({ "a.yaml": localReg("default-chat") })).toEqual([expect.stringMatching(/^a\.yaml:2: registration\.model: 'default-chat' is reserved/)]);
    expect(problemsOf({ "a.yaml": localReg("a"), "defaults.yaml": "default_models:\n  chat: default\n" })).toEqual([
      expect.stringMatching(/^defaults\.yaml:2: default_models\.chat: 'default' names a default itself/),
    ]);
  });

  it("validates default_models and recommended at load", () => {
    const problems = problemsOf({
      "a.yaml": localReg("a", "  endpoints: [createEmbedding]\n"),
      "defaults.yaml": "default_models:\n  code_completion: a\n  fast_chat: nobody\nrecommended: [understudy::v1::a, x::v1::y]\n",
    });
    expect(problems).toEqual([
      expect.stringMatching(/^defaults\.yaml:2: default_models\.code_completion: 'a' lacks the 'code_completion' capability/),
      expect.stringMatching(/^defaults\.yaml:3: default_models\.fast_chat: 'nobody' is not a registered model/),
      expect.stringMatching(/^defaults\.yaml:4: recommended\[1\]: 'x::v1::y' is not the model ref of a registration/),
    ]);
    expect(problemsOf({ "a.yaml": localReg("a"), "defaults.yaml": "default_models:\n  chat: a\nchat: a\n" })[0]).toMatch(/unknown key 'chat'/);
  });
});
