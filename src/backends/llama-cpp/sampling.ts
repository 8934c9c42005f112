/**
 * OpenAI sampling fields and x-localai-extensions -> node-llama-cpp generation options.
 */
import type { Llama, LlamaGrammar, LlamaModel, Token, TokenBias } from "node-llama-cpp";
import { clipEcho, InvalidRequestError } from "../../core/errors.js";
import { nodeLlamaCpp } from "./engine.js";
import { checkGrammarLimits } from "./gbnf-limits.js";
import { boundedMaxTokens, charBudget } from "./prompt-bounds.js";

export interface SamplingRequest {
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  "x-localai-extensions"?: {
    top_k?: number;
    min_p?: number;
    repeat_penalty?: number;
    repeat_last_n?: number;
    grammar?: string;
    ignore_eos?: boolean;
  };
}

export interface Sampling {
  temperature: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  customStopTriggers?: string[];
  repeatPenalty?: false | { lastTokens?: number; penalty?: number; frequencyPenalty?: number; presencePenalty?: number };
  grammar?: LlamaGrammar;
  /** Fixed per-token biases (logit_bias, ignore_eos); a forced prefix is layered on per call. */
  bias: Map<Token, number>;
}

export const stopList = (stop: SamplingRequest["stop"]): string[] =>
  stop == null ? [] : Array.isArray(stop) ? stop.filter((s) => s !== "") : stop === "" ? [] : [stop];

function repeatPenalty(req: SamplingRequest, contextSize: number): Sampling["repeatPenalty"] {
  const ext = req["x-localai-extensions"] ?? {};
  const frequencyPenalty = req.frequency_penalty ?? 0;
  const presencePenalty = req.presence_penalty ?? 0;
  const penalty = ext.repeat_penalty ?? 1;
  if (ext.repeat_last_n === 0 || (penalty === 1 && frequencyPenalty === 0 && presencePenalty === 0)) return false;
  const lastTokens = ext.repeat_last_n === -1 ? contextSize : (ext.repeat_last_n ?? 64);
  return { lastTokens, penalty, frequencyPenalty, presencePenalty };
}

function biases(req: SamplingRequest, model: LlamaModel, vocabSize: number): Map<Token, number> {
  const bias = new Map<Token, number>();
  // Own keys only, and only plain decimal ids: Number() would also take "", " 7" or "0x10".
  for (const [key, value] of Object.entries(req.logit_bias ?? {})) {
    const token = /^(0|[1-9]\d{0,9})$/.test(key) ? Number(key) : -1;
    if (token < 0 || token >= vocabSize) {
      throw new InvalidRequestError(`logit_bias: '${clipEcho(key)}' is not a token id of this model (0..${vocabSize - 1})`, "logit_bias", "invalid_value");
    }
    if (typeof value !== "number" || !(value >= -100 && value <= 100))
      throw new InvalidRequestError(`logit_bias: the bias of token ${token} must be from -100 to 100`, "logit_bias", "invalid_value");
    bias.set(token as Token, value <= -100 ? -Infinity : value);
  }
  if (req["x-localai-extensions"]?.ignore_eos) {
    for (const t of eogTokens(model, vocabSize)) bias.set(t, -Infinity);
  }
  return bias;
}

/** A real vocabulary has ~150k tokens: scanned once per model, not once per request. */
const eogByModel = new WeakMap<LlamaModel, Token[]>();

function eogTokens(model: LlamaModel, vocabSize: number): Token[] {
  let tokens = eogByModel.get(model);
  if (!tokens) {
    tokens = [];
    for (let t = 0; t < vocabSize; t++) if (model.isEogToken(t as Token)) tokens.push(t as Token);
    eogByModel.set(model, tokens);
  }
  return tokens;
}

