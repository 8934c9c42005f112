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
const USAGE_NUMBER = /"(prompt_tokens|completion_tokens|input_tokens|output_tokens)"\s*:\s*(\d{1,15})/g;

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
  const end = at + USAGE_WINDOW_CHARS;
  let sawIn = false;
  let sawOut = false;
  USAGE_NUMBER.lastIndex = at;
  for (let m = USAGE_NUMBER.exec(text); m !== null && m.index < end && !(sawIn && sawOut); m = USAGE_NUMBER.exec(text)) {
    const isIn = m[1] === "prompt_tokens" || m[1] === "input_tokens";
    if (isIn && !sawIn) {
      sawIn = true;
      setIn(trace, Number(m[2]));
    } else if (!isIn && !sawOut) {
      sawOut = true;
      setOut(trace, Number(m[2]));
    }
  }
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function setIn(trace: RequestTrace, v: unknown): void {
  if (isCount(v)) trace.tokensIn = v;
}

function setOut(trace: RequestTrace, v: unknown): void {
  if (isCount(v)) trace.tokensOut = v;
}
