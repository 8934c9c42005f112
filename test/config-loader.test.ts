import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { projectRoot } from "../src/core/paths.js";
import { ENDPOINTS } from "../src/core/operations.js";
import { tempDir, writeConfigDir } from "./helpers/server.js";

/** A registration file for a llama-cpp model whose GGUF path is `models/<model>.gguf` (created empty). */
function reg(model: string, extra = ""): string {
  return `registration:\n  model: ${model}\nlocal_settings:\n  backend: llama-cpp\n  model: models/${model}.gguf\n${extra}`;
}

function dirWith(files: Record<string, string>): string {
  const dir = writeConfigDir(files);
  fs.mkdirSync(path.join(dir, "models"), { recursive: true });
  for (const name of ["a", "b", "c", "m"]) fs.writeFileSync(path.join(dir, "models", `${name}.gguf`), "GGUF");
  return dir;
}

const problemsOf = (dir: string) => loadConfig(dir).problems.map(formatProblem);

describe("registration files", () => {
  it("loads a valid directory (one registration per file, or a list), resolving model paths", () => {
    const dir = dirWith({
      "a.yaml": reg("a"),
      "sub/list.yml": `- ${reg("b").replace(/\n/g, "\n  ")}\n- ${reg("c").replace(/\n/g, "\n  ")}`.replace(/models\//g, "../models/"),
    });
    const loaded = loadConfig(dir);
    expect(loaded.problems).toEqual([]);
    expect(loaded.registrations.map((r) => r.model).sort()).toEqual(["a", "b", "c"]);
    const b = loaded.registrations.find((r) => r.model === "b")!;
    expect(b.settings.model).toBe(fs.realpathSync(path.join(dir, "models/b.gguf")));
    // Anthropic's Messages API and Sourcegraph's completions ride on chat, so a registration that lists no endpoints serves them too.
    expect(b.endpoints).toEqual(ENDPOINTS);
    expect(Object.isFrozen(b) && Object.isFrozen(b.settings)).toBe(true);
  });

  it("reports bad YAML with its line", () => {
    const problems = problemsOf(dirWith({ "bad.yaml": "registration:\n  model: a\n  aliases: [x, y\nlocal_settings: {}\n" }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^bad\.yaml:\d+: invalid YAML/);
    expect(Number(/:(\d+):/.exec(problems[0])![1])).toBeGreaterThanOrEqual(3);
  });

  it("reports an unknown key with file, line and field", () => {
    const problems = problemsOf(dirWith({ "a.yaml": reg("a", "  threadz: 4\n") }));
    expect(problems).toEqual(["a.yaml:6: local_settings.threadz: unknown key 'threadz'"]);
  });

  it("reports an unknown backend and lists the valid ones", () => {
    const problems = problemsOf(dirWith({ "a.yaml": "registration:\n  model: a\nlocal_settings:\n  backend: tensorrt\n" }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^a\.yaml:4: local_settings\.backend: must be one of: .*"llama-cpp"/);
  });

  it("reports a duplicate model name or alias across files", () => {
    const problems = problemsOf(dirWith({ "a.yaml": reg("a"), "b.yaml": reg("b").replace("model: b\n", "model: b\n  aliases: [a]\n") }));
    expect(problems).toEqual([
      expect.stringMatching(/^b\.yaml:3: registration\.aliases: duplicate model name or alias 'a' \(already used by 'a' in a\.yaml\)/),
    ]);
  });

  it("reports a model path that escapes the model roots", () => {
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, "x.gguf"), "GGUF");
    const problems = problemsOf(
      dirWith({ "a.yaml": `registration:\n  model: a\nlocal_settings:\n  backend: llama-cpp\n  model: ${path.join(outside, "x.gguf")}\n` }),
    );
    expect(problems).toEqual([expect.stringMatching(/^a\.yaml:5: local_settings\.model: path .* is outside the allowed model roots/)]);
    const escaping = problemsOf(dirWith({ "a.yaml": reg("a").replace("models/a.gguf", "../../etc/passwd") }));
    expect(escaping[0]).toMatch(/outside the allowed model roots/);
  });

  it("accepts a path under UNDERSTUDY_MODELS", () => {
    const models = tempDir();
    fs.writeFileSync(path.join(models, "x.gguf"), "GGUF");
    process.env.UNDERSTUDY_MODELS = models;
    try {
      expect(
        problemsOf(dirWith({ "a.yaml": `registration:\n  model: a\nlocal_settings:\n  backend: llama-cpp\n  model: ${path.join(models, "x.gguf")}\n` })),
      ).toEqual([]);
    } finally {
      delete process.env.UNDERSTUDY_MODELS;
    }
  });

  it("reports a missing model file at load time", () => {
    const problems = problemsOf(writeConfigDir({ "a.yaml": reg("a") }));
    expect(problems[0]).toMatch(/^a\.yaml:5: local_settings\.model: cannot read/);
  });

  it("validates request defaults against the extended spec's request schema", () => {
    const problems = problemsOf(dirWith({ "a.yaml": reg("a", "request_defaults:\n  temperature: hot\n  x-localai-extensions:\n    top_k: -3\n") }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^a\.yaml:7: request_defaults\.temperature: must be number/),
        expect.stringMatching(/^a\.yaml:9: request_defaults\.x-localai-extensions\.top_k: must be >= 0/),
      ]),
    );
  });

  it("applies flat defaults to the endpoints that declare each field, and rejects fields no endpoint has", () => {
    const ok = loadConfig(dirWith({ "a.yaml": reg("a", "request_defaults:\n  temperature: 0.2\n  encoding_format: base64\n") }));
    expect(ok.problems).toEqual([]);
    const a = ok.registrations[0];
    expect(a.defaults.createChatCompletion).toEqual({ temperature: 0.2 });
    expect(a.defaults.createEmbedding).toEqual({ encoding_format: "base64" });
    expect(problemsOf(dirWith({ "a.yaml": reg("a", "request_overrides:\n  tempature: 1\n") }))[0]).toMatch(
      /request_overrides\.tempature: 'tempature' is not a request field/,
    );
  });

  it("rejects __proto__, constructor and prototype keys in a file", () => {
    expect(problemsOf(dirWith({ "a.yaml": reg("a", "request_defaults:\n  __proto__:\n    x: 1\n") }))[0]).toMatch(/__proto__' is not allowed/);
  });

  it("validates providers.yaml and defaults.yaml", () => {
    const problems = problemsOf(
      dirWith({ "a.yaml": reg("a"), "providers.yaml": "- id: gpu\n  type: nope\n  endpoints: []\n", "defaults.yaml": "chat: nobody\n" }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^providers\.yaml:2: \[0\]\.type|^providers\.yaml:\d+: .*type/),
        expect.stringMatching(/^defaults\.yaml:1: chat: 'nobody' is not a registered model/),
      ]),
    );
  });
});

