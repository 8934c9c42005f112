/**
 * Deterministic generator of a tiny random-weight `llama` GGUF model ("understudy-demo").
 *
 * The weights are seeded noise (plus one constant channel that keeps the output printable ASCII), so the
 * text it writes is gibberish, but the file is a real llama.cpp model:
 * a GPT-2 style byte-level BPE tokenizer (every byte has a token, so any text tokenizes), a few hundred
 * merges learned from a built-in English sample (so token counts are realistic), ChatML special tokens
 * and a Qwen2.5-style chat template with tool support. Same bytes on every run and platform: the PRNG
 * and the normal approximation use integer and exactly-rounded arithmetic only.
 */
import path from "node:path";
import { projectRoot } from "../core/paths.js";
import { buildGguf, gguf, writeGguf, type GgufFile, type GgufTensor } from "./gguf-writer.js";

export const DEMO_MODEL_CONFIG = {
  name: "understudy-demo",
  contextLength: 2048,
  embeddingLength: 64,
  blockCount: 2,
  feedForwardLength: 128,
  headCount: 4,
  headCountKv: 2,
  rmsEpsilon: 1e-5,
  ropeFreqBase: 10000,
  /** Upper bound; the built-in sample yields fewer (every pair occurring at least twice is merged). */
  maxMerges: 320,
  seed: 0x5eed1e55,
  weightStd: 0.02,
  /** Embedding channel 0 is a constant "bias" channel: see steerTowardsPrintableText(). */
  steeringStrength: 1,
} as const;

/** Control tokens (token_type 3) and tool-call markers (token_type 4, user-defined, like Qwen2.5). */
export const DEMO_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;
export const DEMO_USER_DEFINED_TOKENS = ["<tool_call>", "</tool_call>"] as const;

