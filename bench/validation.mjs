// Per-request cost of validating a typical chat body: the express-openapi-validator middleware
// chain the server creates (the same factory), called in-process on a fake express request.
import express from "express";
import { createRequestValidator } from "../dist/http/validation.js";
import { median, fmt } from "./lib.mjs";

const typicalChat = {
  model: "demo",
  messages: [
    { role: "system", content: "You are a helpful assistant. Answer briefly." },
    { role: "user", content: "What is the capital of France? Explain in one sentence." },
    { role: "assistant", content: "The capital of France is Paris." },
    { role: "user", content: [{ type: "text", text: "And of Italy?" }] },
  ],
  temperature: 0.7,
  max_tokens: 128,
  stream: false,
  "x-localai-extensions": { top_k: 40, min_p: 0.05 },
};

const app = express();

function fakeRequest(body) {
  const req = Object.create(express.request);
  req.app = app;
  Object.assign(req, {
    method: "POST",
    url: "/v1/chat/completions",
    originalUrl: "/v1/chat/completions",
    headers: { "content-type": "application/json", "content-length": "600" },
    body,
    params: {},
    cookies: {},
  });
  Object.defineProperty(req, "query", { value: {}, writable: true });
  return req;
}

function runChain(chain, req) {
  return new Promise((resolve, reject) => {
    let i = 0;
    const next = (err) => {
      if (err) return reject(err);
      if (i === chain.length) return resolve();
      chain[i++](req, {}, next);
    };
    next();
  });
}

export async function benchValidation({ iterations = Number(process.env.ITERATIONS ?? 20000) } = {}) {
  const validator = createRequestValidator(new Set(["createChatCompletion", "createCompletion", "createEmbedding", "listModels", "retrieveModel"]));
  const chain = await validator.chain();
  const rejected = await runChain(chain, fakeRequest({ ...structuredClone(typicalChat), temperature: "hot" })).then(
    () => false,
    () => true,
  );
  if (!rejected) throw new Error("sanity check failed: the validator accepted temperature: 'hot'");
  const checked = fakeRequest(structuredClone(typicalChat));
  await runChain(chain, checked);
  if ("n" in checked.body) throw new Error("sanity check failed: the validator injected a spec default");
  for (let i = 0; i < 2000; i++) await runChain(chain, fakeRequest(structuredClone(typicalChat)));
  const validate = [];
  for (let i = 0; i < iterations; i++) {
    const req = fakeRequest(structuredClone(typicalChat));
    const t0 = performance.now();
    await runChain(chain, req);
    validate.push(performance.now() - t0);
  }
  return { iterations, validate_median_ms: median(validate) };
}

export function validationMarkdown(r) {
  return [
    "## Validation cost per request (typical chat body)",
    "",
    "Command: `node bench/run.mjs validation` (the server's express-openapi-validator chain over the implemented operations, called in-process on a 4-message chat body with `x-localai-extensions`, after 2,000 warm-up calls).",
    "",
    "| iterations | validation (median) | target |",
    "|---|---|---|",
    `| ${r.iterations} | ${fmt(r.validate_median_ms * 1000, 1)} µs | < 150 µs |`,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(validationMarkdown(await benchValidation()));
