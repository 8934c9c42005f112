/**
 * A hostile OpenAI-compatible upstream for the security suite: a loopback node:http server whose
 * answer to each request is scripted by the request itself. The first message's content (or the
 * prompt, or the embedding input) names a scenario registered with `script()`; anything else gets
 * the well-behaved default answer, so a category's "normal request" goes through the same upstream.
 *
 * Every write goes through `send()`, which respects the socket's backpressure and records it, so a
 * test can tell an upstream that was held back (its writes stalled) from one that was drained.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { chatChunk, data, defaultRoute, type UpstreamRequest } from "../helpers/upstream-server.js";

export interface HostileRequest {
  scenario: string;
  /** The request path without its query string (routing ignores it). */
  path: string;
  /** The request target as sent, query string included. */
  target: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** Bytes handed to the socket so far. */
  bytesWritten: number;
  /** Writes the reader did not take at once (write() returned false: backpressure). */
  stalls: number;
  /** Set while a write waits for 'drain' (since when, ms epoch); 0 when not waiting. */
  waitingSince: number;
  /** The connection closed before the response was finished (the caller gave up or cut it). */
  closedEarly: boolean;
  finished: boolean;
  /** Resolves when the response is finished or the connection closed. */
  settled: Promise<void>;
}

export interface Scripted {
  req: HostileRequest;
  res: http.ServerResponse;
  /** The bearer token the caller sent (what a careless upstream echoes back). */
  key: string;
}

export type Behaviour = (s: Scripted) => void | Promise<void>;

