/**
 * A scriptable fake Anthropic upstream: a node:http server on 127.0.0.1 that speaks the Messages
 * API as Anthropic documents it, strictly, so a dialect that sends anything Anthropic would refuse
 * fails its test: the key (`x-api-key` or bearer) and `anthropic-version` checked, user/assistant alternation starting
 * with user, `max_tokens` required, no `system` role, every `tool_use` answered by a `tool_result`
 * in the next turn. It records every request and answers scripted replies (messages, streams with
 * the documented event sequence, HTTP and in-stream errors). Without a script it says "Hello world".
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sleep } from "./upstream-server.js";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

/** The HTTP status Anthropic answers each error type with. */
export const ERROR_STATUS: Record<AnthropicErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

export type ScriptedBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; name: string; input: Record<string, unknown>; id?: string }
  | { type: "thinking"; thinking: string; signature: string };

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
}

export type AnthropicReply =
  | {
      kind: "message";
      content: ScriptedBlock[];
      /** Default: `tool_use` when a tool_use block is scripted, else `end_turn`. */
      stop_reason?: string;
      stop_sequence?: string | null;
      usage?: Partial<AnthropicUsage>;
      /** Pause between stream frames. */
      frameDelayMs?: number;
    }
  /** An error; on a streamed request with `inStream`, a 200 stream that breaks off with `event: error`. */
  | { kind: "error"; type: AnthropicErrorType; message?: string; retryAfterSeconds?: number; inStream?: boolean }
  /** Full control, for misbehaviour on purpose. */
  | { kind: "raw"; handle: (req: AnthropicRequest, res: http.ServerResponse) => void | Promise<void> };

export interface AnthropicRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** The status the fake answered with (set once answered). */
  status?: number;
}

export interface FakeAnthropic {
  /** The API base, as `new Anthropic({ baseURL })` and the `anthropic` dialect take it (no `/v1`). */
  url: string;
  /** The key the fake expects in `x-api-key`. */
  apiKey: string;
  /** Every request, valid or not, in arrival order. */
  requests: AnthropicRequest[];
  /** Queues replies for the next valid requests (a function sees the request). Unscripted requests get "Hello world". */
  script(...replies: (AnthropicReply | ((req: AnthropicRequest) => AnthropicReply))[]): void;
  /** What count_tokens answers; by default about a token per 4 characters of messages, system and tools. */
  countTokens(fn: ((req: AnthropicRequest) => number) | undefined): void;
  close(): Promise<void>;
}

const DEFAULT_USAGE: AnthropicUsage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

export function anthropicError(type: AnthropicErrorType | string, message: string) {
  return { type: "error", error: { type, message } };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "request-id": "req_fake", ...headers });
  res.end(JSON.stringify(body));
}

/** One SSE frame as Anthropic writes it: the event name, then its JSON (whose `type` is the same name). */
export const sseEvent = (event: { type: string }) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

