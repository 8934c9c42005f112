/** Embeddings on llama.cpp: OpenAI semantics (L2-normalized vectors, float or base64). */
import type { LlamaEmbeddingContext, Token } from "node-llama-cpp";
import { ContextLengthExceededError, InvalidRequestError } from "../../core/errors.js";
import type { CallContext, EmbeddingRequest } from "../types.js";
import { charBudget, checkChars } from "./prompt-bounds.js";
import type { LlamaRuntime } from "./runtime.js";

function inputs(input: EmbeddingRequest["input"]): (string | number[])[] {
  if (typeof input === "string") return [input];
  if (input.length > 0 && typeof input[0] === "number") return [input as number[]];
  return input as (string | number[])[];
}

function normalize(vector: readonly number[]): Float32Array {
  const norm = Math.sqrt(vector.reduce((s, x) => s + x * x, 0)) || 1;
  return Float32Array.from(vector, (x) => x / norm);
}

const base64 = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");

async function embedOne(context: LlamaEmbeddingContext, raw: string | number[], i: number, vocab: number, limit: number) {
  // As OpenAI answers. Not a `minLength` in the spec overlay: ajv counts a string's characters
  // one by one for it, on the main thread, for inputs up to the 10 MB body limit.
  if (raw === "") throw new InvalidRequestError("input cannot be an empty string", `input[${i}]`, "invalid_value");
  // Sizes before anything reads the input: tokenizing runs on the main thread.
  if (Array.isArray(raw) && raw.length > limit)
    throw new ContextLengthExceededError(`input[${i}] has ${raw.length} tokens; this model's limit is ${limit}`, `input[${i}]`);
  if (typeof raw === "string") checkChars(raw.length, charBudget(context.model, limit), limit, `input[${i}]`, `input[${i}] has`);
  if (Array.isArray(raw) && raw.some((t) => !Number.isInteger(t) || t < 0 || t >= vocab)) {
    throw new InvalidRequestError(`input token ids must be in 0..${vocab - 1}`, `input[${i}]`, "invalid_value");
  }
  const tokens = Array.isArray(raw) ? (raw as Token[]) : context.model.tokenize(raw);
  if (tokens.length > limit) throw new ContextLengthExceededError(`input[${i}] has ${tokens.length} tokens; this model's limit is ${limit}`, `input[${i}]`);
  const embedding = await context.getEmbeddingFor(tokens);
  return { vector: normalize(embedding.vector), tokens: tokens.length };
}

export async function embeddings(runtime: LlamaRuntime, req: EmbeddingRequest, ctx: CallContext) {
  if (runtime.settings.embeddings === false)
    throw new InvalidRequestError("Embeddings are disabled for this model (local_settings.embeddings: false)", "model", "model_not_supported");
  const { loaded, lease } = await runtime.acquireEmbedding(ctx.client.signal);
  try {
    const dims = loaded.model.embeddingVectorSize;
    if (req.dimensions != null && req.dimensions !== dims) {
      throw new InvalidRequestError(
        `This model's embeddings have ${dims} dimensions; 'dimensions' must be ${dims} or omitted`,
        "dimensions",
        "unsupported_value",
      );
    }
    const vocab = loaded.model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    const limit = loaded.context.contextSize;
    const data = [];
    let tokens = 0;
    for (const [i, raw] of inputs(req.input).entries()) {
      if (ctx.client.aborted) break;
      const e = await embedOne(lease.slot, raw, i, vocab, limit);
      tokens += e.tokens;
      data.push({ object: "embedding" as const, index: i, embedding: req.encoding_format === "base64" ? base64(e.vector) : Array.from(e.vector) });
    }
    return { object: "list" as const, data, model: ctx.requestedModel, usage: { prompt_tokens: tokens, total_tokens: tokens } };
  } finally {
    lease.release();
  }
}
