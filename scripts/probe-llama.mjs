#!/usr/bin/env node
/**
 * Probe: proves node-llama-cpp works with the generated demo model and documents the API we use.
 * Findings are written up in docs/notes/node-llama-cpp-api.md.
 *
 *   npm run build && node scripts/probe-llama.mjs
 *
 * Env: PROBE_MODEL (default <tmpdir>/understudy-probe/demo.gguf).
 * Never builds or downloads llama.cpp (getLlama build: "never"). Bounded: every generation is small.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const modelPath = process.env.PROBE_MODEL ?? path.join(os.tmpdir(), "understudy-probe", "demo.gguf");
const tStart = performance.now();

const results = [];
let failures = 0;
function log(...args) {
  console.log(...args);
}
function show(label, value) {
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  log(`  ${label}: ${text && text.length > 600 ? text.slice(0, 600) + "…" : text}`);
}
function check(label, ok, extra) {
  if (!ok) failures++;
  log(`  [${ok ? "ok" : "FAIL"}] ${label}${extra === undefined ? "" : " — " + (typeof extra === "string" ? extra : JSON.stringify(extra))}`);
}
async function section(title, fn) {
  log(`\n=== ${title}`);
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    failures++;
    log(`  [FAIL] threw: ${err?.stack ?? err}`);
  }
  const ms = Math.round(performance.now() - t0);
  results.push({ title, ms });
  log(`  (${ms} ms)`);
}
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())]);

// ---------------------------------------------------------------- build + write the model
await section("0. write the demo model (from dist/: run `npm run build` first)", async () => {
  const out = path.join(root, "dist/demo-model/demo-model.js");
  const demo = await import(pathToFileURL(out).href);
  const t0 = performance.now();
  await demo.writeDemoModel(modelPath);
  const a = fs.readFileSync(modelPath);
  const b = demo.buildDemoModel();
  show("model path", modelPath);
  show("bytes", a.length);
  show("write ms", Math.round(performance.now() - t0));
  check("deterministic (two builds byte-identical)", a.equals(b));
  // demoModelPath() walks up from the module file to the nearest package.json; emulate <project>/dist/demo-model/
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), "understudy-fake-project-"));
  try {
    fs.writeFileSync(path.join(fake, "package.json"), JSON.stringify({ type: "module" }));
    const modDir = path.join(fake, "dist", "demo-model");
    fs.mkdirSync(modDir, { recursive: true });
    for (const f of ["demo-model.js", "gguf-writer.js"]) fs.copyFileSync(path.join(root, "dist/demo-model", f), path.join(modDir, f));
    fs.mkdirSync(path.join(fake, "dist", "core"));
    fs.copyFileSync(path.join(root, "dist/core/paths.js"), path.join(fake, "dist", "core", "paths.js"));
    const fakeDemo = await import(pathToFileURL(path.join(modDir, "demo-model.js")).href);
    check(
      "demoModelPath() = <nearest dir with package.json>/config/models/demo.gguf",
      fakeDemo.demoModelPath() === path.join(fake, "config", "models", "demo.gguf"),
      fakeDemo.demoModelPath(),
    );
  } finally {
    fs.rmSync(fake, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- 1. load
const tImport = performance.now();
const nlc = await import("node-llama-cpp");
const importMs = Math.round(performance.now() - tImport);
const { getLlama, LlamaLogLevel, LlamaChat, LlamaCompletion, JinjaTemplateChatWrapper, resolveChatWrapper, TokenBias, LlamaText, readGgufFileInfo } = nlc;

let llama, model;
await section("1. getLlama + loadModel", async () => {
  show("import('node-llama-cpp') ms", importMs);
  const t0 = performance.now();
  llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false, skipDownload: true });
  show("getLlama ms", Math.round(performance.now() - t0));
  show("llama", { gpu: llama.gpu, buildType: llama.buildType, cpuMathCores: llama.cpuMathCores, maxThreads: llama.maxThreads, release: llama.llamaCppRelease });
  const info = await readGgufFileInfo(modelPath);
  show("readGgufFileInfo: arch / tensors / version", [info.metadata.general.architecture, info.fullTensorInfo?.length ?? info.tensorCount, info.version]);
  const t1 = performance.now();
  model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  show("loadModel ms", Math.round(performance.now() - t1));
  const vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  show("vocab size (fileInfo tokens.length)", vocab);
  show("vocab size ([...model.iterateAllTokens()].length)", [...model.iterateAllTokens()].length);
  show("embeddingVectorSize", model.embeddingVectorSize);
  show("trainContextSize", model.trainContextSize);
  show("vocabularyType", model.vocabularyType);
  show("tokens", {
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    eot: model.tokens.eot,
    bosString: model.tokens.bosString,
    eosString: model.tokens.eosString,
    nl: model.tokens.nl,
    shouldPrependBosToken: model.tokens.shouldPrependBosToken,
  });
  show("typeDescription / size / warnings", [model.typeDescription, model.size, model.getWarnings()]);
  check("model loads with embedding 64 / ctx 2048", model.embeddingVectorSize === 64 && model.trainContextSize === 2048);
});

// ---------------------------------------------------------------- 2. tokenizer
await section("2. tokenize / detokenize", async () => {
  const texts = [
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    "héllo wörld — ✓ 😀 中文 日本語 Ελληνικά\ttab\nnew line\r\n  spaces  ",
    " leading space and trailing ",
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    "literal <|im_end|> and <tool_call> markers",
  ];
  for (const text of texts) {
    const toks = model.tokenize(text);
    const back = model.detokenize(toks);
    check(`roundtrip ${JSON.stringify(text.slice(0, 30))}… (${text.length} chars -> ${toks.length} tokens)`, back === text, back === text ? undefined : back);
  }
  const plain = model.tokenize("<|im_end|>");
  const special = model.tokenize("<|im_end|>", true);
  show('tokenize("<|im_end|>") (specialTokens=false)', plain);
  show('tokenize("<|im_end|>", true)', special);
  show('tokenize("<tool_call>") (user-defined token, matched even without specialTokens)', model.tokenize("<tool_call>"));
  show("detokenize([eos]) / detokenize([eos], true)", [model.detokenize([model.tokens.eos]), model.detokenize([model.tokens.eos], true)]);
  show('detokenize first byte of "😀" alone', model.detokenize(model.tokenize("😀").slice(0, 1)));
  show("isEogToken(im_end), isEogToken(endoftext), isSpecialToken(im_end)", [
    model.isEogToken(special[0]),
    model.isEogToken(model.tokens.bos),
    model.isSpecialToken(special[0]),
  ]);
  show('tokenize("") length', model.tokenize("").length);
});

// ---------------------------------------------------------------- 3. LlamaChat
let ctx, seqA;
const history = [
  { type: "system", text: "You are a terse assistant." },
  { type: "user", text: "Say hello to the world." },
];
await section("3. LlamaChat.generateResponse", async () => {
  // threads: 1 matters on this 2-core box: see section 10
  ctx = await model.createContext({ contextSize: 1024, sequences: 2, threads: 1, batchSize: 256 });
  seqA = ctx.getSequence();
  const chat = new LlamaChat({ contextSequence: seqA }); // chatWrapper: "auto" -> resolveChatWrapper(model)
  show("chat.chatWrapper.wrapperName", chat.chatWrapper.wrapperName);

  let chunks = 0,
    onTokenCount = 0;
  const meterBefore = seqA.tokenMeter.getState();
  const r = await chat.generateResponse(history, {
    maxTokens: 24,
    temperature: 0,
    repeatPenalty: false,
    onTextChunk: () => {
      chunks++;
    },
    onToken: (t) => {
      onTokenCount += t.length;
    },
  });
  const used = seqA.tokenMeter.diff(meterBefore);
  show("result keys", Object.keys(r));
  show("response", r.response);
  show("metadata", r.metadata);
  show("fullResponse", r.fullResponse);
  show("lastEvaluation keys", Object.keys(r.lastEvaluation));
  show("lastEvaluation.cleanHistory.at(-1)", r.lastEvaluation.cleanHistory.at(-1));
  show("tokenMeter diff {usedInputTokens, usedOutputTokens}", used);
  show("onToken tokens / onTextChunk calls / tokenize(response).length", [onTokenCount, chunks, model.tokenize(r.response).length]);
  check("stopReason maxTokens at 24 tokens", r.metadata.stopReason === "maxTokens" && onTokenCount === 24, r.metadata.stopReason);

  const again = await chat.generateResponse(history, { maxTokens: 24, temperature: 0, repeatPenalty: false });
  check("temperature 0 is deterministic", again.response === r.response);
  const s1 = await chat.generateResponse(history, { maxTokens: 24, temperature: 0.8, seed: 1234, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: false });
  const s2 = await chat.generateResponse(history, { maxTokens: 24, temperature: 0.8, seed: 1234, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: false });
  const s3 = await chat.generateResponse(history, { maxTokens: 24, temperature: 0.8, seed: 999, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: false });
  check("temperature 0.8 + same seed is deterministic", s1.response === s2.response, [s1.response, s2.response]);
  check("different seed -> different text", s1.response !== s3.response);
  const defPen = await chat.generateResponse(history, { maxTokens: 24, temperature: 0 });
  show("temperature 0 with default repeatPenalty (=== repeatPenalty:false?)", defPen.response === r.response);

  // custom stop trigger taken from the greedy output
  const idx = Math.max(4, r.response.search(/\S{2}/g) + 4);
  let trigger = r.response.slice(idx, idx + 2);
  if (!trigger.trim()) trigger = r.response.slice(4, 6);
  const cut = await chat.generateResponse(history, { maxTokens: 24, temperature: 0, repeatPenalty: false, customStopTriggers: [trigger] });
  show("customStopTriggers", [trigger]);
  show("stop result", { response: cut.response, metadata: cut.metadata });
  check(
    "stopReason customStopTrigger and trigger cut from text",
    cut.metadata.stopReason === "customStopTrigger" && r.response.startsWith(cut.response) && !cut.response.includes(trigger),
    { expectedPrefix: r.response.slice(0, r.response.indexOf(trigger)) },
  );

  const bias = new TokenBias(model.tokenizer).set("the", -0.9).set(model.tokenize("x")[0], "never");
  const withOpts = await chat.generateResponse(history, {
    maxTokens: 12,
    temperature: 0.7,
    seed: 7,
    topK: 20,
    topP: 0.9,
    minP: 0.02,
    repeatPenalty: { lastTokens: 64, penalty: 1.1, frequencyPenalty: 0.2, presencePenalty: 0.2, penalizeNewLine: false },
    dryRepeatPenalty: { strength: 0.8 },
    tokenBias: bias,
    trimWhitespaceSuffix: false,
    xtc: { probability: 0.5, threshold: 0.1 },
  });
  check("all sampling options accepted", typeof withOpts.response === "string", withOpts.metadata);
  const eosNever = new TokenBias(model.tokenizer).set(model.tokens.eos, "never");
  show("TokenBias.set(eos, 'never') is ignored: _biases.size", eosNever._biases.size);
  chat.dispose(); // keeps the sequence (disposeSequence defaults to false)
  check("chat.dispose() leaves the sequence alive", !seqA.disposed);
});

// ---------------------------------------------------------------- 4. abort
await section("4. abort via AbortSignal", async () => {
  const chat = new LlamaChat({ contextSequence: seqA });
  const ac = new AbortController();
  let n = 0;
  const reason = new Error("client disconnected");
  try {
    await chat.generateResponse(history, {
      maxTokens: 200,
      signal: ac.signal,
      onTextChunk: () => {
        if (++n === 5) ac.abort(reason);
      },
    });
    check("abort throws", false);
  } catch (err) {
    check("abort throws signal.reason itself", err === reason, { name: err?.name, message: err?.message });
  }
  const ac2 = new AbortController();
  let m = 0;
  try {
    await chat.generateResponse(history, {
      maxTokens: 200,
      signal: ac2.signal,
      onTextChunk: () => {
        if (++m === 5) ac2.abort();
      },
    });
  } catch (err) {
    show("abort() without a reason throws", { name: err?.name, message: err?.message, ctor: err?.constructor?.name });
  }

  const ac3 = new AbortController();
  let k = 0,
    streamed = "";
  const partial = await chat.generateResponse(history, {
    maxTokens: 200,
    signal: ac3.signal,
    stopOnAbortSignal: true,
    onTextChunk: (t) => {
      streamed += t;
      if (++k === 5) ac3.abort();
    },
  });
  check("stopOnAbortSignal:true returns the partial response with stopReason 'abort'", partial.metadata.stopReason === "abort", {
    response: partial.response,
    streamedEqual: partial.response === streamed,
    metadata: partial.metadata,
  });

  const ac4 = new AbortController();
  ac4.abort();
  try {
    await chat.generateResponse(history, { maxTokens: 10, signal: ac4.signal, stopOnAbortSignal: true });
    show("pre-aborted signal + stopOnAbortSignal", "returned");
  } catch (err) {
    show("pre-aborted signal (+stopOnAbortSignal) throws", { name: err?.name, message: err?.message });
  }

  const after = await chat.generateResponse(history, { maxTokens: 8, temperature: 0 });
  check("same sequence usable after abort", after.response.length > 0 || after.metadata.stopReason === "eogToken", after.metadata);
  chat.dispose();
  await seqA.dispose();
  check("sequence.dispose() frees the slot", seqA.disposed && ctx.sequencesLeft === 2, { sequencesLeft: ctx.sequencesLeft });
  seqA = ctx.getSequence();
  const chat2 = new LlamaChat({ contextSequence: seqA });
  const fresh = await chat2.generateResponse(history, { maxTokens: 8, temperature: 0 });
  check("new sequence from getSequence() works", fresh.response.length > 0, fresh.response);
  chat2.dispose();
});

// ---------------------------------------------------------------- 5. grammars
await section("5. grammars", async () => {
  const chat = new LlamaChat({ contextSequence: seqA });
  const schema = {
    type: "object",
    properties: {
      city: { type: "string", maxLength: 12 },
      unit: { enum: ["celsius", "fahrenheit"] },
      ok: { type: "boolean" },
    },
    required: ["city", "unit", "ok"],
  };
  const grammar = await llama.createGrammarForJsonSchema(schema);
  show("grammar.grammar (GBNF, head)", grammar.grammar.slice(0, 160));
  const r = await chat.generateResponse(history, { grammar, maxTokens: 80, temperature: 0 });
  show("json-schema response", r.response);
  show("metadata", r.metadata);
  let parsed;
  try {
    parsed = grammar.parse(r.response);
  } catch (err) {
    show("parse error", err.message);
  }
  check("createGrammarForJsonSchema output parses (grammar.parse)", parsed != null && typeof parsed.city === "string", parsed);

  const r2 = await chat.generateResponse(history, { grammar, maxTokens: 80, temperature: 0.9, seed: 3 });
  let p2;
  try {
    p2 = grammar.parse(r2.response);
  } catch {
    /* reported below */
  }
  check("sampled (temperature 0.9) output parses too", p2 != null, r2.response);

  const json = await llama.getGrammarFor("json");
  const r3 = await chat.generateResponse(history, { grammar: json, maxTokens: 120, temperature: 0 });
  let p3, e3;
  try {
    p3 = JSON.parse(r3.response);
  } catch (err) {
    e3 = err.message;
  }
  show('getGrammarFor("json") response', r3.response);
  // informational: a random model under the generic JSON grammar may nest/ramble past maxTokens
  show('getGrammarFor("json"): parses / stopReason / error', [p3 !== undefined, r3.metadata.stopReason, e3 ?? null]);

  const gbnf = await llama.createGrammar({ grammar: 'root ::= "yes" | "no"' });
  const r4 = await chat.generateResponse(history, { grammar: gbnf, maxTokens: 10, temperature: 0 });
  check("custom GBNF via llama.createGrammar({grammar})", ["yes", "no"].includes(r4.response), { response: r4.response, metadata: r4.metadata });
  chat.dispose();
});

