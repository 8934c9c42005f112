/**
 * Model configuration as Sourcegraph models it (issue 12): client_side_config, presets, recommended,
 * and /.api/modelconfig/supported-models.json, checked against a JSON schema of Sourcegraph's shape.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { shippedPresets } from "../src/config/presets.js";
import { projectRoot } from "../src/core/paths.js";
import { startTestServer, writeConfigDir } from "./helpers/server.js";

const schema = JSON.parse(fs.readFileSync(path.join(projectRoot(), "test/schemas/sourcegraph-supported-models.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true }).compile(schema);

/** Schema-valid, and its references hold: each model's provider is listed, each default is a listed model. */
function expectSupportedModels(body: any): void {
  const valid = validate(body);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
  const providers = new Set(body.providers.map((p: any) => p.id));
  for (const m of body.models) expect(providers.has(m.modelRef.split("::")[0])).toBe(true);
  const refs = new Set(body.models.map((m: any) => m.modelRef));
  for (const ref of Object.values(body.defaultModels)) if (ref !== null) expect(refs.has(ref)).toBe(true);
}

const reg = (model: string, extra = "", top = "") => `registration:\n  model: ${model}\n${extra}local_settings:\n  backend: llama-cpp\n  model: m.gguf\n${top}`;
function dirWith(files: Record<string, string>): string {
  const dir = writeConfigDir(files);
  fs.writeFileSync(path.join(dir, "m.gguf"), "GGUF");
  return dir;
}
const problemsOf = (files: Record<string, string>) => loadConfig(dirWith(files)).problems.map(formatProblem);

describe("client_side_config and presets", () => {
  it("validates the knobs with Sourcegraph's types and bounds, naming file and line", () => {
    const problems = problemsOf({
      "a.yaml": reg(
        "a",
        "",
        "client_side_config:\n  chatTopP: 2\n  stopSequences: '</s>'\n  autocompleteMultilineTimeout: 1.5\n  chatTopK: -1\n  fimPrefix: x\n",
      ),
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^a\.yaml:7: client_side_config\.chatTopP: must be <= 1/),
        "a.yaml:8: client_side_config.stopSequences: must be array",
        "a.yaml:9: client_side_config.autocompleteMultilineTimeout: must be integer",
        expect.stringMatching(/^a\.yaml:10: client_side_config\.chatTopK: must be >= 0/),
        "a.yaml:11: client_side_config.fimPrefix: unknown key 'fimPrefix'",
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it("refuses an unknown preset, naming file, line and the presets", () => {
    expect(problemsOf({ "a.yaml": reg("a", "", "preset: starcoder9\n") })).toEqual([
      expect.stringMatching(/^a\.yaml:6: preset: unknown preset 'starcoder9' \(the presets are: deepseek-coder, .*starcoder2\)/),
    ]);
  });

  it("ships a preset per family, each with its end-of-text token, and loads each onto a registration", () => {
    const presets = shippedPresets();
    expect([...presets.keys()].sort()).toEqual(["deepseek-coder", "llama3-instruct", "mixtral-instruct", "qwen2.5-coder", "starcoder2"]);
    expect(presets.get("starcoder2")!.fim_tokens).toMatchObject({ prefix: "<fim_prefix>", suffix: "<fim_suffix>", middle: "<fim_middle>" });
    expect(presets.get("qwen2.5-coder")!.fim_tokens).toMatchObject({ prefix: "<|fim_prefix|>", middle: "<|fim_middle|>" });
    expect(presets.get("deepseek-coder")!.fim_tokens).toMatchObject({ prefix: "<｜fim▁begin｜>", suffix: "<｜fim▁hole｜>", middle: "<｜fim▁end｜>" });
    expect(presets.get("llama3-instruct")!.client_side_config).toMatchObject({ endOfText: "<|eot_id|>" });
    expect(presets.get("mixtral-instruct")!.client_side_config).toMatchObject({ endOfText: "</s>" });
    for (const [name, preset] of presets) {
      expect(preset.client_side_config?.endOfText).toEqual(expect.any(String));
      expect(problemsOf({ "a.yaml": reg("a", "", `preset: ${name}\n`) })).toEqual([]);
    }
  });

  it("applies a preset under the registration's own fields", () => {
    const loaded = loadConfig(
      dirWith({ "a.yaml": reg("a", "", "preset: llama3-instruct\nclient_side_config:\n  chatTemperature: 0.1\nrequest_defaults:\n  top_p: 0.5\n") }),
    );
    expect(loaded.problems).toEqual([]);
    const a = loaded.registrations[0];
    expect(a.client_side_config).toMatchObject({ chatTemperature: 0.1, chatTopP: 0.9, endOfText: "<|eot_id|>" });
    expect(a.defaults.createChatCompletion).toEqual({ temperature: 0.6, top_p: 0.5 });
  });
});

describe("GET /.api/modelconfig/supported-models.json", () => {
  it("serves the catalogue in Sourcegraph's shape, with clientSideConfig, defaults and recommended", async () => {
    const dir = dirWith({
      "coder.yaml": reg("coder", "  display_name: Coder\n  context_window: 8192\n  max_output_tokens: 1024\n  category: speed\n", "preset: starcoder2\n"),
      "chat.yaml": reg("chat", "  capabilities: [chat, vision]\n  status: deprecated\n"),
      "embed.yaml": reg("embed", "  endpoints: [createEmbedding]\n"),
      "other.yaml": reg("other"),
      "defaults.yaml": "default_models:\n  chat: chat\n  fast_chat: understudy::v1::chat\n  code_completion: coder\nrecommended: [understudy::v1::coder]\n",
    });
    const server = await startTestServer({ configDir: dir });
    try {
      const res = await fetch(`${server.url}/.api/modelconfig/supported-models.json`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expectSupportedModels(body);
      expect(body.defaultModels).toEqual({ chat: "understudy::v1::chat", fastChat: "understudy::v1::chat", codeCompletion: "understudy::v1::coder" });
      // `recommended` offers those models and the defaults: not `other`; `embed` is no Cody model.
      expect(body.models.map((m: any) => m.modelRef)).toEqual(["understudy::v1::chat", "understudy::v1::coder"]);
      expect(body.models[0]).toMatchObject({ capabilities: ["chat", "edit", "vision"], status: "deprecated", category: "balanced" });
      expect(body.models[1]).toMatchObject({
        displayName: "Coder",
        modelName: "coder",
        category: "speed",
        contextWindow: { maxInputTokens: 7168, maxOutputTokens: 1024 },
        clientSideConfig: { openaicompatible: { endOfText: "<|endoftext|>", stopSequences: ["<|endoftext|>", "<file_sep>"] } },
      });
    } finally {
      await server.close();
    }
  });
});

describe("understudy models export --format sourcegraph", () => {
  const root = projectRoot();
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, "bin/understudy.js"), "models", "export", ...args], { encoding: "utf8" });

  it("writes the shipped config's supported-models.json byte for byte as committed, valid against the schema", () => {
    const first = cli("--config", path.join(root, "config"), "--format", "sourcegraph");
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(fs.readFileSync(path.join(root, "config/supported-models.json"), "utf8"));
    expectSupportedModels(JSON.parse(first.stdout));
    expect(cli("--config", path.join(root, "config"), "--format", "sourcegraph").stdout).toBe(first.stdout);
  });

  it("refuses an unknown format", () => {
    const r = cli("--format", "nope");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown format 'nope' \(the formats are: understudy, sourcegraph\)/);
  });
});