/** A client's GBNF grammar: bounded here first, since llama.cpp's parser and matcher are native code on the main thread. */
export async function grammarFromGbnf(llama: Llama, gbnf: string): Promise<LlamaGrammar> {
  checkGrammarLimits(gbnf, "x-localai-extensions.grammar");
  try {
    return await llama.createGrammar({ grammar: gbnf });
  } catch (err) {
    throw new InvalidRequestError(`The GBNF grammar is invalid: ${clipEcho((err as Error).message, 200)}`, "x-localai-extensions.grammar", "invalid_grammar");
  }
}

/** A stop sequence longer than any text that fits the context can never match; node-llama-cpp would still index all of it. */
function stopTriggers(req: SamplingRequest, model: LlamaModel, contextSize: number): string[] {
  const stops = stopList(req.stop);
  const budget = charBudget(model, contextSize);
  if (stops.some((s) => s.length > budget))
    throw new InvalidRequestError(`A stop sequence is longer than anything this model can generate (${budget} characters)`, "stop", "invalid_value");
  return stops;
}

export async function samplingOptions(req: SamplingRequest, llama: Llama, model: LlamaModel, contextSize: number): Promise<Sampling> {
  const ext = req["x-localai-extensions"] ?? {};
  const vocabSize = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  return {
    // An absent field means OpenAI's documented default (nothing injects them into the request);
    // node-llama-cpp's own top_p default would be 0.95.
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    topK: ext.top_k,
    minP: ext.min_p,
    seed: req.seed ?? undefined,
    customStopTriggers: stopTriggers(req, model, contextSize),
    repeatPenalty: repeatPenalty(req, contextSize),
    grammar: ext.grammar ? await grammarFromGbnf(llama, ext.grammar) : undefined,
    bias: biases(req, model, vocabSize),
  };
}

/**
 * node-llama-cpp's TokenBias.set() refuses end-of-generation tokens, so ignore_eos (and a
 * logit_bias on EOS) writes the bias map directly. A function is re-evaluated for every token,
 * which lets a forced tool-call prefix steer just the first few tokens; without one, the same
 * object serves every token.
 */
export async function tokenBiasFor(
  model: LlamaModel,
  fixed: Map<Token, number>,
  forcedPrefix: Token[] = [],
): Promise<TokenBias | (() => TokenBias) | undefined> {
  if (fixed.size === 0 && forcedPrefix.length === 0) return undefined;
  const { TokenBias } = await nodeLlamaCpp();
  const biasOf = (forced?: Token) => {
    const bias = new TokenBias(model.tokenizer);
    const map = (bias as unknown as { _biases: Map<Token, number> })._biases;
    for (const [token, value] of fixed) map.set(token, value);
    if (forced !== undefined) map.set(forced, 1000);
    return bias;
  };
  const steady = biasOf();
  if (forcedPrefix.length === 0) return steady;
  let generated = 0;
  return () => (generated < forcedPrefix.length ? biasOf(forcedPrefix[generated++]) : steady);
}

/**
 * The node-llama-cpp options LlamaChat and LlamaCompletion share, for choice `choice` of a request
 * (each choice gets its own seed). `onToken` sees the text tokens generated (not a tool call's).
 */
export async function generationOptions(
  sampling: Sampling,
  model: LlamaModel,
  run: {
    choice: number;
    maxTokens: number;
    contextSize: number;
    signal: AbortSignal;
    forcedPrefix?: Token[];
    onToken?: (tokens: Token[]) => void;
    onTextChunk?: (text: string) => void;
  },
) {
  return {
    // The last guard: node-llama-cpp reads 0 or less (or no value) as "no limit" and would shift the context forever.
    maxTokens: boundedMaxTokens(run.maxTokens, run.contextSize),
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    minP: sampling.minP,
    seed: sampling.seed === undefined ? undefined : sampling.seed + run.choice,
    customStopTriggers: sampling.customStopTriggers?.length ? sampling.customStopTriggers : undefined,
    repeatPenalty: sampling.repeatPenalty,
    tokenBias: await tokenBiasFor(model, sampling.bias, run.forcedPrefix),
    signal: run.signal,
    onToken: run.onToken,
    onTextChunk: run.onTextChunk,
  };
}
