// Generated tokens/s through the HTTP server versus node-llama-cpp called directly, same model,
// same run; and time to first token.
//
//   node bench/run.mjs tokens          (writes the section of docs/benchmarks.md)
//   node bench/tokens.mjs              (prints the section only)
//
// Knobs (env): TOKENS_RUNS=30 (measured rounds), TOKENS_N=256 (tokens per request),
// TOKENS_LARGE=1024 (the larger variant; 0 = skip), TOKENS_WARMUP=2, TOKENS_BLOCK=1 (requests per side
// back to back within a round), TOKENS_VERBOSE=1 (per-request lines and the server's stderr on stderr), TOKENS_SERVER_BIN (another build's bin/understudy.js, for A/B experiments),
// TOKENS_NODE_ARGS (extra node flags for both children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
//
// Both sides are long-lived child processes with one llama.cpp context on the same GGUF
// (the generated demo model), contextSize 2048, 1 sequence, 1 thread:
//   server: `node bin/understudy.js serve` with a registration `threads: 1, parallel: 1`, measured
//           from this process over keep-alive HTTP (node:http, so client overhead stays small);
//   direct: bench/tokens-direct.mjs, LlamaChat.generateResponse() timed inside that process.
// Every request: same system+user prompt, temperature 0, ignore_eos (exactly N tokens).
// Order within a round alternates (server first on even rounds, direct first on odd ones) so
// machine load drifts hit both sides equally. Reported figures are medians over the rounds.
import { fork } from "node:child_process";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, freePort, median, sleep, spawnGroup } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MODEL = "bench-demo";
const SYSTEM = "You are a helpful assistant.";
const USER = "Tell me a long story about a quick brown fox that jumps over the lazy dog.";

/** CPU time (ns) of every thread of a process, from /proc/<pid>/task/<tid>/schedstat. */
function cpuNs(pid) {
  let total = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {}
  }
  return total;
}

const nodeArgs = () => (process.env.TOKENS_NODE_ARGS ?? "").split(" ").filter(Boolean);

const num = (name, dflt) => {
  const v = process.env[name];
  return v === undefined || v === "" ? dflt : Number(v);
};

function prepareConfig() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "understudy-bench-tokens-"));
  execFileSync(process.execPath, [path.join(root, "bin/understudy.js"), "demo-model", "--out", path.join(dir, "demo.gguf")], { stdio: "ignore" });
  fs.writeFileSync(
    path.join(dir, `${MODEL}.yaml`),
    `registration:
  model: ${MODEL}
  endpoints: [createChatCompletion]
local_settings:
  backend: llama-cpp
  model: demo.gguf
  context_size: 2048
  threads: 1
  parallel: 1
  load: eager
`,
  );
  return dir;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** POST JSON; resolves when the whole body is in. onData sees each raw chunk with its arrival time. */
function post(port, body, onData) {
  return new Promise((resolve, reject) => {
    const buf = Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/chat/completions",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": buf.length },
      },
      (res) => {
        const parts = [];
        res.on("data", (c) => {
          parts.push(c);
          onData?.(c, performance.now());
        });
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(buf);
  });
}

const requestBody = (n, stream) => ({
  model: MODEL,
  messages: [
    { role: "system", content: SYSTEM },
    { role: "user", content: USER },
  ],
  max_tokens: n,
  temperature: 0,
  "x-localai-extensions": { ignore_eos: true },
  ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
});

async function serverRun(port, n, stream) {
  let ttft = null;
  let pending = "";
  let t0 = 0;
  // Streaming: time to the first chunk carrying non-empty delta.content (the role chunk is skipped).
  const onData = stream
    ? (c, t) => {
        if (ttft !== null) return;
        pending += c.toString("utf8");
        let i;
        while (ttft === null && (i = pending.indexOf("\n\n")) >= 0) {
          const line = pending.slice(0, i);
          pending = pending.slice(i + 2);
          if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
          if (JSON.parse(line.slice(6)).choices?.[0]?.delta?.content) ttft = t - t0;
        }
      }
    : undefined;
  t0 = performance.now();
  const res = await post(port, requestBody(n, stream), onData);
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`server answered ${res.status}: ${res.text.slice(0, 300)}`);
  let tokens;
  let text = "";
  if (stream) {
    for (const block of res.text.split("\n\n")) {
      if (!block.startsWith("data: ") || block === "data: [DONE]") continue;
      const j = JSON.parse(block.slice(6));
      if (j.error) throw new Error(`stream error: ${JSON.stringify(j.error)}`);
      if (j.usage) tokens = j.usage.completion_tokens;
      text += j.choices?.[0]?.delta?.content ?? "";
    }
  } else {
    const j = JSON.parse(res.text);
    tokens = j.usage.completion_tokens;
    text = j.choices[0].message.content;
  }
  return { ms, ttftMs: ttft, tokens, text };
}

