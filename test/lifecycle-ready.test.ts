/**
 * `GET /ready` (readiness, apart from /health's liveness), through the built server in a child
 * process: 200 when a config serves, the response store answers and the `load: eager` models are
 * in memory; 503 naming the failed check when an eager model did not load or Redis is down.
 * Run `npm run build` first.
 */
import fs from "node:fs";
import path from "node:path";
import { writeConfigDir } from "./helpers/server.js";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { closedPort, sleep } from "./helpers/upstream-server.js";
import { spawnServer, type Target } from "./security/harness.js";

async function ready(t: Target): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const res = await fetch(`${t.url}/ready`);
  return { status: res.status, body: await res.json() };
}

const upstreamConfig = () =>
  gatewayConfigDir({
    providers: [{ id: "up", type: "openai-compatible", endpoints: [{ url: "http://127.0.0.1:9/v1" }] }],
    models: { m: { provider: "up", upstream_model: "up-model" } },
  });

describe("GET /ready", () => {
  it("200 with every check ok (SQLite store, no eager model)", async () => {
    const t = await spawnServer({ configDir: upstreamConfig(), env: { UNDERSTUDY_DATA: fs.mkdtempSync("/tmp/understudy-ready-") } });
    try {
      const r = await ready(t);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: "ready", checks: { config: "ok", store: "ok", limits: "ok", eager_models: "ok" } });
    } finally {
      await t.close();
    }
  });

  it("503 naming the store and the limits when Redis is down (a closed port), while /health stays 200", async () => {
    const port = await closedPort();
    const t = await spawnServer({
      configDir: upstreamConfig(),
      env: { UNDERSTUDY_REDIS_URL: `redis://127.0.0.1:${port}`, UNDERSTUDY_REDIS_TIMEOUT_MS: "300" },
    });
    try {
      const r = await ready(t);
      expect(r.status).toBe(503);
      expect(r.body.status).toBe("not_ready");
      expect(r.body.checks.store).toMatch(/^unavailable: /);
      // The keys' rate limits share UNDERSTUDY_REDIS_URL: their Redis is reported too.
      expect(r.body.checks.limits).toMatch(/^unavailable: /);
      expect(r.body.checks.eager_models).toBe("ok");
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("503 naming the model when a `load: eager` model failed to load", async () => {
    const dir = writeConfigDir({
      "broken.yaml": "registration:\n  model: broken\nlocal_settings:\n  backend: llama-cpp\n  model: broken.gguf\n  load: eager\n",
    });
    // A file that is no GGUF: the config is valid, the load fails.
    fs.writeFileSync(path.join(dir, "broken.gguf"), Buffer.alloc(4096, 7));
    const t = await spawnServer({ configDir: dir, env: { UNDERSTUDY_DATA: fs.mkdtempSync("/tmp/understudy-ready-") } });
    try {
      // The failed load is logged; readiness then says which model is missing.
      for (let i = 0; i < 100 && !t.logs.some((l) => l.includes("eager model load failed")); i++) await sleep(50);
      const r = await ready(t);
      expect(r.status).toBe(503);
      expect(r.body.checks).toEqual({ config: "ok", store: "ok", limits: "ok", eager_models: "not loaded: broken" });
    } finally {
      await t.close();
    }
  });
});
