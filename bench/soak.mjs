// Soak: does the server give back what a long mixed load made it take? Starts a fake upstream
// (bench/soak-upstream.mjs) and `understudy serve` as child processes, sends SOAK_REQUESTS mixed chat
// completions (half streaming, one stream in ten aborted by the client after its first chunk), then
// holds SOAK_STREAMS streams open at once, and compares the server's RSS before and after, settled.
//
//   node bench/run.mjs soak          (writes the section of docs/benchmarks.md)
//   node bench/soak.mjs              (prints the section only)
//   SOAK_REQUESTS=5000 SOAK_STREAMS=200 node bench/soak.mjs    (a quicker try: 2.5 to 5 minutes, most of it the idle waits)
//
// Knobs (env): see KNOBS below.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, freePort, percentile, sleep, spawnGroup } from "./lib.mjs";
import { heldStreams, mixedLoad, Tally } from "./soak-client.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const KNOBS = {
  SOAK_REQUESTS: 100_000, // phase 1: mixed requests
  SOAK_CONCURRENCY: 64, // phase 1: requests in flight (keep-alive connections)
  SOAK_CHUNKS: 16, // phase 1: chunks per stream
  SOAK_CHUNK_DELAY_MS: 2, // phase 1: upstream pause between chunks (streams stay open to be aborted)
  SOAK_STREAMS: 1000, // phase 2: streams held open at once, one connection each
  SOAK_HOLD_S: 5, // phase 2: how long the upstream holds each stream open
  SOAK_WARMUP: 2000, // mixed requests, then one round of phase 2, before the start RSS (0: no warm-up at all)
  // V8 gives back the heap a load left committed only when its memory reducer runs, after some idle
  // time that varies from run to run (35 s to 100 s here; `--trace-gc` shows "Mark-Compact
  // (reduce)"); until then RSS stays near its peak however little is live. So each idle wait lasts
  // at least SOAK_SETTLE_S, then until a reading is back near a reference or SOAK_IDLE_MAX_S has
  // passed: start = the lowest reading of its wait (reference: the RSS after start-up, +20%), end =
  // the last reading of its wait (reference: start, +20%).
  SOAK_SETTLE_S: 60,
  SOAK_IDLE_MAX_S: 180,
  SOAK_TIMEOUT_S: 900, // the whole bench; past it, it fails rather than hang
};
const knob = (k) => Number(process.env[k] ?? KNOBS[k]);
/** issue 15: the server's RSS once settled after the load, within 20% of its settled RSS before it. */
const TARGET_GROWTH = 0.2;
const SAMPLE_MS = 100;
const HOLD_DELAY_MS = 150; // phase 2: upstream pause between chunks; chunks = SOAK_HOLD_S / this
/** Above the server's default connection cap (1,024) the bench raises it, and says so. */
const DEFAULT_MAX_CONNECTIONS = 1024;

/** VmRSS of a process in MB (Linux). */
function rssMb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
}

function prepareConfig(upstreamPort, streams) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "understudy-bench-soak-"));
  tmpDirs.add(dir);
  // max_connections: the provider's default pool (64) would queue phase 2's streams instead of holding them all open.
  fs.writeFileSync(
    path.join(dir, "providers.yaml"),
    `- id: soak-upstream\n  type: openai-compatible\n  max_connections: ${Math.max(64, streams)}\n  endpoints:\n    - url: http://127.0.0.1:${upstreamPort}/v1\n`,
  );
  for (const [model, upstream] of [
    ["soak-fast", "fast"],
    ["soak-hold", "hold"],
  ])
    fs.writeFileSync(
      path.join(dir, `${model}.yaml`),
      `registration:\n  model: ${model}\n  endpoints: [createChatCompletion]\nlocal_settings:\n  backend: openai-compatible\n  provider: soak-upstream\n  upstream_model: ${upstream}\n`,
    );
  execFileSync(process.execPath, [path.join(root, "bin/understudy.js"), "validate-config", dir], { stdio: ["ignore", "ignore", "inherit"] });
  return dir;
}

async function waitHttp(port, what, child) {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${child.stderrText}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`).then((r) => r.arrayBuffer());
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${what} did not answer on port ${port} within 20 s`);
}

/** Children still running and config directories, cleaned up by the global timeout too. */
const children = new Set();
const tmpDirs = new Set();

function start(args, env) {
  const child = spawnGroup(process.execPath, args, { env: { ...process.env, ...env }, cwd: root });
  children.add(child);
  child.on("exit", () => children.delete(child));
  child.stderrText = "";
  child.stderr.on("data", (c) => (child.stderrText = (child.stderrText + c).slice(-4000)));
  return child;
}

