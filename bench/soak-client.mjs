// The load side of the soak bench (bench/soak.mjs): chat completions over node:http keep-alive
// agents, each one checked for a complete answer, outcomes counted rather than kept.
import http from "node:http";

/** A request that has not finished after this long is counted as an error and destroyed. */
const REQUEST_TIMEOUT_MS = 60_000;

export class Tally {
  constructor() {
    this.counts = {}; // outcome -> n ("ok json", "ok stream", "aborted", "status 503", "error ECONNRESET", ...)
    this.samples = []; // the first few failures, for the report
    this.latencies = { json: [], stream: [] };
  }
  add(outcome, detail) {
    this.counts[outcome] = (this.counts[outcome] ?? 0) + 1;
    if (!outcome.startsWith("ok") && outcome !== "aborted" && this.samples.length < 5) this.samples.push(`${outcome}: ${detail ?? ""}`.slice(0, 300));
  }
  get failures() {
    return Object.entries(this.counts)
      .filter(([k]) => !k.startsWith("ok") && k !== "aborted")
      .reduce((a, [, n]) => a + n, 0);
  }
}

const body = (model, stream, chunks) =>
  JSON.stringify({ model, stream, max_tokens: stream ? chunks : undefined, messages: [{ role: "user", content: "soak" }] });

/**
 * One chat completion. kind: "json" | "stream" | "abort" (a stream the client destroys once its first
 * chunk has arrived). Resolves with the outcome; never rejects. `onOpen`/`onClose` (optional) are
 * called when a stream's first chunk arrives and when the request ends, to count streams open at once.
 */
export function chat({ agent, port, model, kind, chunks, tally, onOpen, onClose }) {
  const stream = kind !== "json";
  const payload = body(model, stream, chunks);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let opened = false;
    const finish = (outcome, detail) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (opened) onClose?.();
      if (outcome.startsWith("ok")) tally.latencies[stream ? "stream" : "json"].push(performance.now() - t0);
      tally.add(outcome, detail);
      resolve(outcome);
    };
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          text += c;
          if (stream && !opened && res.statusCode === 200) {
            opened = true;
            onOpen?.();
            if (kind === "abort") {
              finish("aborted");
              req.destroy();
            }
          }
        });
        res.on("end", () => finish(...judge(res.statusCode, stream, text)));
        res.on("error", (err) => finish(`error ${err.code ?? err.message}`, err.message));
      },
    );
    const timer = setTimeout(() => {
      finish("error timeout", `no end after ${REQUEST_TIMEOUT_MS} ms`);
      req.destroy();
    }, REQUEST_TIMEOUT_MS);
    req.on("error", (err) => finish(`error ${err.code ?? err.message}`, err.message));
    req.end(payload);
  });
}

/** [outcome, detail] for a response read to its end. */
function judge(status, stream, text) {
  if (status !== 200) return [`status ${status}`, text];
  if (!stream) {
    try {
      const j = JSON.parse(text);
      const c = j.choices?.[0];
      return c?.finish_reason === "stop" && typeof c.message?.content === "string" && c.message.content.length > 0 ? ["ok json"] : ["incomplete json", text];
    } catch {
      return ["incomplete json", text];
    }
  }
  const complete = text.endsWith("data: [DONE]\n\n") && text.includes('"finish_reason":"stop"') && !text.includes('"error"');
  return complete ? ["ok stream"] : ["incomplete stream", text.slice(-200)];
}

/** Mixed load: `total` requests, `concurrency` at a time; request i is json, stream or abort (see kindOf). */
export async function mixedLoad({ port, total, concurrency, model, chunks, tally, deadline }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (next < total && Date.now() < deadline) await chat({ agent, port, model, kind: kindOf(next++), chunks, tally });
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy(); // its sockets would count against the server's connection cap in the next phase
  return { sent: next, seconds };
}

/** Half non-streaming, half streaming; one streaming request in ten aborted after its first chunk. */
export const kindOf = (i) => (i % 2 === 0 ? "json" : Math.floor(i / 2) % 10 === 0 ? "abort" : "stream");

/** Streams started per step, and the pause between steps, when opening the held streams. */
const RAMP_BATCH = 50;
const RAMP_PAUSE_MS = 20;

/**
 * `n` streams on their own connections, opened in quick batches (all of them at once would overflow
 * the server's listen backlog, 511, and the refused SYNs are retried seconds later); resolves when all have ended.
 */
export async function heldStreams({ port, n, model, chunks, tally }) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: n });
  let open = 0;
  let maxOpen = 0;
  const onOpen = () => (maxOpen = Math.max(maxOpen, ++open));
  const onClose = () => open--;
  const t0 = performance.now();
  const all = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % RAMP_BATCH === 0) await new Promise((r) => setTimeout(r, RAMP_PAUSE_MS));
    all.push(chat({ agent, port, model, kind: "stream", chunks, tally, onOpen, onClose }));
  }
  await Promise.all(all);
  agent.destroy();
  return { maxOpen, seconds: (performance.now() - t0) / 1000 };
}
