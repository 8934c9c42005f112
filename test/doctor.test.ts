/**
 * `understudy doctor` (src/doctor/): green against our server on the demo model and on an upstream
 * configuration, red with reasons against a deliberately broken OpenAI-compatible server, and exit 1
 * from the CLI there.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import yaml from "js-yaml";
import { projectRoot } from "../src/core/paths.js";
import { ConfigStore } from "../src/config/store.js";
import { createLogger } from "../src/core/logger.js";
import { startServer } from "../src/http/server.js";
import { runDoctor, type DoctorReport } from "../src/doctor/matrix.js";
import { formatReport } from "../src/doctor/report.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startTestServer, testServices, writeConfigDir } from "./helpers/server.js";
import { chatChunk, data, defaultRoute, sendJson, startFakeUpstream, startSse, writeFrames, type UpstreamRequest } from "./helpers/upstream-server.js";

// Small bounds: every check here answers in well under a second.
const BOUNDS = { checkTimeoutMs: 20_000, totalTimeoutMs: 120_000 };

/** Every check's status (and reason where not a pass), for a readable failure. */
const outcomes = (r: DoctorReport) =>
  Object.fromEntries(
    [...Object.entries(r.server), ...r.models.flatMap((m) => Object.entries(r.matrix[m]).map(([c, v]) => [`${m} ${c}`, v] as const))].map(([k, v]) => [
      k,
      v.status === "pass" ? "pass" : `${v.status}: ${v.reason}`,
    ]),
  );
const failures = (r: DoctorReport) => Object.entries(outcomes(r)).filter(([, v]) => v.startsWith("fail"));

describe("doctor against our server on the demo model", () => {
  it("passes every check, and skips embeddings on a model that does not list them", async () => {
    const chatOnly = demoRegistration("demo-chat").replace("[chat, completion, embeddings, tools, json_schema]", "[chat, tools, json_schema]");
    const configDir = await demoConfigDir({ "demo.yaml": demoRegistration("demo"), "demo-chat.yaml": chatOnly });
    const server = await startTestServer({ configDir });
    try {
      const seen: string[] = [];
      const report = await runDoctor({ url: server.url, ...BOUNDS, onResult: (p) => seen.push(`${p.done}/${p.total}`) });
      expect(failures(report)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.models.sort()).toEqual(["demo", "demo-chat"]);
      expect(report.surfaces).toEqual({ messages: true, sourcegraph: true });
      expect(report.matrix.demo["embeddings.base64"].status).toBe("pass");
      expect(report.matrix.demo["tools.stream"].status).toBe("pass");
      expect(report.matrix["demo-chat"]["embeddings.float"]).toMatchObject({ status: "skip", reason: expect.stringMatching(/embeddings capability/) });
      expect(seen.at(-1)).toBe(`${seen.length}/${seen.length}`);
      expect(formatReport(report)).toMatch(/all checks passed$/);
    } finally {
      await server.close();
    }
  });
});

/** A well-behaved upstream that honours what the doctor asks for: max_tokens, stop, JSON modes and tools. */
function answerOf(body: any): { content: string | null; call?: { name: string; arguments: string }; finish: string; tokens: number } {
  const forced = body.tool_choice?.function?.name;
  if (forced) return { content: null, call: { name: forced, arguments: '{"city":"Paris"}' }, finish: "tool_calls", tokens: 4 };
  const format = body.response_format?.type;
  if (format === "json_object") return { content: '{"greeting":"hello"}', finish: "stop", tokens: 5 };
  if (format === "json_schema") return { content: '{"ok":true}', finish: "stop", tokens: 4 };
  const stops: string[] = typeof body.stop === "string" ? [body.stop] : (body.stop ?? []);
  if (stops.includes(" ")) return { content: "Hello", finish: "stop", tokens: 1 };
  const budget = body.max_tokens ?? body.max_completion_tokens ?? Infinity;
  return budget < 2
    ? { content: "Hello", finish: "length", tokens: 1 }
    : budget === 2
      ? { content: "Hello world", finish: "length", tokens: 2 }
      : { content: "Hello world", finish: "stop", tokens: 2 };
}

async function conformingUpstream(req: UpstreamRequest, res: http.ServerResponse): Promise<void> {
  if (!req.path.endsWith("/chat/completions")) return defaultRoute(req, res);
  const model = req.body.model;
  const a = answerOf(req.body);
  const usage = { prompt_tokens: 3, completion_tokens: a.tokens, total_tokens: 3 + a.tokens };
  const toolCall = a.call && { id: "call_1", type: "function", function: a.call };
  if (!req.body.stream) {
    const message = { role: "assistant", content: a.content, refusal: null, ...(toolCall ? { tool_calls: [toolCall] } : {}) };
    return sendJson(res, 200, {
      id: "chatcmpl-up",
      object: "chat.completion",
      created: 1,
      model,
      choices: [{ index: 0, message, finish_reason: a.finish, logprobs: null }],
      usage,
    });
  }
  startSse(res);
  const delta = toolCall ? { tool_calls: [{ index: 0, ...toolCall }] } : { content: a.content };
  const frames = [data(chatChunk(model, { role: "assistant", content: "" })), data(chatChunk(model, delta)), data(chatChunk(model, {}, a.finish))];
  if (req.body.stream_options?.include_usage) frames.push(data({ ...chatChunk(model, {}), choices: [], usage }));
  frames.push("data: [DONE]\n\n");
  return writeFrames(res, frames);
}