/** Resident MB by kind of mapping (glibc's [heap], other anonymous memory: V8's heap pages and large mallocs, files). */
function rssByMapping(pid) {
  const out = { heap: 0, anon: 0, file: 0 };
  let kind = "anon";
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) kind = m[1] === "[heap]" ? "heap" : m[1] === "" || m[1].startsWith("[anon") ? "anon" : m[1].startsWith("/") ? "file" : "anon";
    else if (line.startsWith("Rss:")) out[kind] += Number(line.split(/\s+/)[1]) / 1024;
  }
  return out;
}

/** Open file descriptors of a process (sockets included): a leaked connection shows here. */
const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

const upstreamStats = (port) => fetch(`http://127.0.0.1:${port}/stats`).then((r) => r.json());

/**
 * Reads the RSS every second while the server idles, for at least `minS` seconds, then until a reading
 * is at most `untilMb` or `maxS` seconds have passed. mb = `pick` of the readings' list; at = seconds
 * idle when the reading taken was made.
 */
async function idleRss(pid, { minS, maxS = minS, untilMb = 0, pick = (xs) => xs.length - 1 }) {
  const readings = [];
  while (readings.length < maxS && (readings.length < minS || readings.at(-1) > untilMb)) {
    await sleep(1000);
    readings.push(rssMb(pid));
  }
  const i = pick(readings);
  return { mb: readings[i], at: i + 1, min: Math.min(...readings), max: Math.max(...readings), at15: readings[14], n: readings.length };
}

