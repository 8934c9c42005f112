/**
 * A loopback OpenAI-compatible chat upstream that decides its answers from the request, as a model
 * would, for the Responses API tests (issue 14): given function tools (and a tool_choice other than
 * `none`) and no tool result yet, it calls a tool with arguments built from the tool's schema; given
 * a JSON schema response format, it answers an instance of the schema; otherwise it answers
 * `reply to <the last user text>`, cut at `max_tokens` words (finish `length`; a tool call's
 * arguments are cut at 4 characters a token). Streamed or not.
 * It records every request (test/helpers/upstream-server.ts), so a test can see what the Responses
 * surface sent upstream.
 */
import type http from "node:http";
import { chatChunk, data, sendJson, startFakeUpstream, startSse, writeFrames, type FakeUpstream, type UpstreamRequest } from "./upstream-server.js";

export const UPSTREAM_MODEL = "fake-chat-model";

export interface FakeToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatDecision {
  content: string | null;
  toolCalls: FakeToolCall[];
  finish: "stop" | "length" | "tool_calls";
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

type Json = Record<string, any>;

/** Text of a chat message's content (a string or a list of parts). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p: Json) => (typeof p?.text === "string" ? p.text : "")).join("");
}

/** The simplest value a JSON schema accepts (every property, as strict mode requires them all). */
export function instanceOf(schema: Json | undefined): unknown {
  if (!schema || typeof schema !== "object") return null;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ("const" in schema) return schema.const;
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches)) return instanceOf(branches.find((b: Json) => b?.type !== "null") ?? branches[0]);
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries<Json>(schema.properties ?? {}).map(([k, v]) => [k, instanceOf(v)]));
    case "array":
      return [instanceOf(schema.items)];
    case "string":
      return "Paris";
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 21;
    case "boolean":
      return true;
    default:
      return null;
  }
}

function toolToCall(body: Json): Json | undefined {
  const tools: Json[] = (body.tools ?? []).filter((t: Json) => t?.type === "function");
  if (tools.length === 0 || body.tool_choice === "none") return undefined;
  const messages: Json[] = body.messages ?? [];
  if (messages.at(-1)?.role === "tool") return undefined;
  const named = body.tool_choice?.function?.name;
  return tools.find((t) => t.function?.name === named) ?? tools[0];
}

const words = (text: string) => text.split(/(?<= )/);

/** What the fake answers this chat request (the n-th request it received). */
export function decide(body: Json, n: number): ChatDecision {
  const messages: Json[] = body.messages ?? [];
  const prompt_tokens = Math.max(1, Math.ceil(JSON.stringify(messages).length / 4));
  const usage = (completion_tokens: number) => ({ prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens });
  const tool = toolToCall(body);
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (tool) {
    // A tool call's arguments count a token per 4 characters; a limit below that cuts them (finish `length`).
    const args = JSON.stringify(instanceOf(tool.function.parameters));
    const tokens = Math.ceil(args.length / 4);
    const cut = typeof limit === "number" && limit < tokens;
    const call = { id: `call_fake_${n}`, name: tool.function.name, arguments: cut ? args.slice(0, limit * 4) : args };
    return { content: null, toolCalls: [call], finish: cut ? "length" : "tool_calls", usage: usage(cut ? limit : tokens) };
  }
  const format = body.response_format;
  if (format?.type === "json_schema")
    return { content: JSON.stringify(instanceOf(format.json_schema?.schema)), toolCalls: [], finish: "stop", usage: usage(9) };
  if (format?.type === "json_object") return { content: '{"ok":true}', toolCalls: [], finish: "stop", usage: usage(4) };
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const all = words(`reply to ${textOf(lastUser?.content)}`);
  const cut = typeof limit === "number" && limit < all.length;
  const kept = cut ? all.slice(0, limit) : all;
  return { content: kept.join(""), toolCalls: [], finish: cut ? "length" : "stop", usage: usage(kept.length) };
}

function completion(model: string, d: ChatDecision) {
  const tool_calls = d.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  const message = { role: "assistant", content: d.content, refusal: null, ...(tool_calls.length > 0 ? { tool_calls } : {}) };
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message, finish_reason: d.finish, logprobs: null }],
    usage: d.usage,
  };
}

/** The chunks OpenAI streams: role, content word by word or a tool call's arguments in pieces, the finish, usage when asked. */
function frames(model: string, d: ChatDecision, includeUsage: boolean): string[] {
  const out = [data(chatChunk(model, { role: "assistant", content: "" }))];
  if (d.content !== null) for (const w of words(d.content)) out.push(data(chatChunk(model, { content: w })));
  d.toolCalls.forEach((c, index) => {
    out.push(data(chatChunk(model, { tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] })));
    const half = Math.ceil(c.arguments.length / 2);
    for (const part of [c.arguments.slice(0, half), c.arguments.slice(half)])
      out.push(data(chatChunk(model, { tool_calls: [{ index, function: { arguments: part } }] })));
  });
  out.push(data(chatChunk(model, {}, d.finish)));
  if (includeUsage) out.push(data({ ...chatChunk(model, {}), choices: [], usage: d.usage }));
  out.push("data: [DONE]\n\n");
  return out;
}

export async function deciderRoute(req: UpstreamRequest, res: http.ServerResponse, n: number): Promise<void> {
  if (!req.path.endsWith("/chat/completions")) return sendJson(res, 404, { error: { message: `no route ${req.path}`, type: "invalid_request_error" } });
  const model = req.body?.model ?? UPSTREAM_MODEL;
  const decision = decide(req.body ?? {}, n);
  if (!req.body?.stream) return sendJson(res, 200, completion(model, decision));
  startSse(res);
  return writeFrames(res, frames(model, decision, req.body.stream_options?.include_usage === true));
}

/** The fake, answering every chat request as `decide` says. */
export function startFakeChatUpstream(): Promise<FakeUpstream> {
  return startFakeUpstream(deciderRoute);
}

/** The chat requests the fake received, in order. */
export const chatRequests = (upstream: FakeUpstream) => upstream.requests.filter((r) => r.path.endsWith("/chat/completions"));
