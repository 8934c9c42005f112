/**
 * Request fields llama-cpp cannot honour. Each is a 400 naming the field when it asks for
 * something (a client's `logprobs: false`, `best_of: 1` or `suffix: null` asks for nothing). The
 * README's parameter table is this list.
 */
import { UnsupportedFieldError } from "../../core/errors.js";

type Check = [field: string, asks: (value: unknown) => boolean, why: string];

const set = (v: unknown) => v !== undefined && v !== null;
const truthy = (v: unknown) => v === true;
const nonEmpty = (v: unknown) => set(v) && v !== "" && !(Array.isArray(v) && v.length === 0);

export const MAX_N = 8;

const COMMON: Check[] = [
  ["n", (v) => typeof v === "number" && v > MAX_N, `at most ${MAX_N} choices per request`],
  ["x-localai-extensions.typical_p", (v) => set(v) && v !== 1, "llama.cpp's typical sampler is not exposed by node-llama-cpp"],
  ["x-localai-extensions.mirostat", (v) => set(v) && v !== 0, "Mirostat sampling is not exposed by node-llama-cpp"],
  ["x-localai-extensions.mirostat_tau", set, "Mirostat sampling is not exposed by node-llama-cpp"],
  ["x-localai-extensions.mirostat_eta", set, "Mirostat sampling is not exposed by node-llama-cpp"],
  ["x-localai-extensions.n_keep", set, "Understudy never shifts the context (an over-long prompt is rejected instead)"],
];

export const CHAT_UNSUPPORTED: Check[] = [
  ...COMMON,
  ["logprobs", truthy, "token log probabilities are not produced"],
  ["top_logprobs", set, "token log probabilities are not produced"],
  ["audio", set, "audio output is not produced"],
  ["modalities", (v) => Array.isArray(v) && v.some((m) => m !== "text"), "only text output is produced"],
  ["prediction", set, "predicted outputs are not supported"],
  ["web_search_options", set, "web search is not available"],
  ["store", truthy, "completions are not stored"],
  ["functions", set, "use `tools` instead of the deprecated `functions`"],
  ["function_call", set, "use `tool_choice` instead of the deprecated `function_call`"],
  ["reasoning_effort", set, "the model is not a reasoning model"],
  ["verbosity", set, "output verbosity cannot be controlled"],
];

export const COMPLETION_UNSUPPORTED: Check[] = [
  ...COMMON,
  ["logprobs", (v) => set(v) && v !== 0, "token log probabilities are not produced"],
  ["best_of", (v) => typeof v === "number" && v > 1, "best_of is not supported; use n"],
  ["suffix", nonEmpty, "insertion (suffix) is not supported"],
];

export const EMBEDDING_UNSUPPORTED: Check[] = [];

function valueAt(body: Record<string, unknown>, field: string): unknown {
  let node: unknown = body;
  // Own properties only: a client's object must not answer for a field through its prototype.
  for (const part of field.split("."))
    node = node && typeof node === "object" && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}

export function rejectUnsupported(body: Readonly<Record<string, unknown>>, checks: Check[]): void {
  for (const [field, asks, why] of checks) {
    if (asks(valueAt(body as Record<string, unknown>, field))) throw new UnsupportedFieldError(field, "llama-cpp", why);
  }
}

/** For the README: field and reason. */
export const unsupportedTable = () => [...CHAT_UNSUPPORTED, ...COMPLETION_UNSUPPORTED.slice(COMMON.length)].map(([f, , why]) => [f, why]);