// ---------------------------------------------------------------- 6. function calling
const functions = {
  get_weather: {
    description: "Get the current weather in a city",
    params: {
      type: "object",
      properties: { city: { type: "string", maxLength: 16 }, unit: { enum: ["celsius", "fahrenheit"] } },
      required: ["city", "unit"],
    },
  },
};
await section("6. function calling", async () => {
  const chat = new LlamaChat({ contextSequence: seqA });
  const userAsk = [
    { type: "system", text: "You are a weather bot." },
    { type: "user", text: "What is the weather in Paris?" },
  ];
  const natural = await chat.generateResponse(userAsk, { functions, maxTokens: 16, temperature: 0 });
  show("spontaneous: functionCalls / stopReason", [natural.functionCalls ?? null, natural.metadata.stopReason]);

  // Force a call: bias the first generated tokens to the wrapper's function-call prefix; node-llama-cpp detects the
  // prefix, then constrains the name + params with its own grammar built from `functions`.
  const prefix = LlamaText(chat.chatWrapper.settings.functions.call.prefix);
  const prefixTokens = prefix.tokenize(model.tokenizer);
  show("call prefix / tokens", [prefix.toString(), prefixTokens]);
  let step = 0;
  const forcePrefix = () => {
    const b = new TokenBias(model.tokenizer);
    if (step < prefixTokens.length) b.set(prefixTokens[step], { logit: 1000 });
    step++;
    return b;
  };
  let paramsChunks = "";
  const seen = [];
  const forced = await chat.generateResponse(userAsk, {
    functions,
    maxTokens: 80,
    temperature: 0,
    tokenBias: forcePrefix,
    maxParallelFunctionCalls: 1,
    onFunctionCall: (fc) => seen.push(fc.functionName),
    onFunctionCallParamsChunk: (c) => {
      paramsChunks += c.paramsChunk;
    },
  });
  show("forced: response text", forced.response);
  show("forced: functionCalls", forced.functionCalls);
  show("forced: metadata", forced.metadata);
  show("forced: onFunctionCall names / params chunks", [seen, paramsChunks]);
  show("forced: cleanHistory.at(-1)", forced.lastEvaluation.cleanHistory.at(-1));
  check(
    "forced call -> stopReason functionCalls with schema-valid params",
    forced.metadata.stopReason === "functionCalls" &&
      forced.functionCalls?.[0]?.functionName === "get_weather" &&
      typeof forced.functionCalls[0].params?.city === "string",
  );

  // Feed the result back: a functionCall item with a result inside a model response, then generate again.
  const call = forced.functionCalls?.[0] ?? { functionName: "get_weather", params: { city: "Paris", unit: "celsius" }, raw: undefined };
  const withResult = [
    ...userAsk,
    {
      type: "model",
      response: [
        {
          type: "functionCall",
          name: call.functionName,
          description: functions.get_weather.description,
          params: call.params,
          result: { temperature: 21, unit: "celsius" },
          rawCall: call.raw,
          startsNewChunk: true,
        },
      ],
    },
  ];
  const rendered = chat.chatWrapper.generateContextState({ chatHistory: withResult, availableFunctions: functions }).contextText;
  show("rendered history tail (how call + result are written)", rendered.toString().slice(-260));
  const follow = await chat.generateResponse(withResult, { functions, maxTokens: 16, temperature: 0 });
  show("after function result: response / stopReason", [follow.response, follow.metadata.stopReason]);
  show("after function result: cleanHistory.at(-1).response", follow.lastEvaluation.cleanHistory.at(-1).response);
  check(
    "history with a functionCall+result continues generation (text appended to the same model item)",
    typeof follow.response === "string" && follow.metadata.stopReason !== "abort",
  );

  // Alternative when not using `functions`: JSON-schema grammar for the args, then a synthetic functionCall item (no rawCall).
  const argsGrammar = await llama.createGrammarForJsonSchema(functions.get_weather.params);
  const args = await chat.generateResponse(userAsk, { grammar: argsGrammar, maxTokens: 60, temperature: 0 });
  let parsedArgs;
  try {
    parsedArgs = argsGrammar.parse(args.response);
  } catch (err) {
    show("args parse error", err.message);
  }
  const synthetic = [...userAsk, { type: "model", response: [{ type: "functionCall", name: "get_weather", params: parsedArgs, result: "21 C" }] }];
  const follow2 = await chat.generateResponse(synthetic, { functions, maxTokens: 8, temperature: 0 });
  check("grammar-generated args + synthetic functionCall item (no rawCall) works", parsedArgs != null && typeof follow2.response === "string", {
    args: parsedArgs,
    follow: follow2.response,
  });

  // Raw-call form only: string results / results without `functions` passed
  const follow3 = await chat.generateResponse(synthetic, { maxTokens: 8, temperature: 0 });
  check("history with functionCall but no `functions` option also works", typeof follow3.response === "string", follow3.metadata);
  chat.dispose();
});

