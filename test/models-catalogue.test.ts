import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { buildIndex, resolveModel } from "../src/config/resolve.js";
import type { Registration } from "../src/config/registration.js";
import { projectRoot } from "../src/core/paths.js";
import { startTestServer, writeConfigDir, type TestServer } from "./helpers/server.js";

function configDir(): string {
  const dir = writeConfigDir({
    "chat.yaml": `registration:
  model: chatty
  aliases: [chatty-latest]
  display_name: Chatty
  context_window: 4096
  capabilities: [chat, tools]
  status: beta
local_settings:
  backend: llama-cpp
  model: m.gguf
`,
    "embed.yaml": `registration:
  model: embedder
  endpoints: [createEmbedding]
local_settings:
  backend: llama-cpp
  model: m.gguf
`,
    "defaults.yaml": "chat: chatty-latest\n",
  });
  fs.writeFileSync(path.join(dir, "m.gguf"), "GGUF");
  return dir;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ configDir: configDir() });
});
afterAll(() => server.close());

describe("GET /v1/models through the openai SDK", () => {
  it("lists every registration in OpenAI's shape plus the catalogue metadata", async () => {
    const page = await server.client.models.list();
    const chatty = page.data.find((m) => m.id === "chatty") as any;
    expect(chatty).toMatchObject({
      id: "chatty",
      object: "model",
      owned_by: "understudy",
      display_name: "Chatty",
      context_window: 4096,
      capabilities: ["chat", "tools"],
      status: "beta",
      aliases: ["chatty-latest"],
    });
    expect(typeof chatty.created).toBe("number");
    expect(page.data.map((m) => m.id).sort()).toEqual(["chatty", "embedder"]);
  });

  it("retrieves a model by name, alias and model ref", async () => {
    expect((await server.client.models.retrieve("chatty")).id).toBe("chatty");
    expect((await server.client.models.retrieve("chatty-latest")).id).toBe("chatty");
    expect((await server.client.models.retrieve("understudy::v1::chatty")).id).toBe("chatty");
  });

  it("answers 404 model_not_found for an unknown model, listing the available ones", async () => {
    const err = await server.client.models.retrieve("gpt-9").catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe("model_not_found");
    expect(err.param).toBe("model");
    expect(err.message).toMatch(/Available models: chatty, embedder/);
    const chat = await server.client.chat.completions.create({ model: "gpt-9", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(chat).toBeInstanceOf(OpenAI.NotFoundError);
    expect(chat.param).toBe("model");
  });

  it("answers 400 naming the endpoints a known model serves when it is not registered for this one", async () => {
    const err = await server.client.chat.completions.create({ model: "embedder", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("model");
    expect(err.message).toMatch(/'embedder' is not registered for createChatCompletion .*it serves: createEmbedding/);
  });

  it("serves /v1/models.json in the model-configuration shape", async () => {
    const res = await fetch(`${server.url}/v1/models.json`);
    const body = await res.json();
    expect(body).toMatchObject({
      schema_version: "1.0",
      revision: expect.stringMatching(/^[0-9a-f]{16}$/),
      providers: [expect.objectContaining({ id: "understudy" })],
      default_models: { chat: "understudy::v1::chatty", fast_chat: null, code_completion: null },
    });
    expect(body.models.map((m: any) => m.model_ref)).toEqual(["understudy::v1::chatty", "understudy::v1::embedder"]);
    expect(body.models[0]).toMatchObject({ model_name: "chatty", capabilities: ["chat", "tools"], context_window: 4096, status: "beta" });
  });
});

describe("model resolution order", () => {
  const base = { endpoints: ["createChatCompletion"], aliases: [], capabilities: ["chat"], defaults: {}, overrides: {} };
  const regs = [
    { ...base, model: "local", model_ref: "understudy::v1::local", owned_by: "understudy", aliases: ["l"] },
    { ...base, model: "qwen", model_ref: "gpu::v1::qwen", owned_by: "gpu", upstream_model: "Qwen/Qwen2.5-7B-Instruct" },
    { ...base, model: "llama-a", model_ref: "gpu::v1::llama-a", owned_by: "gpu", upstream_model: "meta/llama" },
    { ...base, model: "llama-b", model_ref: "other::v1::llama-b", owned_by: "other", upstream_model: "meta/llama" },
  ] as unknown as Registration[];
  const index = buildIndex(regs);
  const resolve = (name: string) => resolveModel(index, name, "createChatCompletion").model;

  it.each([
    ["exact name", "qwen", "qwen"],
    ["alias", "l", "local"],
    ["model ref provider::api_version::model", "gpu::v1::qwen", "qwen"],
    ["legacy provider/model (registered name)", "gpu/qwen", "qwen"],
    ["legacy provider/model (upstream id)", "other/meta/llama", "llama-b"],
    ["bare upstream model id used by one registration", "Qwen/Qwen2.5-7B-Instruct", "qwen"],
  ])("%s", (_form, name, expected) => {
    expect(resolve(name)).toBe(expected);
  });

  it("does not guess a bare upstream id that two registrations use", () => {
    expect(() => resolve("meta/llama")).toThrow(/does not exist/);
  });
});

describe("understudy models export", () => {
  it("writes the shipped config's catalogue byte for byte as committed in config/models.json", () => {
    const root = projectRoot();
    const run = () =>
      spawnSync(process.execPath, [path.join(root, "bin/understudy.js"), "models", "export", "--config", path.join(root, "config")], { encoding: "utf8" });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(fs.readFileSync(path.join(root, "config/models.json"), "utf8"));
    expect(run().stdout).toBe(first.stdout);
  });
});
