// Child process for bench/tokens.mjs: node-llama-cpp called directly (no HTTP, no Understudy code)
// on the same GGUF with the same context settings as the server's registration, so both sides have
// the same process-level setup (one Node process owning one llama.cpp context).
//
//   fork("bench/tokens-direct.mjs", [modelPath]) -> "ready" message, then for every
//   { id, history, maxTokens, stream } message a { id, ms, ttftMs, tokens, text, stopReason } reply.
//
// Mirrors src/backends/llama-cpp (engine.ts getLlama options, runtime.ts createContext, chat.ts
// generateResponse options for temperature 0 + ignore_eos) except for the per-request planning and
// the per-token TokenBias function: here the EOG bias is one static TokenBias object.
const modelPath = process.argv[2];
const { getLlama, LlamaChat, LlamaLogLevel, TokenBias, resolveChatWrapper } = await import("node-llama-cpp");
const llama = await getLlama({ build: "never", gpu: false, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 2048, sequences: 1, threads: 1 });
const sequence = context.getSequence();
const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: resolveChatWrapper(model) });

// ignore_eos: TokenBias.set() skips end-of-generation tokens, so write the internal map.
const vocabSize = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const noEos = new TokenBias(model.tokenizer);
for (let t = 0; t < vocabSize; t++) if (model.isEogToken(t)) noEos._biases.set(t, -Infinity);

async function generate({ history, maxTokens, stream }) {
  let tokens = 0;
  let ttft = null;
  const t0 = performance.now();
  const res = await chat.generateResponse(history, {
    maxTokens,
    temperature: 0,
    repeatPenalty: false,
    tokenBias: noEos,
    onToken: (t) => void (tokens += t.length),
    onTextChunk: stream
      ? (text) => {
          if (ttft === null && text) ttft = performance.now() - t0;
        }
      : undefined,
  });
  const ms = performance.now() - t0;
  return { ms, ttftMs: ttft, tokens: Math.min(tokens, maxTokens), text: res.response, stopReason: res.metadata.stopReason };
}

process.on("message", async (msg) => {
  if (msg?.type === "exit") {
    await context.dispose();
    await model.dispose();
    process.exit(0);
  }
  try {
    process.send({ id: msg.id, ...(await generate(msg)) });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});
process.send({ type: "ready" });
