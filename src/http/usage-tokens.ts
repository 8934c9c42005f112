/**
 * The tokens an answer reports it used, for the request log and the token counters: OpenAI's
 * `usage.prompt_tokens`/`completion_tokens`, the Responses API's and Anthropic's
 * `input_tokens`/`output_tokens`. Best effort and cheap: relayed JSON text is not parsed (its last
 * `"usage"` key is found from the end and the numbers read next to it), and a stream is read only in
 * the frames its usage is sent in (its first batch: Anthropic's `message_start`; its last two: OpenAI's
 * usage chunk, Anthropic's `message_delta`, the Responses API's `response.completed`).
 */
import { SerializedJson } from "../core/serialized-json.js";
import type { RequestTrace } from "../core/telemetry.js";

/** How far past a `"usage"` key its numbers are looked for: OpenAI's usage with its details objects fits. */
const USAGE_WINDOW_CHARS = 1024;
/** Digits read of one count: a larger number is no token count (and stays a safe integer). */
const MAX_COUNT_DIGITS = 15;

/** Sets the trace's tokens from a JSON answer (an object, or relayed JSON text). */
export function usageFromBody(body: unknown, trace: RequestTrace): void {
  if (body instanceof SerializedJson) usageFromText(body.json, trace);
  else if (typeof body === "string") usageFromText(body, trace);
  else if (typeof body === "object" && body !== null) usageFromObject(body as Record<string, unknown>, trace);
}

/** Sets the trace's tokens from the stream batches it kept: later frames override earlier ones. */
export function usageFromStream(trace: RequestTrace): void {
  const { firstBatch, prevBatch, lastBatch } = trace;
  if (firstBatch !== undefined) usageFromBatch(firstBatch, trace);
  if (prevBatch !== undefined && prevBatch !== firstBatch) usageFromBatch(prevBatch, trace);
  if (lastBatch !== undefined && lastBatch !== firstBatch) usageFromBatch(lastBatch, trace);
}

function usageFromBatch(batch: readonly unknown[], trace: RequestTrace): void {
  for (let i = 0; i < batch.length; i++) {
    const frame = batch[i] as { data?: unknown } | null;
    if (typeof frame === "object" && frame !== null) usageFromBody(frame.data, trace);
  }
}

function usageFromObject(o: Record<string, unknown>, trace: RequestTrace): void {
  // Top level (OpenAI, Anthropic Message), or inside the event's object (Responses events, Anthropic's message_start).
  const usage = o.usage ?? (o.response as Record<string, unknown> | undefined)?.usage ?? (o.message as Record<string, unknown> | undefined)?.usage;
  if (typeof usage !== "object" || usage === null) return;
  const u = usage as Record<string, unknown>;
  setIn(trace, u.prompt_tokens ?? u.input_tokens);
  setOut(trace, u.completion_tokens ?? u.output_tokens);
}

function usageFromText(text: string, trace: RequestTrace): void {
  let at = text.lastIndexOf('"usage"');
  // `\"usage\"` is text inside a string (generated content), not a key.
  while (at > 0 && text.charCodeAt(at - 1) === 92) at = text.lastIndexOf('"usage"', at - 1);
  if (at < 0) return;
  // indexOf and a digit loop, not a regular expression: this runs on every JSON answer (~2 µs less).
  const end = Math.min(text.length, at + USAGE_WINDOW_CHARS);
  setIn(trace, countAfter(text, '"prompt_tokens"', at, end) ?? countAfter(text, '"input_tokens"', at, end));
  setOut(trace, countAfter(text, '"completion_tokens"', at, end) ?? countAfter(text, '"output_tokens"', at, end));
}

/** The integer after `"key"` and its colon, if the key is in text[from, end). */
function countAfter(text: string, key: string, from: number, end: number): number | undefined {
  const k = text.indexOf(key, from);
  if (k < 0 || k >= end) return undefined;
  let i = k + key.length;
  while (
    i < end &&
    (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 58 || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13)
  )
    i++;
  let n = 0;
  let digits = 0;
  for (; i < end && digits < MAX_COUNT_DIGITS; i++, digits++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return digits > 0 ? n : undefined;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function setIn(trace: RequestTrace, v: unknown): void {
  if (isCount(v)) trace.tokensIn = v;
}

function setOut(trace: RequestTrace, v: unknown): void {
  if (isCount(v)) trace.tokensOut = v;
}