export interface HostileUpstream {
  /** Base URL as OpenAI clients take it: `http://127.0.0.1:<port>/v1`. */
  url: string;
  port: number;
  requests: HostileRequest[];
  /** Requests naming `scenario` get `behaviour`. */
  script(scenario: string, behaviour: Behaviour): void;
  /** The latest request that named `scenario`. */
  last(scenario: string): HostileRequest | undefined;
  close(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scenarioOf(body: any): string {
  const content = body?.messages?.[0]?.content;
  if (typeof content === "string") return content;
  if (typeof body?.prompt === "string") return body.prompt;
  if (typeof body?.input === "string") return body.input;
  return "";
}

/** Writes `chunk`, waiting for 'drain' when the reader pushes back. False once the connection is gone. */
export async function send(s: Scripted, chunk: string | Buffer): Promise<boolean> {
  const { req, res } = s;
  if (res.destroyed || res.writableEnded) return false;
  req.bytesWritten += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  if (res.write(chunk)) return true;
  req.stalls++;
  req.waitingSince = Date.now();
  await Promise.race([once(res, "drain"), once(res, "close")]).catch(() => undefined);
  req.waitingSince = 0;
  return !res.destroyed;
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const scripts = new Map<string, Behaviour>();
  const requests: HostileRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      let settle!: () => void;
      const record: HostileRequest = {
        scenario: scenarioOf(body),
        path: (req.url ?? "").split("?")[0],
        target: req.url ?? "",
        headers: req.headers,
        body,
        bytesWritten: 0,
        stalls: 0,
        waitingSince: 0,
        closedEarly: false,
        finished: false,
        settled: new Promise((r) => (settle = r)),
      };
      res.on("close", () => {
        record.closedEarly = !res.writableFinished;
        record.finished = res.writableFinished;
        settle();
      });
      requests.push(record);
      const key = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
      const behaviour = scripts.get(record.scenario);
      const run = behaviour ? behaviour({ req: record, res, key }) : defaultRoute(record as unknown as UpstreamRequest, res);
      Promise.resolve(run).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    script: (scenario, behaviour) => void scripts.set(scenario, behaviour),
    last: (scenario) => requests.filter((r) => r.scenario === scenario).pop(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Behaviours

const COMPLETION_HEAD =
  '{"id":"chatcmpl-h","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"';
const COMPLETION_TAIL = '"},"finish_reason":"stop","logprobs":null}]}';

export interface BigBodyOptions {
  /** Bytes actually sent. */
  bytes: number;
  status?: number;
  contentType?: string;
  /** Content-Length to announce (default: none, chunked). */
  announce?: number;
  /** After sending: end the response (default), keep the connection open, or drop it. */
  then?: "end" | "hold" | "destroy";
}

/**
 * A chat completion whose content is `bytes` of filler (valid JSON when sent whole), or with a
 * non-2xx status an error object of that size.
 */
export function bigBody(o: BigBodyOptions): Behaviour {
  return async (s) => {
    const status = o.status ?? 200;
    const headers: Record<string, string | number> = { "content-type": o.contentType ?? "application/json" };
    if (o.announce !== undefined) headers["content-length"] = o.announce;
    s.res.writeHead(status, headers);
    const head = status < 300 ? COMPLETION_HEAD : '{"error":{"type":"server_error","message":"';
    const tail = status < 300 ? COMPLETION_TAIL : '"}}';
    const filler = Buffer.alloc(64 * 1024, "a");
    let left = Math.max(0, o.bytes - head.length - tail.length);
    if (!(await send(s, head))) return;
    while (left > 0) {
      const piece = left >= filler.length ? filler : filler.subarray(0, left);
      if (!(await send(s, piece))) return;
      left -= piece.length;
    }
    if (!(await send(s, tail))) return;
    if ((o.then ?? "end") === "end") s.res.end();
    else if (o.then === "destroy") s.res.destroy();
  };
}

/** `[[[...]]]` nested `depth` deep. */
export const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/**
 * JSON nested `depth` levels deep in an otherwise normal answer: `modelFirst` puts `model` before
 * it (the shape relayed without parsing); with `stream`, the deep chunk comes after `okChunks` good ones.
 */
export function deepJson(o: { depth: number; modelFirst?: boolean; stream?: boolean; okChunks?: number; status?: number }): Behaviour {
  return async (s) => {
    const name: string = s.req.body?.model ?? "up";
    const model = JSON.stringify(name);
    const object = o.stream ? "chat.completion.chunk" : "chat.completion";
    const head = `{"id":"c","object":"${object}","created":1,"choices":[]`;
    const text = o.modelFirst ? `${head},"model":${model},"x":${nested(o.depth)}}` : `${head},"x":${nested(o.depth)},"model":${model}}`;
    if (!o.stream) {
      s.res.writeHead(o.status ?? 200, { "content-type": "application/json" });
      s.res.end(text);
      return;
    }
    s.res.writeHead(200, { "content-type": "text/event-stream" });
    for (let i = 0; i < (o.okChunks ?? 0); i++) await send(s, data(chatChunk(name, { content: "ok" })));
    await send(s, `data: ${text}\n\n`);
    await send(s, data(chatChunk(name, {}, "stop")));
    await send(s, "data: [DONE]\n\n");
    s.res.end();
  };
}

export type ErrorField = "message" | "type" | "param" | "code";

/**
 * An error that quotes the caller's key (or `value(key)`) in the given fields, with `status`
 * (default 400). `stream`: as an in-band payload of a 200 event stream, after one good chunk unless
 * `first` (`event: error` with `namedEvent`).
 */
export function keyEcho(o: {
  status?: number;
  fields: ErrorField[];
  stream?: boolean;
  first?: boolean;
  namedEvent?: boolean;
  value?: (key: string, req: HostileRequest) => string;
}): Behaviour {
  return async (s) => {
    const value = o.value ? o.value(s.key, s.req) : `Bearer ${s.key}`;
    const error: Record<string, string> = { message: "rejected", type: "invalid_request_error", param: "messages", code: "bad_request" };
    for (const f of o.fields) error[f] = value;
    const model = s.req.body?.model ?? "up";
    if (!o.stream) {
      s.res.writeHead(o.status ?? 400, { "content-type": "application/json" });
      s.res.end(JSON.stringify({ error }));
      return;
    }
    s.res.writeHead(200, { "content-type": "text/event-stream" });
    if (!o.first) await send(s, data(chatChunk(model, { role: "assistant", content: "" })));
    await send(s, o.namedEvent ? `event: error\ndata: ${JSON.stringify({ error })}\n\n` : data({ error }));
    s.res.end();
  };
}

/**
 * A stream whose SSE comment line (logged by debug_connections, never relayed) holds the key cut
 * in two at `at`, the halves written `gapMs` apart so they arrive as two network reads.
 */
export function splitKeyStream(o: { at: number; gapMs?: number }): Behaviour {
  return async (s) => {
    const model = s.req.body?.model ?? "up";
    s.res.writeHead(200, { "content-type": "text/event-stream" });
    s.res.socket?.setNoDelay(true);
    await send(s, data(chatChunk(model, { role: "assistant", content: "" })));
    await send(s, `: session ${s.key.slice(0, o.at)}`);
    await sleep(o.gapMs ?? 60);
    await send(s, `${s.key.slice(o.at)} ok\n\n`);
    await send(s, data(chatChunk(model, { content: "done" }, "stop")));
    await send(s, "data: [DONE]\n\n");
    s.res.end();
  };
}

/**
 * `totalBytes` of well-formed chunks (each about `chunkBytes`), as fast as the reader takes them.
 * `afterDone`: a complete answer and `[DONE]` first, and the flood after it.
 */
export function endlessStream(o: { totalBytes: number; chunkBytes?: number; afterDone?: boolean }): Behaviour {
  return async (s) => {
    const model = s.req.body?.model ?? "up";
    s.res.writeHead(200, { "content-type": "text/event-stream" });
    const end = data(chatChunk(model, { content: "end" }, "stop")) + "data: [DONE]\n\n";
    if (o.afterDone && !(await send(s, end))) return;
    const frame = data(chatChunk(model, { content: "x".repeat(o.chunkBytes ?? 16 * 1024) }));
    const batch = Buffer.from(frame.repeat(4));
    while (s.req.bytesWritten < o.totalBytes) if (!(await send(s, batch))) return;
    if (!o.afterDone) await send(s, end);
    s.res.end();
  };
}
