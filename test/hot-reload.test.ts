import fs from "node:fs";
import path from "node:path";
import { startTestServer, writeConfigDir, type TestServer } from "./helpers/server.js";
import { waitFor } from "./helpers/wait-for.js";

const reg = (model: string) => `registration:\n  model: ${model}\nlocal_settings:\n  backend: llama-cpp\n  model: m.gguf\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: TestServer;
let dir: string;
beforeAll(async () => {
  dir = writeConfigDir({ "first.yaml": reg("first") });
  fs.writeFileSync(path.join(dir, "m.gguf"), "GGUF");
  server = await startTestServer({ configDir: dir, watch: true });
});
afterAll(() => server.close());

const modelIds = async () => (await server.client.models.list()).data.map((m) => m.id).sort();

describe("hot reload of the config directory", () => {
  it("serves a newly written registration within 2 s", async () => {
    const t0 = Date.now();
    fs.writeFileSync(path.join(dir, "second.yaml"), reg("second"));
    const ids = await waitFor(async () => ((await modelIds()).includes("second") ? await modelIds() : undefined), 2000);
    expect(ids).toEqual(["first", "second"]);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("keeps serving the last good config when a broken file is written, and reports it in /health", async () => {
    fs.writeFileSync(path.join(dir, "broken.yaml"), "registration:\n  model: broken\n  colour: red\nlocal_settings:\n  backend: llama-cpp\n  model: m.gguf\n");
    const health = await waitFor(async () => {
      const h = await (await fetch(`${server.url}/health`)).json();
      return h.config.status === "error" ? h : undefined;
    }, 2000);
    expect(health).toBeDefined();
    expect(health.status).toBe("degraded");
    expect(health.config.errors).toEqual(["broken.yaml:3: registration.colour: unknown key 'colour'"]);
    expect(health.config.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(await modelIds()).toEqual(["first", "second"]);

    fs.unlinkSync(path.join(dir, "broken.yaml"));
    const fixed = await waitFor(async () => {
      const h = await (await fetch(`${server.url}/health`)).json();
      return h.config.status === "ok" ? h : undefined;
    }, 2000);
    expect(fixed?.config.errors).toEqual([]);
  });

  it("fails no request while the directory is reloaded again and again", async () => {
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const loop = async () => {
      while (!stop) {
        try {
          const [list, one] = await Promise.all([server.client.models.list(), server.client.models.retrieve("first")]);
          if (!list.data.some((m) => m.id === "first") || one.id !== "first") failures.push("missing model");
          else ok++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    for (let i = 0; i < 20; i++) {
      fs.writeFileSync(path.join(dir, `churn-${i % 3}.yaml`), reg(`churn-${i % 3}`));
      if (i % 4 === 3) fs.writeFileSync(path.join(dir, "oops.yaml"), "registration: [\n");
      if (i % 4 === 0 && fs.existsSync(path.join(dir, "oops.yaml"))) fs.unlinkSync(path.join(dir, "oops.yaml"));
      await sleep(60);
    }
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
  });
});