describe("doctor against an upstream configuration", () => {
  it("passes every check through the gateway to an OpenAI-compatible upstream", async () => {
    const upstream = await startFakeUpstream(conformingUpstream);
    const registration = { model: "gw", capabilities: ["chat", "embeddings", "tools", "json_schema"] };
    const configDir = writeConfigDir({
      "providers.yaml": yaml.dump([{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }]),
      "gw.yaml": yaml.dump({ registration, local_settings: { backend: "openai-compatible", provider: "up", upstream_model: "up-model" } }),
    });
    const log = createLogger("silent");
    const config = ConfigStore.open(configDir, log);
    const running = await startServer({ log, services: testServices(config), host: "127.0.0.1", port: 0 });
    try {
      const report = await runDoctor({ url: `${running.url}/v1/`, key: "sk-doctor", ...BOUNDS });
      expect(failures(report)).toEqual([]);
      expect(Object.values(report.matrix.gw).map((r) => r.status)).not.toContain("skip");
      expect(upstream.requests.some((r) => r.body?.tools)).toBe(true);
    } finally {
      config.close();
      await running.close();
      config.current().retire();
      await upstream.close();
    }
  });
});

/** An OpenAI look-alike that gets things wrong: finish_reason "done", no [DONE], errors in the wrong shape. */
function brokenServer(): http.Server {
  const model = { id: "broken", object: "model", created: 1, owned_by: "nobody" };
  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  return http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      const body = text ? JSON.parse(text) : {};
      if (req.url === "/v1/models") return reply(res, 200, { object: "list", data: [model] });
      if (req.url === "/v1/models/broken") return reply(res, 200, model);
      if (req.url === "/v1/embeddings")
        return reply(res, 400, { error: { message: "no embeddings here", type: "invalid_request_error", param: "model", code: "model_not_supported" } });
      if (req.url !== "/v1/chat/completions")
        return reply(res, 404, { error: { message: "not found", type: "invalid_request_error", param: null, code: null } });
      if (body.model !== "broken") return reply(res, 404, { message: "no such model" });
      if (body.temperature > 2) return reply(res, 400, { error: "temperature too high" });
      const choice = { index: 0, message: { role: "assistant", content: "hi", refusal: null }, finish_reason: "done", logprobs: null };
      if (!body.stream) return reply(res, 200, { id: "x", object: "chat.completion", created: 1, model: "broken", choices: [choice] });
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(data(chatChunk("broken", { content: "hi" }, "done")));
    });
  });
}

describe("doctor against a broken server", () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = brokenServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("fails with the reasons, and skips what the server does not offer", async () => {
    const report = await runDoctor({ url, ...BOUNDS });
    expect(report.ok).toBe(false);
    const o = outcomes(report);
    expect(o["models.list"]).toBe("pass");
    expect(o["error.unknown_model"]).toMatch(/^fail: an unknown model's error body does not match ErrorResponse: \/ must have required property 'error'/);
    expect(o["broken chat"]).toMatch(/^fail: .*\/choices\/0\/finish_reason must be equal to one of the allowed values/);
    expect(o["broken chat.stream"]).toBe("fail: the stream does not end with data: [DONE]");
    expect(o["broken error.invalid_param"]).toMatch(/^fail: temperature 5's error body does not match ErrorResponse: \/error must be object/);
    expect(o["broken embeddings.float"]).toMatch(/^skip: the server says: .*no embeddings here/);
    expect(o["broken messages"]).toBe("skip: the server does not offer the messages API");
    expect(report.surfaces).toEqual({ messages: false, sourcegraph: false });
    expect(formatReport(report)).toMatch(/FAIL broken chat: /);
  });

  it("exits 1 from the CLI, with the report as JSON on stdout", async () => {
    const bin = path.join(projectRoot(), "bin", "understudy.js");
    const child = spawn(process.execPath, [bin, "doctor", "--url", url, "--json", "--timeout", "20"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.matrix.broken.chat.status).toBe("fail");
    // Not a terminal: one plain progress line per check.
    expect(stderr).toMatch(/^\[1\/\d+\] server models\.list: pass$/m);
  });
});

describe("doctor's bounds", () => {
  it("fails a check that gets no answer within the per-check timeout, stops at the total timeout, and checks at most maxModels", async () => {
    const models = ["a", "b", "c"].map((id) => ({ id, object: "model", created: 1, owned_by: "nobody" }));
    const server = http.createServer((req, res) => {
      if (req.url === "/v1/models") return sendJson(res, 200, { object: "list", data: models });
      if (req.url === "/v1/chat/completions") return; // never answers
      sendJson(res, 404, { error: { message: "not found", type: "invalid_request_error", param: null, code: null } });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const report = await runDoctor({ url, checkTimeoutMs: 200, maxModels: 1 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(report.models).toEqual(["a"]);
      expect(report.unchecked).toEqual(["b", "c"]);
      expect(report.server["error.unknown_model"]).toMatchObject({ status: "fail", reason: "no answer within 200 ms" });
      expect(report.matrix.a["chat.stream"]).toMatchObject({ status: "fail", reason: "no answer within 200 ms" });
      expect(report.ok).toBe(false);
      const late = await runDoctor({ url, totalTimeoutMs: 1 });
      const run = [...Object.values(late.server), ...Object.values(late.matrix.a)].filter((r) => r.status !== "skip");
      expect(run.length).toBeGreaterThan(10);
      expect(new Set(run.map((r) => `${r.status}: ${r.reason}`))).toEqual(new Set(["fail: not run: the total timeout passed"]));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