// ---------------------------------------------------------------- 7. embeddings
await section("7. embeddings", async () => {
  const ectx = await model.createEmbeddingContext({ contextSize: 256, threads: 1 });
  const e1 = await ectx.getEmbeddingFor("Hello world");
  const e2 = await ectx.getEmbeddingFor(model.tokenize("Hello world"));
  const e3 = await ectx.getEmbeddingFor("Completely different text about cats");
  const finite = e1.vector.every(Number.isFinite);
  const norm = Math.sqrt(e1.vector.reduce((s, v) => s + v * v, 0));
  show("vector length / L2 norm / first values", [e1.vector.length, norm, e1.vector.slice(0, 4)]);
  check("getEmbeddingFor(text) works, finite", e1.vector.length === model.embeddingVectorSize && finite);
  check(
    "getEmbeddingFor(Token[]) gives the same vector",
    e1.vector.every((v, i) => Math.abs(v - e2.vector[i]) < 1e-6),
  );
  show("cosine(hello, cats) / cosine(hello, hello)", [e1.calculateCosineSimilarity(e3), e1.calculateCosineSimilarity(e2)]);
  show("calculateInputLength('Hello world')", ectx.calculateInputLength("Hello world"));
  try {
    await ectx.getEmbeddingFor("word ".repeat(400));
    show("over-long input", "no error");
  } catch (err) {
    show("over-long input (> contextSize) throws", err.message);
  }
  await ectx.dispose();
});

