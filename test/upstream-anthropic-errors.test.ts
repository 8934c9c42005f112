/**
 * Errors through the `anthropic` upstream dialect, as an `openai` SDK client sees them (status,
 * OpenAI's error shape, Retry-After), retries of overloaded_error / api_error across URLs; the
 * provider config (the `/v1/complete` URL refused at load, default endpoint, anthropic_version).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { anthropicConfigDir, startAnthropicGateway, type AnthropicGateway } from "./helpers/anthropic-gateway.js";
import { anthropicError, ERROR_STATUS, startFakeAnthropic, type AnthropicErrorType, type FakeAnthropic } from "./helpers/anthropic-upstream.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_ERRORS";
let fake: FakeAnthropic;
let failing: http.Server;
let failingUrl: string;
/** Requests the always-failing server got, by the error type it answered. */
const failed: Record<string, number> = {};
let gw: AnthropicGateway;

/** Answers every request with the error type its URL's `?kind=` names (a Retry-After for rate limits). */
function startFailing(): Promise<void> {
  failing = http.createServer((req, res) => {
    req.resume();
    const kind = (new URL(req.url ?? "/", "http://x").searchParams.get("kind") ?? "api_error") as AnthropicErrorType;
    failed[kind] = (failed[kind] ?? 0) + 1;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (kind === "rate_limit_error") headers["retry-after"] = "30";
    res.writeHead(ERROR_STATUS[kind], headers);
    res.end(JSON.stringify(anthropicError(kind, `scripted ${kind}`)));
  });
  return new Promise((resolve) =>
    failing.listen(0, "127.0.0.1", () => {
      failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

const retry = { attempts: 3, backoff_ms: 5, max_backoff_ms: 20, failures_before_cooldown: 1000, cooldown_ms: 1000, max_retry_after_ms: 2000 };

beforeAll(async () => {
  fake = await startFakeAnthropic();
  await startFailing();
  process.env[KEY_ENV] = fake.apiKey;
  const good = { url: fake.url, api_key_env: KEY_ENV };
  const bad = (kind: string) => ({ url: `${failingUrl}/?kind=${kind}`, api_key_env: KEY_ENV });
  gw = await startAnthropicGateway(
    [
      { id: "once", type: "anthropic", endpoints: [good], retry: { ...retry, attempts: 1 } },
      { id: "pair", type: "anthropic", endpoints: [bad("overloaded_error"), good], retry },
      { id: "busy", type: "anthropic", endpoints: [bad("overloaded_error")], retry },
      { id: "broken", type: "anthropic", endpoints: [bad("api_error")], retry },
      { id: "limited", type: "anthropic", endpoints: [bad("rate_limit_error")], retry },
    ],
    { once: { provider: "once" }, pair: { provider: "pair" }, busy: { provider: "busy" }, broken: { provider: "broken" }, limited: { provider: "limited" } },
  );
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  await new Promise<void>((resolve) => failing.close(() => resolve()));
  delete process.env[KEY_ENV];
});

const chat = (model: string) => gw.client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
const errorOf = (model: string) =>
  chat(model).then(
    () => undefined,
    (e) => e,
  );

describe("anthropic upstream: HTTP errors", () => {
  it.each([
    ["invalid_request_error", OpenAI.BadRequestError, 400, "invalid_request_error"],
    ["not_found_error", OpenAI.NotFoundError, 404, "not_found_error"],
    ["authentication_error", OpenAI.InternalServerError, 502, "upstream_auth_error"],
    ["permission_error", OpenAI.InternalServerError, 502, "upstream_auth_error"],
  ] as const)("%s -> %p %i", async (type, cls, status, typeOrCode) => {
    fake.script({ kind: "error", type, message: `the ${type}` });
    const err = await errorOf("once");
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(status);
    expect(err.error).toMatchObject({ message: expect.stringContaining(`once: `) });
    expect(err.error.message).toContain(`the ${type}`);
    expect([err.error.type, err.error.code]).toContain(typeOrCode);
  });

  it("rate_limit_error -> 429 with Retry-After", async () => {
    const err = await errorOf("limited");
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers.get("retry-after")).toBe("30");
    expect(err.error).toMatchObject({ type: "rate_limit_error", message: expect.stringContaining("limited: ") });
  });

  it("retries overloaded_error (529) on the next URL: every request succeeds", async () => {
    const before = failed.overloaded_error ?? 0;
    for (let i = 0; i < 4; i++) expect((await chat("pair")).choices[0].message.content).toBe("Hello world");
    expect((failed.overloaded_error ?? 0) - before).toBeGreaterThanOrEqual(1);
  });

  it("overloaded_error on every attempt -> 503 upstream_overloaded, after the configured attempts", async () => {
    const before = failed.overloaded_error ?? 0;
    const err = await errorOf("busy");
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(503);
    expect(err.error).toMatchObject({ code: "upstream_overloaded", message: expect.stringContaining("busy: ") });
    expect((failed.overloaded_error ?? 0) - before).toBe(3);
  });

  it("api_error on every attempt -> 502 after the configured attempts", async () => {
    const before = failed.api_error ?? 0;
    const err = await errorOf("broken");
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ code: "upstream_error", message: expect.stringContaining("broken: ") });
    expect((failed.api_error ?? 0) - before).toBe(3);
  });
});

describe("anthropic providers in providers.yaml", () => {
  const problemsOf = (providers: Record<string, unknown>[]) =>
    loadConfig(anthropicConfigDir(providers, { m: { provider: providers[0].id as string } })).problems.map(formatProblem);

  it("refuses the legacy /v1/complete URL at load, naming the file and the base URL to use", () => {
    const problems = problemsOf([{ id: "old", type: "anthropic", endpoints: [{ url: "https://api.anthropic.com/v1/complete" }] }]);
    expect(problems).toEqual([expect.stringMatching(/^providers\.yaml:\d+: .*endpoints.*url.*\/v1\/complete.*https:\/\/api\.anthropic\.com\b/)]);
  });

  it("refuses a URL that already holds the /v1 or /v1/messages path", () => {
    expect(problemsOf([{ id: "v1", type: "anthropic", endpoints: [{ url: "https://api.anthropic.com/v1" }] }])).toHaveLength(1);
    expect(problemsOf([{ id: "msgs", type: "anthropic", endpoints: [{ url: "https://proxy.example/anthropic/v1/messages" }] }])).toEqual([
      expect.stringMatching(/https:\/\/proxy\.example\/anthropic\b/),
    ]);
  });

  it("defaults the endpoint to Anthropic's API (key from ANTHROPIC_API_KEY); other types still require endpoints", () => {
    const dir = anthropicConfigDir([{ id: "public", type: "anthropic" }], { m: { provider: "public" } });
    const loaded = loadConfig(dir);
    expect(loaded.problems).toEqual([]);
    expect(loaded.providers[0].endpoints).toEqual([{ url: "https://api.anthropic.com", api_key_env: "ANTHROPIC_API_KEY", weight: 1 }]);
    const openai = loadConfig(anthropicConfigDir([{ id: "p", type: "openai-compatible" }], {})).problems.map(formatProblem);
    expect(openai).toEqual([expect.stringMatching(/^providers\.yaml:\d+: \[0\]: missing required key 'endpoints'/)]);
  });

  it("refuses the OpenAI dialects' profile and extra_fields on an anthropic provider", () => {
    expect(problemsOf([{ id: "p", type: "anthropic", profile: "vllm", endpoints: [{ url: fake.url }] }])).toEqual([
      expect.stringMatching(/^m\.yaml:\d+: local_settings\.provider: .*profile/),
    ]);
  });

  it("checks anthropic_version and max_output_tokens", () => {
    expect(problemsOf([{ id: "v", type: "anthropic", anthropic_version: "latest", endpoints: [{ url: fake.url }] }])).toContainEqual(
      expect.stringMatching(/^providers\.yaml:\d+: \[0\]\.anthropic_version: must match pattern/),
    );
    const dir = anthropicConfigDir([{ id: "p", type: "anthropic", endpoints: [{ url: fake.url }] }], { m: { provider: "p", max_output_tokens: 0 } });
    expect(loadConfig(dir).problems.map(formatProblem)).toEqual([expect.stringContaining("max_output_tokens")]);
  });
});