describe("understudy validate-config", () => {
  const cli = path.join(projectRoot(), "bin/understudy.js");

  it("prints every problem and exits 1", () => {
    const dir = dirWith({ "a.yaml": reg("a", "  threadz: 4\n"), "b.yaml": "registration:\n  model: b\nlocal_settings:\n  backend: nope\n" });
    const r = spawnSync(process.execPath, [cli, "validate-config", dir], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("a.yaml:6: local_settings.threadz: unknown key 'threadz'");
    expect(r.stderr).toContain("b.yaml:4: local_settings.backend: must be one of");
  });

  it("prints a summary and exits 0 for a valid directory", () => {
    const r = spawnSync(process.execPath, [cli, "validate-config", dirWith({ "a.yaml": reg("a") })], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/valid, revision [0-9a-f]+\n1 model\(s\): a \(llama-cpp/);
  });

  it("serve refuses to start on an invalid config, with the same messages", () => {
    const dir = dirWith({ "a.yaml": reg("a", "  threadz: 4\n") });
    const r = spawnSync(process.execPath, [cli, "serve", "--config", dir, "--port", "0"], { encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("a.yaml:6: local_settings.threadz: unknown key 'threadz'");
  });
});

describe("bounded loading (issue 9)", () => {
  it("loads anchors and aliases within the limits", () => {
    const shared = "request_defaults: &defaults\n    temperature: 0.3\n";
    const list = `- registration: {model: a}\n  local_settings: {backend: llama-cpp, model: models/a.gguf}\n  ${shared}- registration: {model: b}\n  local_settings: {backend: llama-cpp, model: models/b.gguf}\n  request_defaults: *defaults\n`;
    const loaded = loadConfig(dirWith({ "list.yaml": list }));
    expect(loaded.problems).toEqual([]);
    expect(loaded.registrations.map((r) => r.defaults.createChatCompletion)).toEqual([{ temperature: 0.3 }, { temperature: 0.3 }]);
  });

  it("refuses an alias bomb in milliseconds, naming its line and the limit", () => {
    const names = "abcdefghi";
    let bomb = `a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n`;
    for (let i = 1; i < names.length; i++)
      bomb += `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(", ")}]\n`;
    const started = Date.now();
    const problems = problemsOf(dirWith({ "bomb.yaml": bomb }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(problems).toEqual([
      expect.stringMatching(/^bomb\.yaml:6: f: with its aliases expanded, the file has more than the limit of 100000 nodes \(UNDERSTUDY_CONFIG_MAX_NODES\)$/),
    ]);
  });

  it("shows paths in problems relative to the config directory", () => {
    const missing = loadConfig(path.join(tempDir(), "nope"));
    expect(missing.problems).toEqual([{ file: ".", line: 0, field: "", message: "config directory does not exist" }]);
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, "x.gguf"), "GGUF");
    const dir = dirWith({
      "a.yaml": `registration:\n  model: a\nlocal_settings:\n  backend: llama-cpp\n  model: ${path.join(outside, "x.gguf")}\n`,
      "b.yaml": reg("b").replace("models/b.gguf", "models/gone.gguf"),
    });
    const text = problemsOf(dir).join("\n");
    expect(text).toMatch(
      /a\.yaml:5: local_settings\.model: path '\.\.\/.*x\.gguf' is outside the allowed model roots \(the config directory; set UNDERSTUDY_MODELS/,
    );
    expect(text).toMatch(/b\.yaml:5: local_settings\.model: cannot read 'models\/gone\.gguf'/);
    expect(text).not.toContain(dir);
    expect(text).not.toContain(fs.realpathSync(dir));
  });
});
