/**
 * Cheap bounds checked before a prompt is templated or tokenized (both run on the main thread:
 * tokenizing a 9.9 MB message took 2.6 s), and the one rule every generation obeys: a finite,
 * positive token budget that fits the context.
 */
import type { LlamaModel } from "node-llama-cpp";
import { clipEcho, ContextLengthExceededError, InvalidRequestError } from "../../core/errors.js";
import type { ChatMessage } from "./messages.js";

/** The longest token of each model, in characters: found once per model (a vocabulary has up to ~250k tokens). */
const longestByModel = new WeakMap<LlamaModel, number>();

/**
 * The longest text, in characters, that can possibly be `contextSize` tokens of this model: no
 * token covers more characters of the text than its own vocabulary entry has (byte-level BPE
 * writes one character per byte, SentencePiece one per character or six per byte). A longer
 * text cannot fit, so it is refused without tokenizing it.
 */
export function charBudget(model: LlamaModel, contextSize: number): number {
  let longest = longestByModel.get(model);
  if (longest === undefined) {
    longest = 1;
    for (const token of model.fileInfo.metadata.tokenizer.ggml.tokens) if (typeof token === "string" && token.length > longest) longest = token.length;
    longestByModel.set(model, longest);
  }
  return contextSize * longest;
}

type Part = { type?: string; text?: unknown; refusal?: unknown };

const len = (v: unknown) => (typeof v === "string" ? v.length : 0);

function contentChars(content: ChatMessage["content"]): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content as Part[]) n += len(part?.text) + len(part?.refusal);
  return n;
}

/** Characters of every message's text, tool calls included: what the template will put in the prompt. */
export function messageChars(messages: readonly ChatMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += contentChars(m.content);
    for (const call of m.tool_calls ?? []) n += len(call.function?.name) + len(call.function?.arguments);
  }
  return n;
}

/** `subject`: "the messages have", "the prompt has"... */
export function checkChars(chars: number, budget: number, contextSize: number, param: string, subject: string): void {
  if (chars > budget) {
    throw new ContextLengthExceededError(
      `This model's maximum context length is ${contextSize} tokens, and ${subject} ${chars} characters, more than the ${budget} that can fit in it (checked before tokenizing). Please reduce the length of the ${param}.`,
      param,
    );
  }
}

/**
 * A client's token budget field: absent, or an integer >= 1 (the spec says so; this holds
 * whatever reaches the backend, since node-llama-cpp reads 0 or less as "no limit").
 */
export function requestedTokens(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new InvalidRequestError(`Invalid '${param}': expected an integer, but got ${clipEcho(JSON.stringify(value))} instead.`, param, "invalid_type");
  if (value < 1)
    throw new InvalidRequestError(
      `Invalid '${param}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
      param,
      "integer_below_min_value",
    );
  return value;
}

/**
 * The last guard before node-llama-cpp: every generation has a finite, positive bound no larger
 * than the room left in the context. Anything else is a bug here, never something to run.
 */
export function boundedMaxTokens(maxTokens: number, room: number): number {
  const bound = Math.min(maxTokens, room);
  if (!Number.isSafeInteger(bound) || bound < 1)
    throw new Error(`refusing a generation without a positive finite token bound (max ${maxTokens}, room ${room})`);
  return bound;
}

/** Lets the event loop run between pieces of main-thread work (tokenizing several prompts). */
export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
