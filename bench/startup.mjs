// Time from process start to the first served request: spawn `understudy serve`, poll until
// GET /v1/models answers 200. Runs RUNS times (default 10) and reports the median.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, median, spawnGroup, fmt } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function once(configDir) {
  const port = await freePort();
  const t0 = performance.now();
  const env = { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" };
  if (configDir) env.UNDERSTUDY_CONFIG = configDir;
  const child = spawnGroup(process.execPath, [path.join(root, "bin/understudy.js"), "serve"], { env, cwd: root });
  try {
    const deadline = t0 + 20_000;
    while (performance.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/models`);
        if (res.status === 200) return performance.now() - t0;
      } catch {}
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error("server did not answer within 20 s");
  } finally {
    child.stopGroup();
  }
}

export async function benchStartup({ runs = Number(process.env.RUNS ?? 10), configDir } = {}) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(configDir));
  return { runs, median_ms: median(times), min_ms: Math.min(...times), max_ms: Math.max(...times) };
}

export function startupMarkdown(r) {
  return [
    "## Start-up: process start to first served request",
    "",
    "Command: `node bench/run.mjs startup` (spawns `node bin/understudy.js serve` with the shipped `config/`, polls `GET /v1/models` every 5 ms until it answers 200).",
    "",
    `| runs | median | min | max | target |`,
    `|---|---|---|---|---|`,
    `| ${r.runs} | ${fmt(r.median_ms, 0)} ms | ${fmt(r.min_ms, 0)} ms | ${fmt(r.max_ms, 0)} ms | < 1500 ms |`,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(startupMarkdown(await benchStartup()));
