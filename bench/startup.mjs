// Time from process start to the first served request: spawn `understudy serve`, poll until
// GET /v1/models answers 200, then time the first request that needs the request validator (a chat
// completion the spec refuses: a 400 needs no model load, only validation). Runs RUNS times
// (default 10) and reports medians.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, median, spawnGroup, fmt, waitForQuiet } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET_MS = 500; // issue 10: start-up to the first served request, median, shipped config
const POLL_MS = 5;
/** Refused by validation (role must be one of the spec's), so it measures the validator, not a backend. */
const INVALID_CHAT = JSON.stringify({ model: "demo", messages: [{ role: "nobody", content: "hi" }] });

async function once(configDir) {
  const port = await freePort();
  const t0 = performance.now();
  const env = { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" };
  if (configDir) env.UNDERSTUDY_CONFIG = configDir;
  const child = spawnGroup(process.execPath, [path.join(root, "bin/understudy.js"), "serve"], { env, cwd: root });
  try {
    const deadline = t0 + 20_000;
    let firstMs;
    while (performance.now() < deadline && firstMs === undefined) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/models`);
        await res.arrayBuffer();
        if (res.status === 200) firstMs = performance.now() - t0;
      } catch {}
      if (firstMs === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (firstMs === undefined) throw new Error("server did not answer within 20 s");
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: INVALID_CHAT });
    await res.arrayBuffer();
    if (res.status !== 400) throw new Error(`an invalid chat request answered ${res.status}, expected 400`);
    return { firstMs, validatedMs: performance.now() - t0 };
  } finally {
    child.stopGroup();
  }
}

export async function benchStartup({ runs = Number(process.env.RUNS ?? 10), configDir } = {}) {
  // The first fetch() loads undici in this process (tens of ms of CPU): done before any timing, so
  // the poller does not compete with the server it is timing for the machine's cores.
  await fetch("http://127.0.0.1:1/").catch(() => {});
  const first = [];
  const validated = [];
  const busy = [];
  for (let i = 0; i < runs; i++) {
    busy.push(await waitForQuiet());
    const r = await once(configDir);
    first.push(r.firstMs);
    validated.push(r.validatedMs);
  }
  return {
    runs,
    median_ms: median(first),
    min_ms: Math.min(...first),
    max_ms: Math.max(...first),
    validated_median_ms: median(validated),
    busy_max_pct: Math.max(...busy),
  };
}

export function startupMarkdown(r) {
  return [
    "## Start-up: process start to first served request",
    "",
    "Command: `node bench/run.mjs startup` (spawns `node bin/understudy.js serve` with the shipped `config/`, polls `GET /v1/models` every 5 ms until it answers 200; " +
      "then sends one chat completion the spec refuses, whose 400 needs the request validator but no model: \"first validated request\" is spawn to that answer). " +
      "Before each run it waits (at most 10 s) for the machine to be under 20% busy; the poller's own HTTP client is loaded before the first run.",
    "",
    `| runs | median | min | max | first validated request (median) | target (median) | |`,
    `|---|---|---|---|---|---|:-:|`,
    `| ${r.runs} | ${fmt(r.median_ms, 0)} ms | ${fmt(r.min_ms, 0)} ms | ${fmt(r.max_ms, 0)} ms | ${fmt(r.validated_median_ms, 0)} ms | ≤ ${TARGET_MS} ms | ${r.median_ms <= TARGET_MS ? "met" : "**missed**"} |`,
    "",
    `Other load before the runs: up to ${fmt(r.busy_max_pct, 0)}% of the machine.`,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(startupMarkdown(await benchStartup()));
