/** Text completions (the legacy /v1/completions) on llama.cpp. */
import type { LlamaModel, Token } from "node-llama-cpp";
import { ClientAbortError, ContextLengthExceededError, InvalidRequestError } from "../../core/errors.js";
import { newId, nowSeconds, textCompletion, usage, type FinishReason } from "../../core/openai-shapes.js";
import type { CallContext, CompletionRequest } from "../types.js";
import type { LlamaRuntime, Slot } from "./runtime.js";
import { boundedMaxTokens, charBudget, checkChars, requestedTokens, yieldToLoop } from "./prompt-bounds.js";
import { describeLimit } from "../../core/env-limit.js";
import { MAX_COMPLETION_CHOICES } from "./request-limits.js";
import { generationOptions, samplingOptions, type Sampling } from "./sampling.js";
import { runStream } from "./stream-runner.js";
import { COMPLETION_UNSUPPORTED, rejectUnsupported } from "./unsupported.js";

/**
 * Tokens generated when a completions request gives no max_tokens: OpenAI's documented default for
 * this endpoint (the spec's `default: 16`, which is documentation and never injected into requests).
 * Without it a bare prompt would generate until the context is full.
 */
export const COMPLETION_DEFAULT_MAX_TOKENS = 16;

interface Prompt {
  input: string | Token[];
  text: string;
  tokens: number;
  maxTokens: number;
}

interface Plan {
  prompts: Prompt[];
  sampling: Sampling;
  n: number;
  echo: boolean;
}

function promptList(prompt: CompletionRequest["prompt"]): (string | number[])[] {
  if (prompt == null) return [""];
  if (typeof prompt === "string") return [prompt];
  if (prompt.length > 0 && typeof prompt[0] === "number") return [prompt as number[]];
  return prompt as (string | number[])[];
}

/** A prompt's size, checked before anything reads it: token ids against the context, text against what can fit. */
function checkPromptSize(raw: string | number[], i: number, contextSize: number, budget: number): void {
  const param = `prompt[${i}]`;
  if (Array.isArray(raw)) {
    if (raw.length >= contextSize)
      throw new ContextLengthExceededError(
        `This model's maximum context length is ${contextSize} tokens, however your prompt has ${raw.length} tokens. Please reduce your prompt.`,
        param,
      );
  } else {
    checkChars(raw.length, budget, contextSize, param, "the prompt has");
  }
}

function readPrompt(model: LlamaModel, raw: string | number[], i: number, requested: number, contextSize: number): Prompt {
  const vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  if (Array.isArray(raw) && raw.some((t) => !Number.isInteger(t) || t < 0 || t >= vocab)) {
    throw new InvalidRequestError(`prompt token ids must be in 0..${vocab - 1}`, `prompt[${i}]`, "invalid_value");
  }
  const tokens = Array.isArray(raw) ? raw.length : model.tokenize(raw).length + (model.tokens.shouldPrependBosToken ? 1 : 0);
  if (tokens + requested > contextSize) {
    throw new ContextLengthExceededError(
      `This model's maximum context length is ${contextSize} tokens, however you requested ${tokens + requested} tokens (${tokens} in your prompt; ${requested} for the completion). Please reduce your prompt or completion length.`,
      "prompt",
    );
  }
  const text = Array.isArray(raw) ? model.detokenize(raw as Token[]) : raw;
  return { input: Array.isArray(raw) ? (raw as Token[]) : raw, text, tokens, maxTokens: boundedMaxTokens(requested, contextSize - tokens) };
}

async function plan(req: CompletionRequest, runtime: LlamaRuntime): Promise<Plan> {
  rejectUnsupported(req as never, COMPLETION_UNSUPPORTED);
  const requested = requestedTokens(req.max_tokens, "max_tokens") ?? COMPLETION_DEFAULT_MAX_TOKENS;
  const raws = promptList(req.prompt);
  const n = req.n ?? 1;
  const choices = MAX_COMPLETION_CHOICES;
  if (raws.length * n > choices.value) {
    throw new InvalidRequestError(
      `${raws.length} prompts x n=${n} make ${raws.length * n} choices, more than ${describeLimit(choices, "choices per request")}`,
      "prompt",
      "invalid_value",
    );
  }
  const { model, context } = await runtime.load();
  const budget = charBudget(model, context.contextSize);
  raws.forEach((raw, i) => checkPromptSize(raw, i, context.contextSize, budget));
  const prompts: Prompt[] = [];
  for (const [i, raw] of raws.entries()) {
    // Tokenizing runs on the main thread: other requests get a turn between prompts.
    if (i > 0) await yieldToLoop();
    prompts.push(readPrompt(model, raw, i, requested, context.contextSize));
  }
  return { prompts, sampling: await samplingOptions(req as never, model.llama, model, context.contextSize), n, echo: req.echo === true };
}

async function generate(slot: Slot, plan: Plan, prompt: Prompt, choice: number, signal: AbortSignal, onText?: (t: string) => void) {
  let completionTokens = 0;
  const s = plan.sampling;
  const options = await generationOptions(s, slot.sequence.model, {
    choice,
    maxTokens: prompt.maxTokens,
    contextSize: slot.sequence.contextSize,
    signal,
    onToken: (tokens) => void (completionTokens += tokens.length),
    onTextChunk: onText,
  });
  const res = await slot.completion.generateCompletionWithMeta(prompt.input, Object.assign(options, { grammar: s.grammar }));
  if (res.metadata.stopReason === "abort" || signal.aborted) throw new ClientAbortError();
  const finish: FinishReason = res.metadata.stopReason === "maxTokens" ? "length" : "stop";
  return { text: res.response, finish, completionTokens: Math.min(completionTokens, prompt.maxTokens) };
}

const head = (ctx: CallContext) => ({ id: newId("cmpl-"), created: nowSeconds(), model: ctx.requestedModel, system_fingerprint: "fp_understudy_llamacpp" });

export async function completions(runtime: LlamaRuntime, req: CompletionRequest, ctx: CallContext) {
  const p = await plan(req, runtime);
  const { lease } = await runtime.acquire(ctx.client.signal);
  const promptTokens = p.prompts.reduce((sum, prompt) => sum + prompt.tokens, 0);
  const h = head(ctx);
  if (req.stream) {
    const withUsage = req.stream_options?.include_usage === true;
    return runStream(lease, ctx, async (out, signal) => {
      const chunk = (index: number, text: string, finish: FinishReason | null = null) =>
        textCompletion(h, [{ text, index, logprobs: null, finish_reason: finish }], withUsage ? null : undefined);
      let completion = 0;
      for (const [pi, prompt] of p.prompts.entries()) {
        for (let j = 0; j < p.n; j++) {
          const index = pi * p.n + j;
          if (p.echo) out.push(chunk(index, prompt.text));
          const r = await generate(lease.slot, p, prompt, j, signal, (t) => out.text(index, t, chunk));
          completion += r.completionTokens;
          out.push(chunk(index, "", r.finish));
        }
      }
      if (withUsage) out.push(textCompletion(h, [], usage(promptTokens, completion)));
    });
  }
  try {
    const choices = [];
    let completion = 0;
    for (const [pi, prompt] of p.prompts.entries()) {
      for (let j = 0; j < p.n; j++) {
        const r = await generate(lease.slot, p, prompt, j, ctx.client.signal);
        completion += r.completionTokens;
        choices.push({ text: (p.echo ? prompt.text : "") + r.text, index: pi * p.n + j, logprobs: null, finish_reason: r.finish });
      }
    }
    return textCompletion(h, choices, usage(promptTokens, completion));
  } finally {
    lease.release();
  }
}