// ---------------------------------------------------------------- 8. multiple sequences, wrappers
await section("8. context with 2 sequences, chat wrappers", async () => {
  show("context", {
    contextSize: ctx.contextSize,
    batchSize: ctx.batchSize,
    totalSequences: ctx.totalSequences,
    sequencesLeft: ctx.sequencesLeft,
    currentThreads: ctx.currentThreads,
    idealThreads: ctx.idealThreads,
  });
  const seqB = ctx.getSequence();
  try {
    ctx.getSequence();
    check("third getSequence() throws", false);
  } catch (err) {
    check("third getSequence() throws", true, err.message);
  }
  const chatA = new LlamaChat({ contextSequence: seqA });
  const chatB = new LlamaChat({ contextSequence: seqB });
  const h2 = [{ type: "user", text: "Count to ten." }];
  let t0 = performance.now();
  const [ra, rb] = await Promise.all([
    chatA.generateResponse(history, { maxTokens: 32, temperature: 0 }),
    chatB.generateResponse(h2, { maxTokens: 32, temperature: 0 }),
  ]);
  const parallelMs = performance.now() - t0;
  t0 = performance.now();
  await seqA.clearHistory();
  await seqB.clearHistory();
  const sa = await chatA.generateResponse(history, { maxTokens: 32, temperature: 0 });
  const sb = await chatB.generateResponse(h2, { maxTokens: 32, temperature: 0 });
  const serialMs = performance.now() - t0;
  check("parallel generation on 2 sequences == sequential results", ra.response === sa.response && rb.response === sb.response);
  show("2x32 tokens parallel ms / sequential ms", [Math.round(parallelMs), Math.round(serialMs)]);
  show("seqB.nextTokenIndex before clearHistory", seqB.nextTokenIndex);
  await seqB.clearHistory();
  check("clearHistory() empties the sequence", seqB.nextTokenIndex === 0 && seqB.contextTokens.length === 0);
  chatB.dispose({ disposeSequence: true }); // calls seqB.dispose() without awaiting it
  await new Promise((r) => setTimeout(r, 20));
  check("chat.dispose({disposeSequence:true}) disposes the sequence", seqB.disposed && ctx.sequencesLeft === 1);

  const auto = resolveChatWrapper(model);
  show("resolveChatWrapper(model)", [auto.wrapperName, auto.usingJinjaFunctionCallTemplate]);
  show("resolveChatWrapper(model, {type:'qwen'})", resolveChatWrapper(model, { type: "qwen" }).wrapperName);
  show("resolveChatWrapper(model, {type:'chatML'})", resolveChatWrapper(model, { type: "chatML" }).wrapperName);
  show("resolveChatWrapper(model, {noJinja:true})", resolveChatWrapper(model, { noJinja: true }).wrapperName);
  const custom = new JinjaTemplateChatWrapper({
    template:
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
  });
  show("custom JinjaTemplateChatWrapper: usingJinjaFunctionCallTemplate / call prefix", [
    custom.usingJinjaFunctionCallTemplate,
    LlamaText(custom.settings.functions.call.prefix).toString(),
  ]);
  const chatC = new LlamaChat({ contextSequence: seqA, chatWrapper: custom });
  const state = custom.generateContextState({ chatHistory: [...history, { type: "model", response: [] }] });
  show("custom template rendering", state.contextText.toString());
  const rc = await chatC.generateResponse(history, { maxTokens: 8, temperature: 0 });
  check("LlamaChat with custom JinjaTemplateChatWrapper generates", typeof rc.response === "string", rc.metadata);
  try {
    new JinjaTemplateChatWrapper({ template: "{% for m in messages %}{{ m.content " });
    show("broken template", "accepted?!");
  } catch (err) {
    show("broken Jinja template throws at construction", err.message.slice(0, 120));
  }
  chatA.dispose();
  chatC.dispose();
});