export async function benchSoak() {
  const k = Object.fromEntries(Object.keys(KNOBS).map((n) => [n, knob(n)]));
  const deadline = Date.now() + k.SOAK_TIMEOUT_S * 1000;
  const upstreamPort = await freePort();
  const port = await freePort();
  const maxConnections = k.SOAK_STREAMS + 16 > DEFAULT_MAX_CONNECTIONS ? k.SOAK_STREAMS + 64 : undefined;
  const holdChunks = Math.max(2, Math.round((k.SOAK_HOLD_S * 1000) / HOLD_DELAY_MS));
  const upstream = start([path.join(root, "bench/soak-upstream.mjs")], {
    PORT: String(upstreamPort),
    SOAK_CHUNK_DELAY_MS: String(k.SOAK_CHUNK_DELAY_MS),
    SOAK_HOLD_DELAY_MS: String(HOLD_DELAY_MS),
  });
  let dir;
  let server;
  let sampler;
  try {
    await waitHttp(upstreamPort, "soak upstream", upstream);
    dir = prepareConfig(upstreamPort, k.SOAK_STREAMS);
    const env = { LOG_LEVEL: "warn", ...(maxConnections ? { UNDERSTUDY_MAX_CONNECTIONS: String(maxConnections) } : {}) };
    server = start([path.join(root, "bin/understudy.js"), "serve", "--config", dir, "--host", "127.0.0.1", "--port", String(port)], env);
    await waitHttp(port, "understudy serve", server);
    const pid = server.pid;
    await sleep(1000);
    const coldRss = rssMb(pid);

    const warm = new Tally();
    await mixedLoad({ port, total: k.SOAK_WARMUP, concurrency: k.SOAK_CONCURRENCY, model: "soak-fast", chunks: k.SOAK_CHUNKS, tally: warm, deadline });
    // One of each phase's shapes first, so "start" is the server after it has sized itself for this
    // load once (V8's young generation, pools): what the soak then measures is whether repeating it grows.
    if (k.SOAK_WARMUP > 0) await heldStreams({ port, n: k.SOAK_STREAMS, model: "soak-hold", chunks: holdChunks, tally: warm });
    const idleMaxS = Math.max(k.SOAK_SETTLE_S, k.SOAK_IDLE_MAX_S);
    const startRss = await idleRss(pid, {
      minS: k.SOAK_SETTLE_S,
      maxS: idleMaxS,
      untilMb: coldRss * (1 + TARGET_GROWTH),
      pick: (xs) => xs.indexOf(Math.min(...xs)),
    });
    const startFds = fdCount(pid);
    const startMaps = rssByMapping(pid);

    let peak = startRss.mb;
    let samples = 0;
    sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssMb(pid));
        samples++;
      } catch {} // the server is gone: reported once the phase ends
    }, SAMPLE_MS);
    const mixed = new Tally();
    const p1 = await mixedLoad({
      port,
      total: k.SOAK_REQUESTS,
      concurrency: k.SOAK_CONCURRENCY,
      model: "soak-fast",
      chunks: k.SOAK_CHUNKS,
      tally: mixed,
      deadline,
    });
    const peak1 = peak;
    const held = new Tally();
    const p2 = await heldStreams({ port, n: k.SOAK_STREAMS, model: "soak-hold", chunks: holdChunks, tally: held });
    clearInterval(sampler);
    const endRss = await idleRss(pid, { minS: k.SOAK_SETTLE_S, maxS: idleMaxS, untilMb: startRss.mb * (1 + TARGET_GROWTH) });
    const endFds = fdCount(pid);
    const endMaps = rssByMapping(pid);
    const upstreamEnd = (await upstreamStats(upstreamPort)).streams;
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode} during the soak: ${server.stderrText}`);
    return {
      k,
      coldRss,
      maxConnections,
      holdChunks,
      warm,
      mixed,
      p1,
      peak1,
      held,
      p2,
      startRss,
      peak,
      endRss,
      samples,
      startFds,
      endFds,
      startMaps,
      endMaps,
      upstreamEnd,
      serverStderr: server.stderrText,
    };
  } finally {
    clearInterval(sampler);
    server?.stopGroup();
    upstream.stopGroup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x) => `${x >= 0 ? "+" : ""}${fmt(x * 100, 1)}%`;
const maps = (m) => `${fmt(m.heap, 1)} / ${fmt(m.anon, 1)} / ${fmt(m.file, 1)}`;
const count = (t, key) => t.counts[key] ?? 0;
const others = (t) =>
  Object.entries(t.counts)
    .filter(([key]) => !key.startsWith("ok") && key !== "aborted")
    .map(([key, n]) => `${key}: ${n}`)
    .join(", ") || "none";

export function soakMarkdown(r) {
  const { k, mixed, held, p1, p2, startRss, endRss } = r;
  const growth = endRss.mb / startRss.mb - 1;
  const complete =
    p1.sent === k.SOAK_REQUESTS &&
    r.warm.failures + mixed.failures + held.failures === 0 &&
    count(held, "ok stream") === k.SOAK_STREAMS &&
    p2.maxOpen === k.SOAK_STREAMS;
  const up = r.upstreamEnd;
  const aborts = count(r.warm, "aborted") + count(mixed, "aborted");
  const pass = complete && growth <= TARGET_GROWTH && up.open === 0;
  const lat = (xs) => (xs.length ? `${fmt(percentile(xs, 50), 1)} / ${fmt(percentile(xs, 99), 1)}` : "-");
  const knobs = Object.keys(KNOBS)
    .map((n) => `${n}=${k[n]}`)
    .join(" ");
  return [
    `## Soak: server RSS before and after ${k.SOAK_REQUESTS} mixed requests and ${k.SOAK_STREAMS} concurrent streams`,
    "",
    `Command: \`node bench/run.mjs soak\` (knobs: \`${knobs}\`; a quicker try: \`SOAK_REQUESTS=5000 SOAK_STREAMS=200\`). ` +
      "It starts `bench/soak-upstream.mjs` (a fake OpenAI-compatible upstream, its own process) and `node bin/understudy.js serve --config <tmp>` (`LOG_LEVEL=warn`, " +
      `two registrations → one \`openai-compatible\` provider with \`max_connections: ${Math.max(64, k.SOAK_STREAMS)}\` so phase 2's streams are all open upstream too` +
      (r.maxConnections
        ? `, \`UNDERSTUDY_MAX_CONNECTIONS=${r.maxConnections}\` since ${k.SOAK_STREAMS} streams do not fit under the default 1,024`
        : "; the default `UNDERSTUDY_MAX_CONNECTIONS` (1,024) is kept") +
      "). " +
      `Warm-up: ${k.SOAK_WARMUP} mixed requests then one round of phase 2, so that start is the server once it has sized itself for this load (V8's young generation, connection pools) and the soak measures whether repeating the load grows it. **Phase 1**: ${k.SOAK_REQUESTS} chat completions, ${k.SOAK_CONCURRENCY} at a time over node:http keep-alive connections; ` +
      `even-numbered ones non-streaming, odd ones streaming (${k.SOAK_CHUNKS} chunks, ${k.SOAK_CHUNK_DELAY_MS} ms apart upstream), one stream in ten destroyed by the client after its first chunk. ` +
      `**Phase 2**: ${k.SOAK_STREAMS} streams opened in batches of 50 every 20 ms, one connection each, held open by the upstream for about ${k.SOAK_HOLD_S} s (${r.holdChunks} chunks ${HOLD_DELAY_MS} ms apart). ` +
      'A request counts as complete when it answers 200 with the whole body: a `chat.completion` with `finish_reason: "stop"`, or a stream with `finish_reason: "stop"` and `data: [DONE]`. ' +
      "RSS = the server process's VmRSS (/proc), read every second while it idles. V8 gives back the heap a load left committed only when its memory reducer runs, after an idle time that varies " +
      '(35 s to 100 s on this machine; `--trace-gc` shows it as "Mark-Compact (reduce)"); until then RSS stays near its peak however little is live. So each idle wait lasts ' +
      `at least ${k.SOAK_SETTLE_S} s, then until a reading is back within 20% of a reference or ${Math.max(k.SOAK_SETTLE_S, k.SOAK_IDLE_MAX_S)} s have passed: ` +
      "start = the lowest reading of the wait after the warm-up (reference: the RSS after start-up), end = the last reading of the wait after phase 2 (reference: start); min..max of each wait's readings in brackets; " +
      `peak = the highest of the readings every ${SAMPLE_MS} ms during both phases (${r.samples} readings).`,
    "",
    "| phase | requests | complete | aborted by client | failures | req/s | p50 / p99 ms (json; stream) | streams open at once |",
    "|---|--:|--:|--:|--:|--:|--:|--:|",
    `| 1: mixed | ${p1.sent} | ${count(mixed, "ok json") + count(mixed, "ok stream")} | ${count(mixed, "aborted")} | ${mixed.failures} | ${fmt(p1.sent / p1.seconds, 0)} | ${lat(mixed.latencies.json)}; ${lat(mixed.latencies.stream)} | - |`,
    `| 2: held streams | ${k.SOAK_STREAMS} | ${count(held, "ok stream")} | - | ${held.failures} | - | -; ${lat(held.latencies.stream)} | ${p2.maxOpen} |`,
    "",
    `Failures by kind: warm-up ${others(r.warm)}; phase 1 ${others(mixed)}; phase 2 ${others(held)}.` +
      (mixed.samples.length + held.samples.length ? ` First: ${[...mixed.samples, ...held.samples][0]}` : ""),
    "",
    "| server RSS | MB | at the end of the wait: malloc [heap] / other anonymous (V8 heap, thread arenas, large mallocs) / files |",
    "|---|--:|--:|",
    `| after start-up (1 s after it first answered; before any request) | ${fmt(r.coldRss, 1)} | |`,
    `| start (lowest reading of ${startRss.n} s idle after the warm-up, at ${startRss.at} s) | ${fmt(startRss.mb, 1)} (${fmt(startRss.min, 1)}..${fmt(startRss.max, 1)}) | ${maps(r.startMaps)} |`,
    `| peak (phase 1 / both phases) | ${fmt(r.peak1, 1)} / ${fmt(r.peak, 1)} | |`,
    `| end (after ${endRss.at} s idle${endRss.at15 === undefined || endRss.at <= 15 ? "" : `; ${fmt(endRss.at15, 1)} at 15 s`}) | ${fmt(endRss.mb, 1)} (${fmt(endRss.min, 1)}..${fmt(endRss.max, 1)}) | ${maps(r.endMaps)} |`,
    "",
    `Leak checks at the end: the server's open file descriptors ${r.startFds} at start, ${r.endFds} at end; ` +
      `upstream streams started ${up.started}, ended ${up.ended}, cut by the server before their end ${up.cut} (the client aborted ${aborts}, warm-up included), **still open ${up.open}**.`,
    "",
    `Target: every non-aborted request complete, all phase-2 streams open at once, no upstream stream left open, and end RSS within ${TARGET_GROWTH * 100}% of start: ` +
      `${pct(growth)} (against the RSS after start-up: ${pct(endRss.mb / r.coldRss - 1)}), ${complete ? "all complete" : "**not all complete**"}, ${up.open} left open: ${pass ? "met" : "**missed**"}.`,
    "",
  ].join("\n");
}

/** Past SOAK_TIMEOUT_S the bench stops its children and fails instead of hanging. */
function guard(seconds) {
  const fail = (reject) => {
    for (const child of children) child.stopGroup();
    for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
    reject(new Error(`soak bench: over SOAK_TIMEOUT_S=${seconds}`));
  };
  return new Promise((_, reject) => setTimeout(() => fail(reject), seconds * 1000).unref());
}

export async function run() {
  const r = await Promise.race([benchSoak(), guard(knob("SOAK_TIMEOUT_S"))]);
  if (r.serverStderr.trim()) console.error(`soak bench: server stderr (last 4 KB):\n${r.serverStderr}`);
  return soakMarkdown(r);
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