function startDirect(modelPath) {
  const child = fork(path.join(root, "bench/tokens-direct.mjs"), [modelPath], { stdio: ["ignore", "ignore", "pipe", "ipc"], execArgv: nodeArgs() });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const waiting = new Map();
  let nextId = 1;
  let ready;
  const readyP = new Promise((resolve, reject) => {
    ready = resolve;
    child.once("exit", (code) => reject(new Error(`direct worker exited (${code}): ${stderr.slice(-500)}`)));
  });
  child.on("message", (m) => {
    if (m.type === "ready") return ready();
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m);
  });
  return {
    ready: readyP,
    pid: child.pid,
    run: (n, stream) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        child.send({
          id,
          maxTokens: n,
          stream,
          history: [
            { type: "system", text: SYSTEM },
            { type: "user", text: USER },
          ],
        });
      }),
    /** Asks the worker to exit (so --cpu-prof files get written); kills it after 5 s. */
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.send({ type: "exit" });
      if ((await Promise.race([exited, sleep(5000).then(() => "timeout")])) === "timeout") child.kill("SIGKILL");
    },
  };
}

async function waitForServer(port, child, getErr) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited: ${getErr()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/models`);
      if (res.status === 200) return;
    } catch {}
    await sleep(20);
  }
  throw new Error(`server not ready after 60 s: ${getErr()}`);
}

export async function benchTokens() {
  const runs = num("TOKENS_RUNS", 30);
  const n = num("TOKENS_N", 256);
  const large = num("TOKENS_LARGE", 1024);
  const warmup = num("TOKENS_WARMUP", 2);
  const blockSize = num("TOKENS_BLOCK", 1);
  const dir = prepareConfig();
  const port = await freePort();
  // TOKENS_SERVER_BIN: another build's bin/understudy.js, for A/B experiments (default: this checkout).
  const bin = process.env.TOKENS_SERVER_BIN || path.join(root, "bin/understudy.js");
  const server = spawnGroup(process.execPath, [...nodeArgs(), bin, "serve", "--config", dir, "--port", String(port)], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "warn" },
  });
  let serverErr = "";
  server.stderr.on("data", (c) => {
    serverErr = (serverErr + c).slice(-2000);
    if (process.env.TOKENS_VERBOSE === "1") process.stderr.write(c);
  });
  const direct = startDirect(path.join(dir, "demo.gguf"));
  try {
    await Promise.all([waitForServer(port, server, () => serverErr), direct.ready]);
    const variants = [
      { key: `ns${n}`, n, stream: false },
      { key: `st${n}`, n, stream: true },
      ...(large > 0 ? [{ key: `ns${large}`, n: large, stream: false }] : []),
    ];
    const sides = { server: (v) => serverRun(port, v.n, v.stream), direct: (v) => direct.run(v.n, v.stream) };
    const pids = { server: server.pid, direct: direct.pid };
    const verbose = process.env.TOKENS_VERBOSE === "1";
    const results = Object.fromEntries(variants.map((v) => [v.key, { ...v, server: [], direct: [], ratios: [] }]));
    const texts = {};
    for (let round = -warmup; round < runs; round++) {
      const order = round % 2 === 0 ? ["server", "direct"] : ["direct", "server"];
      for (const v of variants) {
        const block = {};
        for (const side of order) {
          block[side] = [];
          for (let b = 0; b < blockSize; b++) {
            const c0 = cpuNs(pids[side]);
            const r = await sides[side](v);
            r.cpuMs = (cpuNs(pids[side]) - c0) / 1e6;
            if (verbose)
              console.error(`r${round}.${b} ${v.key} ${side}: ${r.ms.toFixed(1)} ms wall, ${r.cpuMs.toFixed(1)} ms cpu, ttft ${r.ttftMs?.toFixed(2)}`);
            if (r.tokens !== v.n) throw new Error(`${side} ${v.key}: ${r.tokens} tokens, expected ${v.n}`);
            texts[`${side}:${v.key}`] = r.text;
            block[side].push(r);
          }
          if (round >= 0) results[v.key][side].push(...block[side]);
        }
        // Per-round ratio: the median tokens/s of each side's block, measured back to back.
        const blockTps = (xs) => median(xs.map((x) => x.tokens / x.ms));
        if (round >= 0) results[v.key].ratios.push(blockTps(block.server) / blockTps(block.direct));
      }
    }
    const rows = variants.map((v) => {
      const r = results[v.key];
      const tps = (xs) => xs.map((x) => x.tokens / (x.ms / 1000));
      const ratios = r.ratios;
      return {
        key: v.key,
        n: v.n,
        stream: v.stream,
        server_tps: median(tps(r.server)),
        direct_tps: median(tps(r.direct)),
        ratio: median(ratios),
        ratio_min: Math.min(...ratios),
        ratio_max: Math.max(...ratios),
        server_ms: median(r.server.map((x) => x.ms)),
        direct_ms: median(r.direct.map((x) => x.ms)),
        // Best run of each side: the least disturbed by other tenants of this shared machine.
        best_ratio: Math.min(...r.direct.map((x) => x.ms)) / Math.min(...r.server.map((x) => x.ms)),
        server_cpu_ms: median(r.server.map((x) => x.cpuMs)),
        direct_cpu_ms: median(r.direct.map((x) => x.cpuMs)),
        server_ttft: v.stream ? median(r.server.map((x) => x.ttftMs)) : null,
        direct_ttft: v.stream ? median(r.direct.map((x) => x.ttftMs)) : null,
        same_text: texts[`server:${v.key}`] === texts[`direct:${v.key}`],
      };
    });
    return { runs, warmup, blockSize, n, large, rows };
  } finally {
    await direct.stop();
    // SIGINT first: the server shuts down cleanly (and writes --cpu-prof files); the group is killed after 5 s.
    const exited = new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
    try {
      process.kill(server.pid, "SIGINT");
    } catch {}
    await Promise.race([exited, sleep(5000)]);
    server.stopGroup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function tokensMarkdown(r) {
  const target = (x) => (x >= 0.9 ? "met" : "**missed**");
  const lines = [
    "## Generated tokens/s: HTTP server vs node-llama-cpp directly",
    "",
    `Command: \`node bench/run.mjs tokens\` (knobs: \`TOKENS_RUNS=${r.runs} TOKENS_N=${r.n} TOKENS_LARGE=${r.large} TOKENS_WARMUP=${r.warmup} TOKENS_BLOCK=${r.blockSize}\`).`,
    "",
    "Same generated demo GGUF, same settings on both sides: contextSize 2048, 1 sequence, `threads: 1`, temperature 0, " +
      "ignore_eos (every request produces exactly N tokens), the same system+user prompt. " +
      "**server** = `understudy serve` (registration `threads: 1, parallel: 1`) called over keep-alive HTTP from the bench process, " +
      "wall time from sending the request to the last byte; **direct** = `LlamaChat.generateResponse()` in a separate Node process " +
      "(`bench/tokens-direct.mjs`), timed around the call. tokens/s = completion tokens / wall time. " +
      `${r.runs} rounds after ${r.warmup} warm-up rounds, server and direct back to back in alternating order; medians; ` +
      "ratio = server tokens/s ÷ direct tokens/s per round (each side's median over its block of TOKENS_BLOCK requests; then the median over rounds, min..max; the target is judged on the median); " +
      "ratio of best runs = fastest direct run ÷ fastest server run; CPU = CPU time of the whole process (all threads, from /proc) per request, median. " +
      "\"same text\" = the server's and the direct call's generated text are identical.",
    "",
    "| request | server tok/s | direct tok/s | ratio server/direct | ratio of best runs | server CPU ms/req | direct CPU ms/req | same text | target ≥ 0.9 |",
    "|---|--:|--:|--:|--:|--:|--:|:-:|:-:|",
    ...r.rows.map(
      (x) =>
        `| ${x.stream ? "stream" : "non-stream"}, ${x.n} tokens | ${fmt(x.server_tps, 0)} | ${fmt(x.direct_tps, 0)} | ${fmt(x.ratio, 3)} (${fmt(x.ratio_min, 2)}..${fmt(x.ratio_max, 2)}) | ${fmt(x.best_ratio, 3)} | ${fmt(x.server_cpu_ms, 1)} | ${fmt(x.direct_cpu_ms, 1)} | ${x.same_text ? "yes" : "no"} | ${target(x.ratio)} |`,
    ),
    "",
    "Time to first token (streaming): server = request sent → first SSE chunk with non-empty `delta.content` arrives; " +
      "direct = `generateResponse()` called → first `onTextChunk`.",
    "",
    "| request | server TTFT | direct TTFT | added by the server |",
    "|---|--:|--:|--:|",
    ...r.rows
      .filter((x) => x.stream)
      .map((x) => `| stream, ${x.n} tokens | ${fmt(x.server_ttft, 2)} ms | ${fmt(x.direct_ttft, 2)} ms | ${fmt(x.server_ttft - x.direct_ttft, 2)} ms |`),
    "",
  ];
  return lines.join("\n");
}

export async function run() {
  return tokensMarkdown(await benchTokens());
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
