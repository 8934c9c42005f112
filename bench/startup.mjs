// Time from process start to the first served request: spawn `understudy serve`, poll until
// GET /v1/models answers 200, then time the first request that needs the request validator (a chat
// completion the spec refuses: a 400 needs no model load, only validation). Runs RUNS times
// (default 10) and reports medians, with the server's RSS once idle after each of the two.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, median, spawnGroup, fmt, waitForQuiet } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET_MS = 500; // issue 10: start-up to the first served request, median, shipped config
const POLL_MS = 5;
/** Refused by validation (role must be one of the spec's), so it measures the validator, not a backend. */
const INVALID_CHAT = JSON.stringify({ model: "demo", messages: [{ role: "nobody", content: "hi" }] });
/** How long the server is left idle before its RSS is read (what it keeps, not its peak). */
const SETTLE_MS = 1000;

/** VmRSS of a process in MB (Linux); undefined where /proc is not there. */
function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
  } catch {
    return undefined;
  }
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

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
    const validatedMs = await firstValidated(port, t0);
    await settle();
    return { firstMs, validatedMs, rssMb: rssMb(child.pid) };
  } finally {
    child.stopGroup();
  }
}

/** Spawn to the answer of the first request that needs the request validator. */
async function firstValidated(port, t0) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: INVALID_CHAT,
  });
  await res.arrayBuffer();
  if (res.status !== 400) throw new Error(`an invalid chat request answered ${res.status}, expected 400`);
  return performance.now() - t0;
}

export async function benchStartup({ runs = Number(process.env.RUNS ?? 10), configDir } = {}) {
  // The first fetch() loads undici in this process (tens of ms of CPU): done before any timing, so
  // the poller does not compete with the server it is timing for the machine's cores.
  await fetch("http://127.0.0.1:1/").catch(() => {});
  const first = [];
  const validated = [];
  const busy = [];
  const rss = [];
  for (let i = 0; i < runs; i++) {
    busy.push(await waitForQuiet());
    const r = await once(configDir);
    first.push(r.firstMs);
    validated.push(r.validatedMs);
    if (r.rssMb !== undefined) rss.push(r.rssMb);
  }
  return {
    runs,
    median_ms: median(first),
    min_ms: Math.min(...first),
    max_ms: Math.max(...first),
    validated_median_ms: median(validated),
    rss_idle_median_mb: rss.length > 0 ? median(rss) : undefined,
    busy_max_pct: Math.max(...busy),
  };
}

export function startupMarkdown(r) {
  return [
    "## Start-up: process start to first served request",
    "",
    "Command: `node bench/run.mjs startup` (spawns `node bin/understudy.js serve` with the shipped `config/`, polls `GET /v1/models` every 5 ms until it answers 200; " +
      'then sends one chat completion the spec refuses, whose 400 needs the request validator but no model: "first validated request" is spawn to that answer; ' +
      `"idle RSS" is the server's VmRSS ${SETTLE_MS / 1000} s after that answer). ` +
      "Before each run it waits (at most 10 s) for the machine to be under 20% busy; the poller's own HTTP client is loaded before the first run.",
    "",
    `| runs | median | min | max | first validated request (median) | idle RSS (median) | target (median) | |`,
    `|---|---|---|---|---|---|---|:-:|`,
    `| ${r.runs} | ${fmt(r.median_ms, 0)} ms | ${fmt(r.min_ms, 0)} ms | ${fmt(r.max_ms, 0)} ms | ${fmt(r.validated_median_ms, 0)} ms | ${r.rss_idle_median_mb === undefined ? "-" : `${fmt(r.rss_idle_median_mb, 1)} MB`} | ≤ ${TARGET_MS} ms | ${r.median_ms <= TARGET_MS ? "met" : "**missed**"} |`,
    "",
    `Other load before the runs: up to ${fmt(r.busy_max_pct, 0)}% of the machine.`,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(startupMarkdown(await benchStartup()));