/** The Qwen2.5 chat template (ChatML + `<tools>` / `<tool_call>` / `<tool_response>`), with a neutral default system prompt. */
export const DEMO_CHAT_TEMPLATE = `{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

/** English sample the BPE merges are learned from (also covers chat/JSON punctuation). */
const MERGE_CORPUS = `The quick brown fox jumps over the lazy dog. You are a helpful assistant.
Hello! How are you today? I am fine, thank you. What can I do for you? Please tell me more about it.
This is a test of the model. The model should answer the question and then stop. It is not a real model,
but it can write text, call tools and return JSON. We will use it to test the server and the client.
There are many things that people want to know, and they ask questions about the world, about time, about
the weather and about the things they have seen. When the user sends a message, the assistant reads the
message and writes an answer. If the answer needs a function, the assistant calls the function with the
right arguments and waits for the result. Then it uses the result to write the final answer for the user.
{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}
{"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}
Once upon a time there was a little girl who lived in a village near the forest. Her mother and her father
were very kind, and all the people in the village loved her. One day she went into the forest to find some
flowers for her mother, and she met a wolf who asked her where she was going. She said that she was going
to see her grandmother, who lived on the other side of the forest in a small house with a red door.
In the beginning of the year, the company said that it would have a new product for the market, and the
price would be lower than before. The report shows that the number of users has grown every month since then.
Let me think about this step by step. First, we need to find the value of x. Then we can compute the sum,
the difference and the product of these numbers: 1, 2, 3, 4, 5, 10, 20, 100 and 1000. The result is 42.
Thanks for your help! Could you write a short story, a poem or a summary of this article in three sentences?
Sure, here is a summary: the article is about the history of the city and the people who have lived there.
`;

const GPT2_PRE_TOKENIZER =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte -> printable unicode character table (index = byte value). */
export function gpt2ByteChars(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map = new Array<string>(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

/** Learns `count` byte-level BPE merges from MERGE_CORPUS; ties broken by code-point order (deterministic). */
function learnMerges(count: number, byteChars: string[]): { merges: string[]; tokens: string[] } {
  const wordCounts = new Map<string, number>();
  for (const m of MERGE_CORPUS.matchAll(GPT2_PRE_TOKENIZER)) {
    const encoded = Array.from(Buffer.from(m[0], "utf8"), (b) => byteChars[b]!).join("\u0000");
    wordCounts.set(encoded, (wordCounts.get(encoded) ?? 0) + 1);
  }
  const words = [...wordCounts].map(([w, c]) => ({ symbols: w.split("\u0000"), count: c }));
  const merges: string[] = [];
  const tokens: string[] = [];
  const known = new Set(byteChars);
  while (merges.length < count) {
    const pairs = new Map<string, number>();
    for (const { symbols, count: c } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + c);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, c] of pairs) {
      if (c > bestCount || (c === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best === undefined) break; // nothing occurs twice any more
    const [a, b] = best.split(" ") as [string, string];
    merges.push(best);
    if (!known.has(a + b)) {
      known.add(a + b);
      tokens.push(a + b);
    }
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.symbols[i]!);
      }
      w.symbols = out;
    }
  }
  return { merges, tokens };
}

/** sfc32 seeded from (seed, name): each tensor's values are independent of the other tensors. */
function prng(seed: number, name: string): () => number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0; // FNV-1a
  let a = h,
    b = 0x9e3779b9,
    c = 0x85ebca6b ^ h,
    d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** ~N(0, std²) via Irwin–Hall (sum of 4 uniforms), so no Math.log/cos platform differences. */
function randomTensor(name: string, dims: number[], std: number): GgufTensor {
  const rand = prng(DEMO_MODEL_CONFIG.seed, name);
  const data = new Float32Array(dims.reduce((x, y) => x * y, 1));
  const scale = std * Math.sqrt(3);
  for (let i = 0; i < data.length; i++) data[i] = (rand() + rand() + rand() + rand() - 2) * scale;
  return { name, dims, type: "F32", data };
}

function onesTensor(name: string, n: number): GgufTensor {
  return { name, dims: [n], type: "F32", data: new Float32Array(n).fill(1) };
}

/**
 * Pure noise would emit arbitrary bytes (broken UTF-8, control characters, special tokens). To keep the
 * gibberish printable, channel 0 of every token embedding is set to a constant, which dominates the
 * residual stream (the random layers only add ~0.02-scale noise), so after the final RMS norm h[0] ≈ 8;
 * the output rows then get +strength in channel 0 for "printable" tokens (ASCII 0x20-0x7E and "\n" bytes,
 * the learned merges, and <|im_end|> so generation can end) and -strength for the rest, a logit gap of ~16.
 * The remaining channels keep the sampled noise, so the choice among printable tokens is still random.
 */
function steerTowardsPrintableText(tokenEmbd: GgufTensor, output: GgufTensor, tokens: string[], tokenTypes: number[], eos: number): void {
  const n = DEMO_MODEL_CONFIG.embeddingLength;
  const s = DEMO_MODEL_CONFIG.steeringStrength;
  const byteChars = gpt2ByteChars();
  const printable = new Set<string>();
  for (let b = 0x20; b <= 0x7e; b++) printable.add(byteChars[b]!);
  printable.add(byteChars[0x0a]!);
  tokens.forEach((text, t) => {
    const ok = t === eos || (tokenTypes[t] === 1 && Array.from(text).every((ch) => printable.has(ch)));
    tokenEmbd.data[t * n] = s;
    output.data[t * n] = ok ? s : -s;
  });
}

/** Vocabulary: 256 byte tokens (id = byte value), then the learned merges, then the special tokens. */
export function demoVocabulary(): { tokens: string[]; tokenTypes: number[]; merges: string[] } {
  const byteChars = gpt2ByteChars();
  const { merges, tokens: merged } = learnMerges(DEMO_MODEL_CONFIG.maxMerges, byteChars);
  const tokens = [...byteChars, ...merged, ...DEMO_SPECIAL_TOKENS, ...DEMO_USER_DEFINED_TOKENS];
  const tokenTypes = [
    ...tokens.slice(0, byteChars.length + merged.length).map(() => 1),
    ...DEMO_SPECIAL_TOKENS.map(() => 3),
    ...DEMO_USER_DEFINED_TOKENS.map(() => 4),
  ];
  return { tokens, tokenTypes, merges };
}

/** The demo model's metadata and tensors. */
export function demoModelFile(): GgufFile {
  const c = DEMO_MODEL_CONFIG;
  const { tokens, tokenTypes, merges } = demoVocabulary();
  const id = (t: string): number => tokens.indexOf(t);
  const headDim = c.embeddingLength / c.headCount;
  const kvDim = headDim * c.headCountKv;
  const nVocab = tokens.length;

  const tokenEmbd = randomTensor("token_embd.weight", [c.embeddingLength, nVocab], c.weightStd);
  const output = randomTensor("output.weight", [c.embeddingLength, nVocab], c.weightStd);
  steerTowardsPrintableText(tokenEmbd, output, tokens, tokenTypes, id("<|im_end|>"));
  const tensors: GgufTensor[] = [tokenEmbd, onesTensor("output_norm.weight", c.embeddingLength), output];
  for (let l = 0; l < c.blockCount; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      onesTensor(`${p}attn_norm.weight`, c.embeddingLength),
      randomTensor(`${p}attn_q.weight`, [c.embeddingLength, c.embeddingLength], c.weightStd),
      randomTensor(`${p}attn_k.weight`, [c.embeddingLength, kvDim], c.weightStd),
      randomTensor(`${p}attn_v.weight`, [c.embeddingLength, kvDim], c.weightStd),
      randomTensor(`${p}attn_output.weight`, [c.embeddingLength, c.embeddingLength], c.weightStd),
      onesTensor(`${p}ffn_norm.weight`, c.embeddingLength),
      randomTensor(`${p}ffn_gate.weight`, [c.embeddingLength, c.feedForwardLength], c.weightStd),
      randomTensor(`${p}ffn_up.weight`, [c.embeddingLength, c.feedForwardLength], c.weightStd),
      randomTensor(`${p}ffn_down.weight`, [c.feedForwardLength, c.embeddingLength], c.weightStd),
    );
  }

  return {
    metadata: [
      ["general.architecture", gguf.str("llama")],
      ["general.name", gguf.str(c.name)],
      ["general.description", gguf.str("Tiny random-weight llama model generated by Understudy for tests and demos; it writes gibberish.")],
      ["general.file_type", gguf.u32(0)], // ALL_F32
      ["general.alignment", gguf.u32(32)],
      ["llama.vocab_size", gguf.u32(nVocab)],
      ["llama.context_length", gguf.u32(c.contextLength)],
      ["llama.embedding_length", gguf.u32(c.embeddingLength)],
      ["llama.block_count", gguf.u32(c.blockCount)],
      ["llama.feed_forward_length", gguf.u32(c.feedForwardLength)],
      ["llama.attention.head_count", gguf.u32(c.headCount)],
      ["llama.attention.head_count_kv", gguf.u32(c.headCountKv)],
      ["llama.rope.dimension_count", gguf.u32(headDim)],
      ["llama.rope.freq_base", gguf.f32(c.ropeFreqBase)],
      ["llama.attention.layer_norm_rms_epsilon", gguf.f32(c.rmsEpsilon)],
      ["tokenizer.ggml.model", gguf.str("gpt2")],
      ["tokenizer.ggml.pre", gguf.str("qwen2")],
      ["tokenizer.ggml.tokens", gguf.strings(tokens)],
      ["tokenizer.ggml.token_type", gguf.i32s(tokenTypes)],
      ["tokenizer.ggml.merges", gguf.strings(merges)],
      ["tokenizer.ggml.bos_token_id", gguf.u32(id("<|endoftext|>"))],
      ["tokenizer.ggml.eos_token_id", gguf.u32(id("<|im_end|>"))],
      ["tokenizer.ggml.padding_token_id", gguf.u32(id("<|endoftext|>"))],
      ["tokenizer.ggml.add_bos_token", gguf.bool(false)],
      ["tokenizer.chat_template", gguf.str(DEMO_CHAT_TEMPLATE)],
    ],
    tensors,
  };
}

/** The whole GGUF file in memory (identical bytes on every call). */
export function buildDemoModel(): Buffer {
  return buildGguf(demoModelFile());
}

/** Writes the demo model to `outPath` (atomically via a temp file + rename; parent directories are created). */
export async function writeDemoModel(outPath: string): Promise<void> {
  await writeGguf(outPath, demoModelFile());
}

/**
 * `<project root>/config/models/demo.gguf`: inside the shipped config directory, so the demo
 * registration's relative path stays within the allowed model roots.
 */
export function demoModelPath(): string {
  return path.join(projectRoot(), "config", "models", "demo.gguf");
}
