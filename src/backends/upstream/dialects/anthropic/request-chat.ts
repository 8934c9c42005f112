/**
 * An OpenAI chat request -> a Messages API body. Every field is carried, or refused with a 400
 * naming it when it asks for something Anthropic cannot do: nothing is silently dropped. The
 * README's "Anthropic upstream" tables are this file.
 */
import { InvalidRequestError, UnsupportedFieldError } from "../../../../core/errors.js";
import { BACKEND_LABEL, toAnthropicMessages } from "./request-messages.js";

type Json = Record<string, unknown>;

/** max_tokens when neither the request (nor its registration defaults) nor local_settings.max_output_tokens sets one. */
export const DEFAULT_MAX_TOKENS = 4096;
/** Anthropic's temperature range is 0..1 (OpenAI's 0..2); higher is refused, not clamped. */
const MAX_TEMPERATURE = 1;

const set = (v: unknown) => v !== undefined && v !== null;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

type Check = [field: string, asks: (value: unknown, body: Json) => boolean, why: string];

/** Fields with no Anthropic equivalent: a 400 when they ask for something (a default value asks nothing). */
const REFUSED: Check[] = [
  ["n", (v) => typeof v === "number" && v > 1, "one choice per request"],
  ["logprobs", (v) => v === true, "Anthropic returns no token log probabilities"],
  ["top_logprobs", set, "Anthropic returns no token log probabilities"],
  ["presence_penalty", (v) => set(v) && v !== 0, "Anthropic has no presence penalty"],
  ["frequency_penalty", (v) => set(v) && v !== 0, "Anthropic has no frequency penalty"],
  ["logit_bias", (v) => isObject(v) && Object.keys(v).length > 0, "Anthropic has no logit bias"],
  ["seed", set, "Anthropic has no sampling seed"],
  ["audio", set, "audio output is not available"],
  ["modalities", (v) => Array.isArray(v) && v.some((m) => m !== "text"), "only text output is available"],
  ["prediction", set, "predicted outputs are not available"],
  ["web_search_options", set, "OpenAI's web search is not available"],
  ["store", (v) => v === true, "completions are not stored"],
  ["metadata", (v) => isObject(v) && Object.keys(v).length > 0, "OpenAI's metadata is for stored completions (send `user` for Anthropic's metadata.user_id)"],
  ["functions", set, "use `tools` instead of the deprecated `functions`"],
  ["function_call", set, "use `tool_choice` instead of the deprecated `function_call`"],
  ["reasoning_effort", set, "extended thinking cannot be requested through chat completions"],
  ["verbosity", set, "output verbosity cannot be controlled"],
  ["service_tier", (v) => set(v) && v !== "auto", "only the default service tier is available"],
  ["prompt_cache_key", set, "Anthropic caches by cache_control breakpoints, which chat completions cannot express"],
  ["prompt_cache_retention", set, "Anthropic caches by cache_control breakpoints, which chat completions cannot express"],
  ["prompt_cache_options", set, "Anthropic caches by cache_control breakpoints, which chat completions cannot express"],
  ["moderation", set, "moderation is not available"],
];

/** The x-localai-extensions Anthropic has a field for. */
const EXTENSIONS: Readonly<Record<string, string>> = { top_k: "top_k" };

function rejectUnsupported(req: Json): void {
  for (const [field, asks, why] of REFUSED) if (Object.hasOwn(req, field) && asks(req[field], req)) throw new UnsupportedFieldError(field, BACKEND_LABEL, why);
}

function sampling(req: Json, body: Json): void {
  const t = req.temperature;
  if (typeof t === "number") {
    if (t > MAX_TEMPERATURE) {
      throw new InvalidRequestError(
        `temperature ${t} is out of range for the anthropic backend: Anthropic takes 0 to ${MAX_TEMPERATURE}`,
        "temperature",
        "invalid_value",
      );
    }
    body.temperature = t;
  }
  if (typeof req.top_p === "number") body.top_p = req.top_p;
  const ext = req["x-localai-extensions"];
  if (!isObject(ext)) return;
  for (const [field, value] of Object.entries(ext)) {
    const target = Object.hasOwn(EXTENSIONS, field) ? EXTENSIONS[field] : undefined;
    if (!target) throw new UnsupportedFieldError(`x-localai-extensions.${field}`, BACKEND_LABEL, "Anthropic has no equivalent parameter");
    if (set(value)) body[target] = value;
  }
}

