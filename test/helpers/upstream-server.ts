/**
 * A scriptable fake OpenAI-compatible upstream: a real node:http server on 127.0.0.1 that records
 * every request and answers as the test's route says (misbehaving on purpose where wanted).
 * Without a route it behaves like a well-mannered OpenAI server.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** The caller's port: the same value on several requests means a reused (keep-alive) connection. */
  remotePort: number;
  /** True once the connection closed before the response was finished (the caller gave up). */
  closedEarly: boolean;
  /** Resolves when the response is finished or the connection closed. */
  settled: Promise<void>;
}

export type Route = (req: UpstreamRequest, res: http.ServerResponse, n: number) => void | Promise<void>;

export interface FakeUpstream {
  /** Base URL as an OpenAI client is configured: `http://127.0.0.1:<port>/v1`. */
  url: string;
  requests: UpstreamRequest[];
  route(route: Route | undefined): void;
  close(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the caller hangs up (or maxMs passes), leaving no timer behind. */
export async function untilClosed(req: UpstreamRequest, maxMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([req.settled, new Promise((r) => (timer = setTimeout(r, maxMs)))]);
  clearTimeout(timer);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export function startSse(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
}

/** Writes raw SSE text exactly as given (frames may be non-canonical on purpose), with a pause between. */
export async function writeFrames(res: http.ServerResponse, frames: string[], delayMs = 0, end = true): Promise<void> {
  for (const f of frames) {
    if (res.destroyed) return;
    res.write(f);
    if (delayMs) await sleep(delayMs);
  }
  if (end) res.end();
}

export const data = (obj: unknown) => `data: ${typeof obj === "string" ? obj : JSON.stringify(obj)}\n\n`;

export function chatChunk(model: string, delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) {
  return {
    id: "chatcmpl-up",
    object: "chat.completion.chunk",
    created: 1,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...extra,
  };
}

export function chatCompletion(model: string, content: string) {
  return {
    id: "chatcmpl-up",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

/** The well-behaved default: chat (JSON and stream), completions (JSON and stream), embeddings. */
export async function defaultRoute(req: UpstreamRequest, res: http.ServerResponse): Promise<void> {
  const model = req.body?.model ?? "unknown";
  if (req.path.endsWith("/chat/completions")) {
    if (!req.body.stream) return sendJson(res, 200, chatCompletion(model, "Hello world"));
    startSse(res);
    const frames = [
      data(chatChunk(model, { role: "assistant", content: "" })),
      data(chatChunk(model, { content: "Hello" })),
      data(chatChunk(model, { content: " world" })),
      data(chatChunk(model, {}, "stop")),
    ];
    if (req.body.stream_options?.include_usage)
      frames.push(data({ ...chatChunk(model, {}), choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }));
    frames.push("data: [DONE]\n\n");
    return writeFrames(res, frames);
  }
  if (req.path.endsWith("/completions")) {
    const choice = (text: string, finish: string | null) => ({ index: 0, text, finish_reason: finish, logprobs: null });
    const base = { id: "cmpl-up", object: "text_completion", created: 1, model };
    if (!req.body.stream)
      return sendJson(res, 200, { ...base, choices: [choice("Once upon", "length")], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
    startSse(res);
    return writeFrames(res, [data({ ...base, choices: [choice("Once", null)] }), data({ ...base, choices: [choice(" upon", "length")] }), "data: [DONE]\n\n"]);
  }
  if (req.path.endsWith("/embeddings")) {
    const inputs = Array.isArray(req.body.input) ? req.body.input : [req.body.input];
    const vector = [0.25, -0.5, 0.125];
    // The openai SDK asks for base64 unless told otherwise.
    const embedding = req.body.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
    return sendJson(res, 200, {
      object: "list",
      model,
      data: inputs.map((_: unknown, index: number) => ({ object: "embedding", index, embedding })),
      usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
    });
  }
  sendJson(res, 404, { error: { message: `no route ${req.path}`, type: "invalid_request_error" } });
}

export async function startFakeUpstream(initial?: Route): Promise<FakeUpstream> {
  let current = initial;
  const requests: UpstreamRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let resolveSettled!: () => void;
      const record: UpstreamRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
        remotePort: req.socket.remotePort ?? 0,
        closedEarly: false,
        settled: new Promise((r) => (resolveSettled = r)),
      };
      res.on("close", () => {
        record.closedEarly = !res.writableFinished;
        resolveSettled();
      });
      requests.push(record);
      Promise.resolve((current ?? defaultRoute)(record, res, requests.length)).catch((err) => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: String(err) } });
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    route: (r) => void (current = r),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port with nothing listening: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
