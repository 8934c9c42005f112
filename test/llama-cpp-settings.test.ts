import fs from "node:fs";
import path from "node:path";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";

const PLAIN_TEMPLATE = `{%- for message in messages %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endfor %}{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}`;

let server: TestServer;
beforeAll(async () => {
  const dir = await demoConfigDir({
    "own.yaml": demoRegistration("own-template"),
    "plain.yaml": demoRegistration("plain-template", "  template: plain.jinja\n"),
    "idle.yaml": demoRegistration("idle", "  idle_unload_s: 1\n"),
    "eager.yaml": demoRegistration("eager", "  load: eager\n"),
    "lazy.yaml": demoRegistration("lazy", "  load: lazy\n"),
  });
  fs.writeFileSync(path.join(dir, "plain.jinja"), PLAIN_TEMPLATE);
  server = await startTestServer({ configDir: dir });
});
afterAll(() => server.close());

const loadedModels = async (): Promise<string[]> =>
  ((await (await fetch(`${server.url}/health`)).json()) as { config: { loaded_models: string[] } }).config.loaded_models;

async function until(check: () => Promise<boolean>, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${maxMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ask = (model: string) => server.client.chat.completions.create({ model, messages: [{ role: "user", content: "hello" }], max_tokens: 3, temperature: 0 });

describe("llama-cpp settings", () => {
  it("template: a Jinja file replaces the GGUF's own chat template", async () => {
    // The GGUF's Qwen-style template adds a default system prompt; the plain one does not.
    const own = await ask("own-template");
    const plain = await ask("plain-template");
    expect(plain.usage!.prompt_tokens).toBeLessThan(own.usage!.prompt_tokens);
    expect(plain.choices[0].finish_reason).toBe("length");
  });

  it("idle_unload_s: a model unloaded after idling loads again on the next request", async () => {
    const first = await ask("idle");
    expect(await loadedModels()).toContain("idle");
    await until(async () => !(await loadedModels()).includes("idle"), 5000);
    const second = await ask("idle");
    expect(await loadedModels()).toContain("idle");
    expect(second.choices[0].message.content).toBe(first.choices[0].message.content);
  });

  it("load: eager loads at start, before any request; lazy registrations wait for theirs", async () => {
    await until(async () => (await loadedModels()).includes("eager"), 10000);
    expect(await loadedModels()).not.toContain("lazy");
    await ask("lazy");
    expect(await loadedModels()).toContain("lazy");
  });

  it("rejects an unreadable template file at load time", async () => {
    const { loadConfig } = await import("../src/config/loader.js");
    const dir = await demoConfigDir({ "t.yaml": demoRegistration("t", "  template: missing.jinja\n") });
    expect(loadConfig(dir).problems.map((p) => p.message)).toEqual([expect.stringMatching(/cannot read .*missing\.jinja/)]);
  });
});