function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === "string") return [stop];
  if (Array.isArray(stop) && stop.length > 0) return stop.map(String);
  return undefined;
}

function tool(t: unknown, i: number): Json {
  if (!isObject(t) || t.type !== "function" || !isObject(t.function)) {
    throw new UnsupportedFieldError(`tools[${i}].type`, BACKEND_LABEL, "only function tools can be carried");
  }
  const fn = t.function;
  const out: Json = { name: fn.name, input_schema: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} } };
  if (typeof fn.description === "string") out.description = fn.description;
  return out;
}

function toolChoice(choice: unknown, parallel: unknown): Json | undefined {
  let out: Json | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "required") out = { type: "any" };
  else if (choice === "none") return { type: "none" };
  else if (isObject(choice) && choice.type === "function" && isObject(choice.function)) out = { type: "tool", name: choice.function.name };
  else if (set(choice)) throw new UnsupportedFieldError("tool_choice", BACKEND_LABEL, "auto, required, none and a named function can be carried");
  if (parallel === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

/** response_format json_schema: one tool Anthropic is forced to call, whose input is the answer. */
function forcedTool(format: Json, req: Json): { tools: Json[]; tool_choice: Json } | undefined {
  if (format.type === "text") return undefined;
  if (format.type !== "json_schema") {
    throw new UnsupportedFieldError("response_format.type", BACKEND_LABEL, `'${String(format.type)}' cannot be carried (use json_schema)`);
  }
  if (Array.isArray(req.tools) && req.tools.length > 0) {
    throw new UnsupportedFieldError("response_format", BACKEND_LABEL, "json_schema is carried as a forced tool, so it cannot be combined with tools");
  }
  const spec = isObject(format.json_schema) ? format.json_schema : {};
  const schema = isObject(spec.schema) ? spec.schema : { type: "object" };
  // A tool's input is an object: a schema for anything else cannot be forced as one.
  if (schema.type !== "object") {
    throw new UnsupportedFieldError(
      "response_format.json_schema.schema",
      BACKEND_LABEL,
      "the schema's root must be of type object (it becomes a tool's input)",
    );
  }
  const name = String(spec.name ?? "response");
  const t: Json = { name, input_schema: schema };
  if (typeof spec.description === "string") t.description = spec.description;
  return { tools: [t], tool_choice: { type: "tool", name } };
}

/** The forced tool's name when the request asked for json_schema output: its input is the answer. */
export function jsonToolName(req: Readonly<Json>): string | undefined {
  const format = req.response_format;
  if (!isObject(format) || format.type !== "json_schema") return undefined;
  return String((isObject(format.json_schema) ? format.json_schema.name : undefined) ?? "response");
}

function tools(req: Json, body: Json): void {
  const format = isObject(req.response_format) ? forcedTool(req.response_format, req) : undefined;
  if (format) return void Object.assign(body, format);
  if (!Array.isArray(req.tools) || req.tools.length === 0) return;
  body.tools = req.tools.map(tool);
  const choice = toolChoice(req.tool_choice, req.parallel_tool_calls);
  if (choice) body.tool_choice = choice;
}

function maxTokens(req: Json, fallback: number | undefined): number {
  const asked = req.max_completion_tokens ?? req.max_tokens;
  return typeof asked === "number" ? asked : (fallback ?? DEFAULT_MAX_TOKENS);
}

function userId(req: Json): string | undefined {
  const id = req.user ?? req.safety_identifier;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/** The Messages API body for an OpenAI chat request. `maxOutputTokens` is local_settings.max_output_tokens. */
export function encodeChat(request: Readonly<Json>, upstreamModel: string, maxOutputTokens: number | undefined): Json {
  const req = request as Json;
  rejectUnsupported(req);
  const body: Json = { model: upstreamModel, max_tokens: maxTokens(req, maxOutputTokens) };
  Object.assign(body, toAnthropicMessages(req.messages));
  sampling(req, body);
  const stop = stopSequences(req.stop);
  if (stop) body.stop_sequences = stop;
  tools(req, body);
  const user = userId(req);
  if (user) body.metadata = { user_id: user };
  if (req.stream === true) body.stream = true;
  return body;
}
