/**
 * The admin page's browser tests (issue 16): the built server (dist/, with dist/admin/) in a child
 * process, configured with the demo model, a loopback fake OpenAI-compatible upstream and keys.yaml
 * with an admin key; and headless Chromium (Debian's package) driven by playwright-core.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { chromium, type Browser } from "playwright-core";
import { sha256Hex } from "../../src/config/keys.js";
import { spawnServer, type Target } from "../security/harness.js";
import { demoConfigDir, demoRegistration } from "./demo.js";
import { deciderRoute, startFakeChatUpstream, UPSTREAM_MODEL } from "./fake-chat-upstream.js";
import { tempDir } from "./server.js";
import { chatChunk, data, startSse, writeFrames, type FakeUpstream, type Route } from "./upstream-server.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Debian's chromium; UNDERSTUDY_CHROMIUM points elsewhere (another distribution's path). */
export const CHROMIUM = process.env.UNDERSTUDY_CHROMIUM || "/usr/bin/chromium";

export const ADMIN_KEY = "us-admin-page-test-key-0123456789";
export const USER_KEY = "us-user-page-test-key-0123456789";
export const UPSTREAM_NAME = "up-chat";

export const upstreamRegistration = () =>
  yaml.dump({
    registration: { model: UPSTREAM_NAME, allow_debug: true, capabilities: ["chat"] },
    local_settings: { backend: "openai-compatible", provider: "up", upstream_model: UPSTREAM_MODEL },
  });

const keysYaml = () =>
  yaml.dump([
    { name: "ops", role: "admin", key_sha256: sha256Hex(ADMIN_KEY) },
    { name: "alice", role: "user", key_sha256: sha256Hex(USER_KEY) },
  ]);

export interface AdminEnv {
  server: Target;
  upstream: FakeUpstream;
  browser: Browser;
  close(): Promise<void>;
}

/** Fails, saying what is missing, rather than skipping: a test that cannot run must not pass. */
function checkPrerequisites(): void {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install chromium; .ci/run does) or set UNDERSTUDY_CHROMIUM`);
  if (!fs.existsSync(path.join(ROOT, "dist/admin/index.html"))) throw new Error("dist/admin/ is missing: run `npm run build` first");
}

export async function startAdminEnv(): Promise<AdminEnv> {
  checkPrerequisites();
  const upstream = await startFakeChatUpstream();
  let server: Target | undefined;
  try {
    const configDir = await demoConfigDir({
      "demo.yaml": demoRegistration("demo", "  parallel: 2\n"),
      "providers.yaml": yaml.dump([{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }]),
      [`${UPSTREAM_NAME}.yaml`]: upstreamRegistration(),
      "keys.yaml": keysYaml(),
    });
    server = await spawnServer({ configDir, env: { UNDERSTUDY_DATA: tempDir("understudy-admin-data-") } });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      // Root (CI) cannot use Chromium's sandbox; /dev/shm is small in containers.
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    const running = server;
    return {
      server: running,
      upstream,
      browser,
      close: async () => {
        await browser.close().catch(() => {});
        await running.close();
        await upstream.close();
      },
    };
  } catch (err) {
    // Nothing may outlive a failed start (jest would wait on it).
    await server?.close();
    await upstream.close();
    throw err;
  }
}

/** A second server with the demo model and no keys.yaml: open on loopback, the admin page too. */
export async function startOpenServer(): Promise<Target> {
  const configDir = await demoConfigDir({ "demo.yaml": demoRegistration("demo") });
  return spawnServer({ configDir, env: { UNDERSTUDY_DATA: tempDir("understudy-admin-data-") } });
}

/** Words a slow stream answers, one frame each. */
export const SLOW_WORDS = ["one ", "two ", "three ", "four ", "five ", "six"];
/** Pause between a slow stream's frames: long enough that the page renders each word on its own. */
const SLOW_FRAME_MS = 80;

/** The fake upstream streaming SLOW_WORDS a frame at a time (then back to `deciderRoute` with `restore`). */
export const slowStreamRoute: Route = async (req, res, n) => {
  if (!req.body?.stream) return deciderRoute(req, res, n);
  const model = req.body.model ?? UPSTREAM_MODEL;
  startSse(res);
  const words = SLOW_WORDS.map((w) => data(chatChunk(model, { content: w })));
  await writeFrames(
    res,
    [data(chatChunk(model, { role: "assistant", content: "" })), ...words, data(chatChunk(model, {}, "stop")), "data: [DONE]\n\n"],
    SLOW_FRAME_MS,
  );
};
export const restoreRoute = (upstream: FakeUpstream) => upstream.route(deciderRoute);

/** `count` chat requests through the public API, `parallel` at a time; answers their statuses. */
export async function sendLoad(server: Target, count: number, parallel: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const one = async (i: number) => {
    // Mostly the fast fake upstream; every fifth the demo model, streamed (time to first token).
    const demo = i % 5 === 0;
    const body = { model: demo ? "demo" : UPSTREAM_NAME, messages: [{ role: "user", content: `load ${i}` }], max_tokens: 4, stream: demo || i % 2 === 0 };
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    await res.text();
    statuses.push(res.status);
  };
  const worker = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return statuses;
}

/** Where screenshots go: docs/screenshots/ when UNDERSTUDY_SCREENSHOTS=1 (to commit them), else a temp dir (the tree stays clean). */
export function screenshotDir(): string {
  if (process.env.UNDERSTUDY_SCREENSHOTS !== "1") return tempDir("understudy-screens-");
  const dir = path.join(ROOT, "docs/screenshots");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
