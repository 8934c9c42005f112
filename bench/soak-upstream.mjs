#!/usr/bin/env node
// Fake OpenAI-compatible upstream for the soak bench (bench/soak.mjs), run as its own process so it
// does not share an event loop with the load generator. Plain node:http, precomputed bodies.
//
//   POST /v1/chat/completions              -> chat.completion JSON
//   POST /v1/chat/completions stream:true  -> SSE: max_tokens chunks (default 16), then [DONE]
//   GET  /stats                            -> {"streams":{"started","ended","cut","open"}}: "cut" = closed
//                                             by the server before the end (a client's abort passed on)
//
// The pause between chunks depends on the upstream model name, so one server serves both phases:
// model "hold" waits SOAK_HOLD_DELAY_MS between chunks (streams held open for seconds), any other
// model waits SOAK_CHUNK_DELAY_MS (short streams that are still open long enough to be aborted).
// Env: PORT (required), SOAK_CHUNK_DELAY_MS (default 2), SOAK_HOLD_DELAY_MS (default 150).
import http from "node:http";

const PORT = Number(process.env.PORT);
const CHUNK_DELAY_MS = Number(process.env.SOAK_CHUNK_DELAY_MS ?? 2);
const HOLD_DELAY_MS = Number(process.env.SOAK_HOLD_DELAY_MS ?? 150);
const DEFAULT_CHUNKS = 16;
/** Bounds what one request can make this process hold (the bench never asks for more). */
const MAX_CHUNKS = 4096;
const CREATED = Math.floor(Date.now() / 1000);
const ID = "chatcmpl-soak";

const completions = new Map();
const completion = (model) => completions.get(model) ?? completions.set(model, completionBody(model)).get(model);
const completionBody = (model) =>
  Buffer.from(
    JSON.stringify({
      id: ID,
      object: "chat.completion",
      created: CREATED,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: "soak reply text", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
    }),
  );

const sse = (obj) => Buffer.from(`data: ${JSON.stringify(obj)}\n\n`);
const chunk = (model, delta, finish) => ({
  id: ID,
  object: "chat.completion.chunk",
  created: CREATED,
  model,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});
const DONE = Buffer.from("data: [DONE]\n\n");

/** Precomputed event lists, keyed by model, chunk count and whether a usage event is wanted. */
const cache = new Map();
function events(model, n, withUsage) {
  const key = `${model}/${n}/${withUsage}`;
  let list = cache.get(key);
  if (list) return list;
  list = [];
  for (let i = 0; i < n; i++) list.push(sse(chunk(model, i === 0 ? { role: "assistant", content: "t0" } : { content: ` t${i}` }, i === n - 1 ? "stop" : null)));
  if (withUsage) list.push(sse({ ...chunk(model, {}, null), choices: [], usage: { prompt_tokens: 9, completion_tokens: n, total_tokens: 9 + n } }));
  list.push(DONE);
  if (cache.size < 64) cache.set(key, list);
  return list;
}

const streams = { started: 0, ended: 0, cut: 0 };

function stream(res, list, delayMs) {
  streams.started++;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  let i = 0;
  let timer;
  let ended = false;
  const step = () => {
    if (res.destroyed) return;
    if (i === list.length - 1) {
      ended = true;
      streams.ended++;
      return void res.end(list[i]);
    }
    res.write(list[i++]);
    timer = setTimeout(step, delayMs);
  };
  res.on("close", () => {
    clearTimeout(timer);
    if (!ended) streams.cut++;
  });
  step();
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    const open = streams.started - streams.ended - streams.cut;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ streams: { ...streams, open } }));
    return;
  }
  if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
    req.resume();
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}');
    return;
  }
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(parts));
    } catch {
      res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"error":{"message":"bad JSON","type":"invalid_request_error","param":null,"code":null}}');
      return;
    }
    const model = String(body.model ?? "fake");
    if (body.stream !== true) {
      const buf = completion(model);
      res.writeHead(200, { "content-type": "application/json", "content-length": buf.length }).end(buf);
      return;
    }
    const asked = Number(body.max_tokens ?? body.max_completion_tokens ?? DEFAULT_CHUNKS);
    const n = Number.isFinite(asked) && asked >= 1 ? Math.min(Math.floor(asked), MAX_CHUNKS) : DEFAULT_CHUNKS;
    stream(res, events(model, n, body.stream_options?.include_usage === true), model === "hold" ? HOLD_DELAY_MS : CHUNK_DELAY_MS);
  });
});
// Node's default (5 s): the server's pool drops the connections phase 2 opened while the bench idles.
server.keepAliveTimeout = 5_000;
server.listen(PORT, "127.0.0.1", () => console.log(`soak-upstream listening on ${PORT}`));
process.on("SIGTERM", () => process.exit(0));