// ---------------------------------------------------------------- 9. prompt token counting, LlamaCompletion
await section("9. prompt token counting, context overflow, LlamaCompletion", async () => {
  await seqA.clearHistory();
  const chat = new LlamaChat({ contextSequence: seqA });
  const wrapper = chat.chatWrapper;
  const counted = wrapper.generateContextState({ chatHistory: [...history, { type: "model", response: [] }] }).contextText.tokenize(model.tokenizer);
  const countedFn = wrapper
    .generateContextState({ chatHistory: [...history, { type: "model", response: [] }], availableFunctions: functions })
    .contextText.tokenize(model.tokenizer);
  const before = seqA.tokenMeter.getState();
  await chat.generateResponse(history, { maxTokens: 1, temperature: 0 });
  const used = seqA.tokenMeter.diff(before);
  show("counted prompt tokens (no tools / with tools)", [counted.length, countedFn.length]);
  show("tokenMeter diff after maxTokens:1 (input = prompt-1; the last prompt token is metered as output)", used);
  const sameTokens = counted.every((t, i) => seqA.contextTokens[i] === t) && seqA.contextTokens.length === counted.length; // the 1 sampled token is not evaluated yet
  check("generateContextState({chatHistory:[...h,{type:'model',response:[]}]}).contextText.tokenize() == the evaluated prompt", sameTokens, {
    contextTokens: seqA.contextTokens.length,
  });

  // what happens when the prompt does not fit? (LlamaChat silently context-shifts / truncates instead of failing)
  const small = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
  const sseq = small.getSequence();
  const schat = new LlamaChat({ contextSequence: sseq });
  const long = [
    { type: "system", text: "System prompt that must survive." },
    { type: "user", text: "one two three four five six seven eight nine ten ".repeat(40) },
  ];
  const longCount = wrapper.generateContextState({ chatHistory: [...long, { type: "model", response: [] }] }).contextText.tokenize(model.tokenizer).length;
  try {
    const r = await withTimeout(schat.generateResponse(long, { maxTokens: 8, temperature: 0 }), 20000, "overflow");
    show(`prompt of ${longCount} tokens in a ${small.contextSize}-token context`, {
      returned: true,
      stopReason: r.metadata.stopReason,
      contextWindowItems: r.lastEvaluation.contextWindow.map((i) => i.type + ":" + (i.text ?? "").length),
    });
  } catch (err) {
    show(`prompt of ${longCount} tokens in a ${small.contextSize}-token context throws`, err.message);
  }
  schat.dispose();
  await small.dispose();

  // LlamaCompletion
  await seqA.clearHistory();
  chat.dispose();
  const completion = new LlamaCompletion({ contextSequence: seqA });
  const prompt = "Once upon a time";
  const m0 = seqA.tokenMeter.getState();
  const c = await completion.generateCompletionWithMeta(prompt, { maxTokens: 16, temperature: 0 });
  show("generateCompletionWithMeta", c);
  show("tokenMeter diff / tokenize(prompt).length", [seqA.tokenMeter.diff(m0), model.tokenize(prompt).length]);
  const trig = c.response.slice(3, 5).trim() ? c.response.slice(3, 5) : c.response.slice(1, 3);
  const c2 = await completion.generateCompletionWithMeta(prompt, { maxTokens: 16, temperature: 0, customStopTriggers: [trig] });
  show("completion with customStopTriggers", [trig, c2]);
  check(
    "LlamaCompletion customStopTrigger reported and cut",
    c2.metadata.stopReason === "customStopTrigger" && c.response.startsWith(c2.response) && !c2.response.includes(trig),
  );
  const plain = await completion.generateCompletion(prompt, { maxTokens: 4, temperature: 0 });
  show("generateCompletion -> string", plain);
  completion.dispose();
});

