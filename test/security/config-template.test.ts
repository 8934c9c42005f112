/**
 * A registration's Jinja chat template (issue 9, item 4): `range(999999999)` makes V8 die with
 * "invalid size", a nested loop hangs, a doubling string explodes. Validation renders the template
 * against sample conversations in a child process, bounded in time and output: each is a config
 * problem naming the file and `local_settings.template`, at start-up, in `validate-config` and on
 * hot reload (where the render runs asynchronously: /health keeps answering within 200 ms).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_CHAT_TEMPLATE } from "../../src/demo-model/demo-model.js";
import { demoConfigDir, demoRegistration } from "../helpers/demo.js";
import { assertNoLeaks, chatBody, demoCategoryConfig, demoChatWorks, post, request, sleep, spawnServer, type Target } from "./harness.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "bin/understudy.js");

const TEMPLATES = {
  crash: "{% for i in range(999999999) %}x{% endfor %}",
  hang: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
  // 2^14 * 16 bytes = 256 KiB, over the 64 KiB output limit the tests set.
  explode:
    '{% set ns = namespace(s="xxxxxxxxxxxxxxxx") %}{% for i in range(14) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}{% for m in messages %}{{ m.content }}{% endfor %}',
  broken: "{% for m in messages %}{{ m.content ",
};

/** Short limits so the hang and the explosion are found quickly. */
const ENV = { UNDERSTUDY_TEMPLATE_RENDER_TIMEOUT_MS: "1000", UNDERSTUDY_TEMPLATE_MAX_OUTPUT_BYTES: String(64 * 1024) };

const PROBLEMS: Record<keyof typeof TEMPLATES, RegExp> = {
  crash: /crash\.yaml:\d+: local_settings\.template: 'crash\.jinja': the chat template (crashed the renderer process|takes longer than the limit)/,
  hang: /hang\.yaml:\d+: local_settings\.template: 'hang\.jinja': the chat template takes longer than the limit of 1000 ms \(UNDERSTUDY_TEMPLATE_RENDER_TIMEOUT_MS\)/,
  explode:
    /explode\.yaml:\d+: local_settings\.template: 'explode\.jinja': the chat template renders \d+ bytes for a sample conversation, more than the limit of 65536 bytes \(UNDERSTUDY_TEMPLATE_MAX_OUTPUT_BYTES\)/,
  broken: /broken\.yaml:\d+: local_settings\.template: 'broken\.jinja': the chat template fails to render a sample conversation/,
};

/** Registration files (and their templates) for the demo model under the names of TEMPLATES. */
function templateFiles(names: (keyof typeof TEMPLATES)[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of names) {
    files[`${name}.jinja`] = TEMPLATES[name];
    files[`${name}.yaml`] = demoRegistration(name, `  template: ${name}.jinja\n`).replace("MODEL", "demo.gguf");
  }
  return files;
}

function cli(args: string[]) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "", ...ENV } });
  return { status: r.status, signal: r.signal, stderr: r.stderr ?? "", stdout: r.stdout ?? "", ms: Date.now() - started };
}

describe("chat templates in validate-config and at start-up", () => {
  it("a template that crashes, hangs, explodes or does not parse is a problem naming the file and field", async () => {
    const dir = await demoConfigDir(templateFiles(["crash", "hang", "explode", "broken"]));
    const r = cli(["validate-config", dir]);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.ms).toBeLessThan(20_000);
    for (const problem of Object.values(PROBLEMS)) expect(r.stderr).toMatch(problem);
  }, 40_000);

  it("serve refuses to start on a crashing template, with the problem, and does not crash", async () => {
    const dir = await demoConfigDir(templateFiles(["crash"]));
    const r = cli(["serve", "--config", dir, "--port", "0", "--host", "127.0.0.1"]);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(PROBLEMS.crash);
  }, 40_000);

  it("a real chat template (the demo's, with tools) passes and serves", async () => {
    const dir = await demoConfigDir({ "qwen.jinja": DEMO_CHAT_TEMPLATE, "qwen.yaml": demoRegistration("qwen", "  template: qwen.jinja\n") });
    const r = cli(["validate-config", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const t = await spawnServer({ configDir: dir });
    try {
      const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
      expect((await post(t, "/v1/chat/completions", chatBody({ model: "qwen" }))).status).toBe(200);
      expect((await post(t, "/v1/chat/completions", chatBody({ model: "qwen", tools }))).status).toBe(200);
    } finally {
      await t.close();
    }
  }, 60_000);
});

describe("chat templates on hot reload", () => {
  let t: Target;
  let dir: string;
  beforeAll(async () => {
    dir = await demoCategoryConfig();
    t = await spawnServer({ configDir: dir, env: ENV });
  }, 60_000);
  afterAll(() => t?.close());

  it("an edit that makes a registered template hostile is seen: /health reports it", async () => {
    fs.writeFileSync(path.join(dir, "edited.jinja"), DEMO_CHAT_TEMPLATE);
    fs.writeFileSync(path.join(dir, "edited.yaml"), demoRegistration("edited", "  template: edited.jinja\n").replace("MODEL", "demo.gguf"));
    const served = async () => (await request(t, "GET", "/v1/models/edited")).status === 200;
    for (let i = 0; i < 400 && !(await served()); i++) await sleep(25);
    expect(await served()).toBe(true);

    fs.writeFileSync(path.join(dir, "edited.jinja"), TEMPLATES.crash);
    let last: any;
    for (let i = 0; i < 800; i++) {
      last = JSON.parse((await request(t, "GET", "/health")).body);
      if (last.config.status === "error") break;
      await sleep(25);
    }
    expect(last.config.errors).toEqual([expect.stringMatching(/edited\.yaml:\d+: local_settings\.template: 'edited\.jinja': the chat template/)]);
    await demoChatWorks(t);
    for (const file of ["edited.yaml", "edited.jinja"]) fs.rmSync(path.join(dir, file));
    for (let i = 0; i < 200 && JSON.parse((await request(t, "GET", "/health")).body).config.status !== "ok"; i++) await sleep(25);
  }, 60_000);

  for (const name of ["crash", "hang", "explode"] as const) {
    it(`a ${name} template dropped in: /health answers within 200 ms, then reports it; the last good config serves`, async () => {
      for (const [file, text] of Object.entries(templateFiles([name]))) fs.writeFileSync(path.join(dir, file), text);
      const deadline = Date.now() + 20_000;
      let slowest = 0;
      let last: any;
      let lastText = "";
      while (Date.now() < deadline) {
        const started = Date.now();
        const answer = await request(t, "GET", "/health", undefined, {}, 5_000);
        slowest = Math.max(slowest, answer.status === 200 ? Date.now() - started : Infinity);
        lastText = answer.body;
        last = answer.status === 200 ? JSON.parse(answer.body) : undefined;
        if (last?.config.status === "error") break;
        await sleep(25);
      }
      expect(t.alive()).toBe(true);
      expect(slowest).toBeLessThan(200);
      expect(last?.status).toBe("degraded");
      expect(last.config.errors).toEqual([expect.stringMatching(PROBLEMS[name])]);
      assertNoLeaks(lastText, t, "/health");
      await demoChatWorks(t);
      const model = await request(t, "GET", `/v1/models/${name}`);
      expect(model.status).toBe(404);
      for (const file of Object.keys(templateFiles([name]))) fs.rmSync(path.join(dir, file));
      for (let i = 0; i < 200 && JSON.parse((await request(t, "GET", "/health")).body).config.status !== "ok"; i++) await sleep(25);
    }, 40_000);
  }
});
