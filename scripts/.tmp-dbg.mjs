import { getLlama, LlamaChat, LlamaCompletion, TokenBias } from "node-llama-cpp";
const llama = await getLlama({ build: "never", gpu: false });
const model = await llama.loadModel({ modelPath: "/tmp/understudy-probe/demo.gguf" });
const ctx = await model.createContext({ contextSize: 1024, ...(process.env.TH ? { threads: Number(process.env.TH) } : {}) });
const seq = ctx.getSequence();
const chat = new LlamaChat({ contextSequence: seq });
const history = [{ type: "system", text: "You are a terse assistant." }, { type: "user", text: "Say hello to the world." }];
const counted = chat.chatWrapper.generateContextState({ chatHistory: [...history, { type: "model", response: [] }] }).contextText.tokenize(model.tokenizer);
const r = await chat.generateResponse(history, { maxTokens: 1, temperature: 0 });
console.log(counted.length, JSON.stringify(model.detokenize(counted, true)));
console.log(seq.contextTokens.length, JSON.stringify(model.detokenize(seq.contextTokens, true)), seq.tokenMeter.getState());
console.log(counted.slice(-4), seq.contextTokens.slice(-4));
chat.dispose();
await seq.clearHistory();
const comp = new LlamaCompletion({ contextSequence: seq });
const m0 = seq.tokenMeter.getState();
await comp.generateCompletionWithMeta("Once upon a time", { maxTokens: 3 });
console.log(model.tokenize("Once upon a time"), seq.contextTokens, seq.tokenMeter.diff(m0));
for (const variant of ["plain", "bias"]) {
  await seq.clearHistory();
  let n = 0; const t0 = performance.now();
  await comp.generateCompletionWithMeta("The", { maxTokens: 100, temperature: 0.8, seed: 1, tokenBias: variant === "bias" ? new TokenBias(model.tokenizer).set("x", -0.5) : undefined, onToken: (t) => n += t.length });
  console.log(variant, n, Math.round(performance.now() - t0), "ms");
}
await seq.clearHistory();
// raw evaluate loop
let toks = model.tokenize("The"); let n = 0; const t0 = performance.now();
for await (const t of seq.evaluate(toks, { temperature: 0.8, seed: 1 })) { if (++n >= 100) break; }
console.log("raw evaluate", n, Math.round(performance.now() - t0), "ms");