// ---------------------------------------------------------------- 10. speed
await section("10. speed (200 tokens, EOS suppressed)", async () => {
  await seqA.clearHistory();
  const completion = new LlamaCompletion({ contextSequence: seqA });
  const noEos = new TokenBias(model.tokenizer);
  for (const t of model.iterateAllTokens()) if (model.isEogToken(t)) noEos._biases.set(t, -Infinity); // internal: set() skips EOG tokens
  show("EOG tokens suppressed", [...noEos._biases.keys()]);
  let n = 0;
  const t0 = performance.now();
  const r = await completion.generateCompletionWithMeta("The", {
    maxTokens: 200,
    temperature: 0.8,
    seed: 1,
    tokenBias: noEos,
    onToken: (t) => {
      n += t.length;
    },
  });
  const ms = performance.now() - t0;
  show("tokens / ms / tokens per second", [n, Math.round(ms), Math.round((n / ms) * 1000)]);
  check("200 tokens generated with EOS suppressed", n === 200 && r.metadata.stopReason === "maxTokens", r.metadata);
  completion.dispose();

  await seqA.clearHistory();
  const chat = new LlamaChat({ contextSequence: seqA });
  let m = 0;
  const t1 = performance.now();
  const rc = await chat.generateResponse(history, {
    maxTokens: 200,
    temperature: 0.8,
    seed: 1,
    tokenBias: noEos,
    onToken: (t) => {
      m += t.length;
    },
  });
  const ms2 = performance.now() - t1;
  show("LlamaChat: tokens / ms / tokens per second / stopReason", [m, Math.round(ms2), Math.round((m / ms2) * 1000), rc.metadata.stopReason]);

  for (const threads of [2, "default"]) {
    const c2 = await model.createContext({ contextSize: 256, ...(threads === "default" ? {} : { threads }) });
    const s2 = c2.getSequence();
    const comp2 = new LlamaCompletion({ contextSequence: s2 });
    let k = 0;
    const t3 = performance.now();
    await withTimeout(
      comp2.generateCompletionWithMeta("The", {
        maxTokens: 20,
        temperature: 0.8,
        seed: 1,
        tokenBias: noEos,
        onToken: (t) => {
          k += t.length;
        },
      }),
      30000,
      "threads " + threads,
    );
    const ms4 = performance.now() - t3;
    show(`threads ${threads} (context.currentThreads ${c2.currentThreads}): tokens / ms / tokens per second`, [
      k,
      Math.round(ms4),
      Math.round((k / ms4) * 1000),
    ]);
    comp2.dispose();
    await c2.dispose();
  }

  const promptText = "the quick brown fox jumps over the lazy dog ".repeat(50);
  await seqA.clearHistory();
  const pt = model.tokenize(promptText);
  const t2 = performance.now();
  await seqA.evaluateWithoutGeneratingNewTokens(pt);
  const ms3 = performance.now() - t2;
  show("prompt processing: tokens / ms / tokens per second", [pt.length, Math.round(ms3), Math.round((pt.length / ms3) * 1000)]);
  chat.dispose();
});

await section("cleanup", async () => {
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
});

log(`\nTotal ${Math.round(performance.now() - tStart)} ms; ${failures} failure(s).`);
process.exitCode = failures === 0 ? 0 : 1;
