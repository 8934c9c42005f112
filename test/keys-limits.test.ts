/**
 * Keys' limits as the operation runner applies them (issue 15): rpm, tpm (the usage a JSON answer
 * reports) and max_concurrent, refused with a 429 carrying Retry-After and OpenAI's rate-limit
 * headers, in each surface's shape; answers let through carry the key's standing.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import OpenAI from "openai";
import { sha256Hex } from "../src/config/keys.js";
import { MemoryLimiter } from "../src/limits/memory-limiter.js";
import { reportedTokens } from "../src/http/run-operation.js";
import { SerializedJson } from "../src/core/serialized-json.js";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { defaultRoute, sleep, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { LEGACY_BODY, sgPost, STREAM } from "./helpers/sourcegraph.js";

const entry = (name: string, extra: Record<string, unknown>) => ({ name, key_sha256: sha256Hex(`us-${name}`), ...extra });

let upstream: FakeUpstream;
let server: TestServer;
const client = (name: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: `us-${name}`, maxRetries: 0, timeout: 30_000 });
const chat = (name: string) => client(name).chat.completions.create({ model: "up", messages: [{ role: "user", content: "hi" }] });

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const dir = gatewayConfigDir({
    providers: [{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }],
    models: { up: { provider: "up", upstream_model: "m" } },
  });
  const keys = [
    entry("rpm", { rpm: 2 }),
    entry("tpm", { tpm: 10 }),
    entry("tpm-stream", { tpm: 10 }),
    entry("conc", { max_concurrent: 1 }),
    entry("free", {}),
    entry("anth", { rpm: 1 }),
    entry("sg", { rpm: 1 }),
  ];
  fs.writeFileSync(path.join(dir, "keys.yaml"), yaml.dump(keys));
  server = await startTestServer({ configDir: dir, limiter: new MemoryLimiter() });
});
afterAll(async () => {
  await server.close();
  server.config.current().retire();
  await upstream.close();
});
beforeEach(() => upstream.route(undefined));

describe("per-key limits", () => {
  it("rpm: answers carry the key's standing; past the limit a 429 with Retry-After and the rate-limit headers", async () => {
    const first = await client("rpm")
      .chat.completions.create({ model: "up", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(first.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    await chat("rpm");
    const err = await chat("rpm").catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(err.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(err.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    // Another key is not affected.
    for (let i = 0; i < 3; i++) expect((await chat("free")).choices).toHaveLength(1);
  });

  it("tpm: the usage JSON answers report is counted", async () => {
    // The fake reports 5 tokens an answer: a 10-token minute is spent within a few requests.
    let refused: unknown;
    for (let i = 0; i < 5 && refused === undefined; i++)
      refused = await chat("tpm").then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("tpm: the usage a stream reports (its include_usage chunk) is counted", async () => {
    let refused: unknown;
    for (let i = 0; i < 5 && refused === undefined; i++) {
      refused = await (async () => {
        const stream = await client("tpm-stream").chat.completions.create({
          model: "up",
          messages: [{ role: "user", content: "hi" }],
          stream: true,
          stream_options: { include_usage: true },
        });
        for await (const _ of stream);
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("max_concurrent: a second request while the first is served is a 429", async () => {
    upstream.route(async (req, res) => {
      await sleep(400);
      return defaultRoute(req, res);
    });
    const results = await Promise.allSettled([chat("conc"), sleep(100).then(() => chat("conc"))]);
    expect(results[0].status).toBe("fulfilled");
    expect(results[1].status).toBe("rejected");
    expect((results[1] as PromiseRejectedResult).reason.status).toBe(429);
    // The slot is freed once the answer is over.
    upstream.route(undefined);
    expect((await chat("conc")).choices).toHaveLength(1);
  });

  it("each surface refuses in its own shape", async () => {
    const messages = (key: string) =>
      fetch(`${server.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "up", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
      });
    expect((await messages("us-anth")).status).toBe(200);
    const refused = await messages("us-anth");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect(await refused.json()).toEqual({ type: "error", error: { type: "rate_limit_error", message: expect.any(String) } });

    const sg = (n: number) => sgPost(server.url, STREAM, { ...LEGACY_BODY, model: "up", stream: n > 0 }, { authorization: "token us-sg" });
    expect((await sg(0)).status).toBe(200);
    const sgRefused = await sg(0);
    expect(sgRefused.status).toBe(429);
    expect(sgRefused.headers.get("retry-after")).not.toBeNull();
    expect(sgRefused.headers.get("content-type")).toMatch(/^text\/plain/);
  });
});

describe("reportedTokens", () => {
  it("reads OpenAI's and Anthropic's usage, parsed or as JSON text, and 0 otherwise", () => {
    expect(reportedTokens({ usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })).toBe(5);
    expect(reportedTokens(new SerializedJson('{"usage":{"total_tokens":7}}'))).toBe(7);
    expect(reportedTokens({ usage: { input_tokens: 4, output_tokens: 6 } })).toBe(10);
    expect(reportedTokens({ usage: { total_tokens: -1 } })).toBe(0);
    expect(reportedTokens({ completion: "x" })).toBe(0);
    expect(reportedTokens(undefined)).toBe(0);
  });
});
