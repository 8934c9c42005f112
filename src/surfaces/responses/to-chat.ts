/**
 * A Responses request's fields as the internal chat call's (messages come from messages.ts). What
 * the chat path cannot honour is a 400 naming the field, never dropped: built-in tools, background
 * runs, reasoning, `include` values, server-side conversations and prompts, logprobs.
 */
import { InvalidRequestError } from "../../core/errors.js";
import type { ChatRequest } from "../../backends/types.js";
import { refuse } from "./input-items.js";

type Body = Record<string, unknown>;

/** Fields the translation maps (or that are this surface's own: `store`, `previous_response_id`, `metadata`, echoed). */
const MAPPED = new Set([
  "model",
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "max_output_tokens",
  "temperature",
  "top_p",
  "text",
  "metadata",
  "user",
  "safety_identifier",
  "stream",
  "stream_options",
  "store",
  "previous_response_id",
  "reasoning",
  "include",
  "background",
  "truncation",
  "max_tool_calls",
]);
/**
 * Hints that only mean something to OpenAI's own service (its prompt cache, its service tiers):
 * without that service they change nothing a client can see, as a server without a cache is free to do.
 */
const IGNORED = new Set(["service_tier", "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options"]);

const NOT_HERE = "is not supported on this server (the Responses API is served through chat completions here)";

/** Refuses what the chat path cannot honour, before any store read or backend work. */
export function checkRequest(body: Body): void {
  for (const [field, value] of Object.entries(body)) {
    if (value === null || MAPPED.has(field) || IGNORED.has(field)) continue;
    throw refuse(field, NOT_HERE);
  }
  if (body.background === true) throw refuse("background", `(true) ${NOT_HERE}: responses are answered while the request waits`);
  const effort = (body.reasoning as Body | null | undefined)?.effort;
  const reasoning = body.reasoning as Body | null | undefined;
  if (reasoning && ((effort != null && effort !== "none") || reasoning.summary != null || reasoning.generate_summary != null))
    throw refuse("reasoning", `(effort '${String(effort ?? "default")}') ${NOT_HERE}: the model is not run as a reasoning model`);
  const include = body.include as unknown[] | null | undefined;
  if (include && include.length > 0) throw refuse("include", `('${String(include[0])}') ${NOT_HERE}`);
  if (body.truncation === "auto") throw refuse("truncation", `('auto') ${NOT_HERE}: input over the context window is a 400`);
  const text = body.text as Body | null | undefined;
  if (text?.verbosity != null && text.verbosity !== "medium") throw refuse("text.verbosity", `('${String(text.verbosity)}') ${NOT_HERE}`);
  if (typeof body.max_output_tokens === "number" && body.max_output_tokens < 1)
    // A local engine reads 0 as "no limit" (it would generate until the context is full); OpenAI refuses it too.
    throw new InvalidRequestError(
      `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 1, but got ${body.max_output_tokens} instead.`,
      "max_output_tokens",
      "integer_below_min_value",
    );
}

/** Function tools' fields beyond chat's: refused when set. */
const FUNCTION_EXTRAS = ["defer_loading", "allowed_callers", "output_schema", "namespace"];

function chatTools(tools: readonly Body[]): Body[] {
  return tools.map((tool, i) => {
    if (tool.type !== "function") throw refuse(`tools[${i}]`, `(the built-in '${String(tool.type)}' tool) ${NOT_HERE}: only function tools are`);
    for (const extra of FUNCTION_EXTRAS) if (tool[extra] != null && tool[extra] !== false) throw refuse(`tools[${i}].${extra}`, NOT_HERE);
    const fn: Body = { name: tool.name };
    if (tool.description != null) fn.description = tool.description;
    if (tool.parameters != null) fn.parameters = tool.parameters;
    if (tool.strict != null) fn.strict = tool.strict;
    return { type: "function", function: fn };
  });
}

function chatToolChoice(choice: unknown): unknown {
  if (typeof choice === "string") return choice;
  const named = choice as Body;
  if (named.type === "function") return { type: "function", function: { name: named.name } };
  throw refuse("tool_choice", `(type '${String(named.type)}') ${NOT_HERE}: only auto, required, none and a named function are`);
}

function responseFormat(format: Body): Body | undefined {
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type !== "json_schema") return undefined;
  const schema: Body = { name: format.name, schema: format.schema };
  if (format.description != null) schema.description = format.description;
  if (format.strict != null) schema.strict = format.strict;
  return { type: "json_schema", json_schema: schema };
}

/** The chat request for `messages`, with the request's other fields mapped. */
export function toChatRequest(body: Body, messages: Body[]): ChatRequest {
  const out: Body = { model: body.model, messages };
  const tools = body.tools as Body[] | null | undefined;
  if (tools && tools.length > 0) out.tools = chatTools(tools);
  if (body.tool_choice != null) out.tool_choice = chatToolChoice(body.tool_choice);
  if (body.parallel_tool_calls != null && out.tools !== undefined) out.parallel_tool_calls = body.parallel_tool_calls;
  if (body.max_output_tokens != null) out.max_tokens = body.max_output_tokens;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.top_p = body.top_p;
  const format = (body.text as Body | null | undefined)?.format as Body | undefined;
  const responseFmt = format ? responseFormat(format) : undefined;
  if (responseFmt) out.response_format = responseFmt;
  const user = body.safety_identifier ?? body.user;
  if (typeof user === "string") out.user = user;
  // The usage chunk is what gives response.completed its token counts.
  if (body.stream === true) Object.assign(out, { stream: true, stream_options: { include_usage: true } });
  return out as unknown as ChatRequest;
}

/** `instructions` as the conversation's first message (an earlier turn's are never carried over). */
export const instructionMessages = (body: Body): Body[] =>
  typeof body.instructions === "string" && body.instructions !== "" ? [{ role: "system", content: body.instructions }] : [];