/** Why Anthropic would refuse this body, or undefined. */
export function invalidRequest(body: any, countOnly: boolean): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body: expected an object";
  if (typeof body.model !== "string" || body.model === "") return "model: Field required";
  if (!countOnly && !Number.isInteger(body.max_tokens)) return "max_tokens: Field required";
  if (!countOnly && body.max_tokens < 1) return "max_tokens: must be at least 1";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: at least one message is required";
  if (body.system !== undefined && typeof body.system !== "string" && !Array.isArray(body.system)) return "system: Input should be a string or a list";
  for (const [i, m] of body.messages.entries()) {
    if (m?.role === "system") return `messages.${i}.role: Unexpected role "system". Use the top-level system parameter.`;
    if (m?.role !== "user" && m?.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (typeof m.content !== "string" && !Array.isArray(m.content)) return `messages.${i}.content: Input should be a string or a list`;
    if (i === 0 && m.role !== "user") return 'messages: first message must use the "user" role';
    if (i > 0 && body.messages[i - 1].role === m.role)
      return `messages: roles must alternate between "user" and "assistant", found two "${m.role}" in a row at ${i}`;
    const unanswered = unansweredToolUse(m, body.messages[i + 1]);
    if (unanswered) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${unanswered}`;
  }
  return undefined;
}

/**
 * Anthropic takes the key as `x-api-key` or as `Authorization: Bearer` (what @anthropic-ai/sdk 1.x
 * sends for `apiKey`). Tests of the dialect assert which header it sent from `requests`.
 */
function authenticated(headers: http.IncomingHttpHeaders, apiKey: string): boolean {
  return headers["x-api-key"] === apiKey || headers.authorization === `Bearer ${apiKey}`;
}

const blocks = (m: any): any[] => (Array.isArray(m?.content) ? m.content : []);

/** Anthropic requires each tool_use of an assistant turn to be answered in the next (user) turn. */
function unansweredToolUse(message: any, next: any): string | undefined {
  if (message.role !== "assistant" || next === undefined) return undefined;
  const answered = new Set(
    blocks(next)
      .filter((b) => b?.type === "tool_result")
      .map((b) => b.tool_use_id),
  );
  const missing = blocks(message).filter((b) => b?.type === "tool_use" && !answered.has(b.id));
  return missing.length > 0 ? missing.map((b) => b.id).join(", ") : undefined;
}

function estimateTokens(body: any): number {
  const text = JSON.stringify([body.system ?? "", body.messages, body.tools ?? []]);
  return Math.max(1, Math.ceil(text.length / 4));
}

function messageOf(id: string, model: string, content: unknown[], stopReason: string | null, stopSequence: string | null, usage: AnthropicUsage) {
  return { id, type: "message", role: "assistant", model, content, stop_reason: stopReason, stop_sequence: stopSequence, usage };
}

function withIds(content: ScriptedBlock[], n: number) {
  return content.map((b, i) => (b.type === "tool_use" ? { type: "tool_use", id: b.id ?? `toolu_fake_${n}_${i}`, name: b.name, input: b.input } : b));
}

/** Cuts a string into `parts` pieces (some may be empty), for deltas. */
function split(text: string, parts: number): string[] {
  const size = Math.ceil(text.length / parts);
  return Array.from({ length: parts }, (_, i) => text.slice(i * size, (i + 1) * size));
}

/** The documented event sequence for a message: start, ping, each block (start, deltas, stop), delta, stop. */
export function streamEvents(message: ReturnType<typeof messageOf>): { type: string }[] {
  const { content, stop_reason, stop_sequence, usage } = message;
  const events: any[] = [
    { type: "message_start", message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } },
    { type: "ping" },
  ];
  (content as any[]).forEach((block, index) => {
    if (block.type === "text") {
      events.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } });
      for (const text of split(block.text, 2)) events.push({ type: "content_block_delta", index, delta: { type: "text_delta", text } });
    } else if (block.type === "tool_use") {
      events.push({ type: "content_block_start", index, content_block: { ...block, input: {} } });
      // Anthropic's first fragment is often empty; the others split the JSON anywhere, mid-token.
      for (const partial_json of ["", ...split(JSON.stringify(block.input), 3)])
        events.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } });
    } else {
      events.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
      events.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: block.thinking } });
      events.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: block.signature } });
    }
    events.push({ type: "content_block_stop", index });
  });
  events.push({ type: "message_delta", delta: { stop_reason, stop_sequence }, usage: { output_tokens: usage.output_tokens } });
  events.push({ type: "message_stop" });
  return events;
}

async function writeEvents(res: http.ServerResponse, events: { type: string }[], delayMs: number): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": "req_fake" });
  res.flushHeaders();
  for (const event of events) {
    if (res.destroyed) return;
    res.write(sseEvent(event));
    if (delayMs > 0) await sleep(delayMs);
  }
  res.end();
}

async function answer(req: AnthropicRequest, res: http.ServerResponse, reply: AnthropicReply, n: number): Promise<void> {
  if (reply.kind === "raw") return reply.handle(req, res);
  const model = req.body.model;
  const stream = req.body.stream === true;
  if (reply.kind === "error") {
    const body = anthropicError(reply.type, reply.message ?? `scripted ${reply.type}`);
    if (stream && reply.inStream) {
      const start = messageOf(`msg_fake_${n}`, model, [], null, null, { ...DEFAULT_USAGE, output_tokens: 1 });
      req.status = 200;
      return writeEvents(res, [{ type: "message_start", message: start } as { type: string }, { type: "ping" }, body], 0);
    }
    const headers: Record<string, string> = reply.retryAfterSeconds === undefined ? {} : { "retry-after": String(reply.retryAfterSeconds) };
    req.status = ERROR_STATUS[reply.type];
    return sendJson(res, req.status, body, headers);
  }
  const content = withIds(reply.content, n);
  const stopReason = reply.stop_reason ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
  const message = messageOf(`msg_fake_${n}`, model, content, stopReason, reply.stop_sequence ?? null, { ...DEFAULT_USAGE, ...reply.usage });
  req.status = 200;
  if (stream) return writeEvents(res, streamEvents(message), reply.frameDelayMs ?? 0);
  sendJson(res, 200, message);
}

export async function startFakeAnthropic(options: { apiKey?: string } = {}): Promise<FakeAnthropic> {
  const apiKey = options.apiKey ?? "sk-ant-fake";
  const requests: AnthropicRequest[] = [];
  const queue: (AnthropicReply | ((req: AnthropicRequest) => AnthropicReply))[] = [];
  let counter: ((req: AnthropicRequest) => number) | undefined;
  let answered = 0;

  const refuse = (req: AnthropicRequest, res: http.ServerResponse, type: AnthropicErrorType, message: string) => {
    req.status = ERROR_STATUS[type];
    sendJson(res, req.status, anthropicError(type, message));
  };

  async function handle(req: AnthropicRequest, res: http.ServerResponse, raw: string): Promise<void> {
    const path = req.path.split("?")[0];
    if (req.method !== "POST" || (path !== "/v1/messages" && path !== "/v1/messages/count_tokens"))
      return refuse(req, res, "not_found_error", `${req.method} ${path} not found`);
    if (!authenticated(req.headers, apiKey)) return refuse(req, res, "authentication_error", "invalid x-api-key");
    if (!req.headers["anthropic-version"]) return refuse(req, res, "invalid_request_error", "anthropic-version: header is required");
    try {
      req.body = JSON.parse(raw);
    } catch {
      return refuse(req, res, "invalid_request_error", "There was an error parsing the body as JSON");
    }
    const countOnly = path.endsWith("/count_tokens");
    const invalid = invalidRequest(req.body, countOnly);
    if (invalid) return refuse(req, res, "invalid_request_error", invalid);
    if (countOnly) {
      req.status = 200;
      return sendJson(res, 200, { input_tokens: (counter ?? ((r) => estimateTokens(r.body)))(req) });
    }
    const next = queue.shift() ?? { kind: "message", content: [{ type: "text", text: "Hello world" }] };
    return answer(req, res, typeof next === "function" ? next(req) : next, ++answered);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const record: AnthropicRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: undefined };
      requests.push(record);
      handle(record, res, Buffer.concat(chunks).toString("utf8")).catch((err) => {
        if (!res.headersSent) sendJson(res, 500, anthropicError("api_error", String(err)));
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    script: (...replies) => void queue.push(...replies),
    countTokens: (fn) => void (counter = fn),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
