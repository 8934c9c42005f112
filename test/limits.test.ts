/**
 * Per-key limits in process (issue 15): rpm, tpm and max_concurrent of keys.yaml, the headers
 * OpenAI sends with them, and the 429 in its shape. The clock is injected, so no test sleeps.
 */
import type { ApiKey } from "../src/core/api-key.js";
import { ApiError, errorHeaders, RateLimitError } from "../src/core/errors.js";
import { MemoryLimiter } from "../src/limits/memory-limiter.js";
import { describeLimiter, limiterSettingsFromEnv } from "../src/limits/open-limiter.js";
import { openaiDuration } from "../src/limits/standing.js";

const START = 1_800_000_000_000;

function clocked() {
  const clock = { t: START };
  const limiter = new MemoryLimiter({ now: () => clock.t });
  return { clock, limiter };
}

const key = (limits: Partial<ApiKey> = {}): ApiKey => ({ name: "team-a", role: "user", ...limits });

/** The error `admit` rejects with (fails the test when it admits). */
async function refused(limiter: MemoryLimiter, k: ApiKey): Promise<ApiError> {
  const err = await limiter.admit(k).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected a refusal, got ${err === undefined ? "an admission" : String(err)}`);
  return err;
}

describe("OpenAI's duration format of x-ratelimit-reset-*", () => {
  it.each([
    [0, "0s"],
    [20, "20ms"],
    [999, "999ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [8640, "8.64s"],
    [20_000, "20s"],
    [60_000, "1m0s"],
    [61_001, "1m1.001s"],
    [360_000, "6m0s"],
    [3_600_000, "1h0m0s"],
    [3_723_400, "1h2m3.4s"],
  ])("%d ms is %s", (ms, text) => {
    expect(openaiDuration(ms)).toBe(text);
  });
});

describe("MemoryLimiter: rpm", () => {
  it("admits exactly rpm requests at once, then refuses with OpenAI's 429", async () => {
    const { limiter } = clocked();
    const k = key({ rpm: 3 });
    const remaining = [];
    for (let i = 0; i < 3; i++) remaining.push((await limiter.admit(k)).headers["x-ratelimit-remaining-requests"]);
    expect(remaining).toEqual(["2", "1", "0"]);
    const err = await refused(limiter, k);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.status).toBe(429);
    expect(err.toBody().error).toMatchObject({ type: "requests", code: "rate_limit_exceeded", param: null });
    expect(err.message).toContain("requests per min (RPM): Limit 3, Used 3");
    // 3 rpm refills one request every 20 s.
    expect(errorHeaders(err)).toMatchObject({
      "Retry-After": "20",
      "x-ratelimit-limit-requests": "3",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "1m0s",
    });
    expect(errorHeaders(err)["x-should-retry"]).toBeUndefined();
  });

  it("admits the next request exactly when one has refilled, not a millisecond before", async () => {
    const { clock, limiter } = clocked();
    const k = key({ rpm: 3 });
    for (let i = 0; i < 3; i++) await limiter.admit(k);
    clock.t += 19_999;
    expect((await refused(limiter, k)).headers["Retry-After"]).toBe("1");
    clock.t += 1;
    expect((await limiter.admit(k)).headers["x-ratelimit-remaining-requests"]).toBe("0");
    await refused(limiter, k);
  });

  it("says in x-ratelimit-reset-requests when the key is back to its full allowance", async () => {
    const { clock, limiter } = clocked();
    const k = key({ rpm: 60 });
    expect((await limiter.admit(k)).headers).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1s",
    });
    await limiter.admit(k);
    clock.t += 500;
    expect((await limiter.admit(k)).headers["x-ratelimit-reset-requests"]).toBe("2.5s");
    clock.t += 60_000;
    expect((await limiter.admit(k)).headers["x-ratelimit-remaining-requests"]).toBe("59");
  });

  it("counts a request refused for another limit against none", async () => {
    const { limiter } = clocked();
    const k = key({ rpm: 2, max_concurrent: 1 });
    const first = await limiter.admit(k);
    expect((await refused(limiter, k)).code).toBe("concurrency_limit_exceeded");
    first.end(0);
    expect((await limiter.admit(k)).headers["x-ratelimit-remaining-requests"]).toBe("0");
  });

  it("a zero rpm refuses every request, retrying after a minute", async () => {
    const { limiter } = clocked();
    const err = await refused(limiter, key({ rpm: 0 }));
    expect(err.headers["Retry-After"]).toBe("60");
  });
});

describe("MemoryLimiter: tpm", () => {
  it("counts the tokens ended tickets report and refuses once they reached tpm", async () => {
    const { clock, limiter } = clocked();
    const k = key({ tpm: 100 });
    const a = await limiter.admit(k);
    expect(a.headers).toEqual({ "x-ratelimit-limit-tokens": "100", "x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "0s" });
    a.end(60);
    const b = await limiter.admit(k);
    expect(b.headers["x-ratelimit-remaining-tokens"]).toBe("40");
    expect(b.headers["x-ratelimit-reset-tokens"]).toBe("36s");
    b.end(40);
    const err = await refused(limiter, k);
    expect(err.toBody().error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" });
    expect(err.message).toContain("tokens per min (TPM): Limit 100, Used 100");
    expect(err.headers).toMatchObject({ "Retry-After": "1", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m0s" });
    // The request's own tokens are unknown before it runs: one whole token left lets it start (100 tpm: one every 600 ms).
    clock.t += 599;
    await refused(limiter, k);
    clock.t += 1;
    expect((await limiter.admit(k)).headers["x-ratelimit-remaining-tokens"]).toBe("1");
  });

  it("refuses for at most a minute however many tokens one answer reports", async () => {
    const { clock, limiter } = clocked();
    const k = key({ tpm: 100 });
    (await limiter.admit(k)).end(1e15);
    clock.t += 59_999;
    await refused(limiter, k);
    clock.t += 1;
    await limiter.admit(k);
  });

  it("counts nothing for a missing, negative or non-finite usage", async () => {
    const { limiter } = clocked();
    const k = key({ tpm: 10 });
    for (const tokens of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) (await limiter.admit(k)).end(tokens);
    expect((await limiter.admit(k)).headers["x-ratelimit-remaining-tokens"]).toBe("10");
  });

  it("sends only the tokens trio for a key with tpm and no rpm, and no headers for a key without limits", async () => {
    const { limiter } = clocked();
    expect(Object.keys((await limiter.admit(key({ tpm: 5 }))).headers).sort()).toEqual([
      "x-ratelimit-limit-tokens",
      "x-ratelimit-remaining-tokens",
      "x-ratelimit-reset-tokens",
    ]);
    const unlimited = await limiter.admit({ name: "free", role: "admin" });
    expect(unlimited.headers).toEqual({});
  });
});

describe("MemoryLimiter: max_concurrent", () => {
  it("refuses a request over max_concurrent with 429 and frees the slot when a ticket ends", async () => {
    const { limiter } = clocked();
    const k = key({ max_concurrent: 2 });
    const a = await limiter.admit(k);
    await limiter.admit(k);
    const err = await refused(limiter, k);
    expect(err.status).toBe(429);
    expect(err.toBody().error).toMatchObject({ type: "requests", code: "concurrency_limit_exceeded" });
    expect(err.headers["Retry-After"]).toBe("1");
    a.end(0);
    await limiter.admit(k);
    await refused(limiter, k);
  });

  it("ends a ticket once however often end is called", async () => {
    const { limiter } = clocked();
    const k = key({ max_concurrent: 1, tpm: 100 });
    const a = await limiter.admit(k);
    a.end(30);
    a.end(30);
    a.end(30);
    const b = await limiter.admit(k);
    expect(b.headers["x-ratelimit-remaining-tokens"]).toBe("70");
    await refused(limiter, k);
  });

  it("a zero max_concurrent refuses every request", async () => {
    const { limiter } = clocked();
    expect((await refused(limiter, key({ max_concurrent: 0 }))).code).toBe("concurrency_limit_exceeded");
  });
});

describe("MemoryLimiter: memory", () => {
  it("keeps no state for keys without limits and forgets idle keys once their buckets drained", async () => {
    const { clock, limiter } = clocked();
    for (let i = 0; i < 50; i++) await limiter.admit({ name: `free-${i}`, role: "user" });
    expect(limiter.trackedKeys).toBe(0);
    for (let i = 0; i < 100; i++) (await limiter.admit(key({ name: `k-${i}`, rpm: 10, tpm: 1000 }))).end(500);
    const busy = await limiter.admit(key({ name: "busy", max_concurrent: 1 }));
    expect(limiter.trackedKeys).toBe(101);
    clock.t += 2 * 60_000;
    await limiter.admit(key({ name: "k-0", rpm: 10 }));
    // k-0 again, and "busy", whose request is still in flight.
    expect(limiter.trackedKeys).toBe(2);
    busy.end(0);
  });
});

describe("limiter settings", () => {
  it("limits in process without UNDERSTUDY_REDIS_URL, in Redis with it, failing closed by default", () => {
    expect(limiterSettingsFromEnv({})).toEqual({ kind: "memory" });
    const redis = limiterSettingsFromEnv({ UNDERSTUDY_REDIS_URL: "redis://user:secret@cache:6379/2" });
    expect(redis).toEqual({ kind: "redis", url: "redis://user:secret@cache:6379/2", timeoutMs: 5000, failMode: "closed" });
    expect(describeLimiter(redis)).toBe("redis redis://cache:6379/2 (fail closed)");
    expect(limiterSettingsFromEnv({ UNDERSTUDY_REDIS_URL: "redis://h", UNDERSTUDY_LIMITS_FAIL: "open", UNDERSTUDY_REDIS_TIMEOUT_MS: "250" })).toMatchObject({
      failMode: "open",
      timeoutMs: 250,
    });
  });

  it("refuses to start on a bad setting, naming it", () => {
    expect(() => limiterSettingsFromEnv({ UNDERSTUDY_LIMITS_FAIL: "sometimes" })).toThrow(/UNDERSTUDY_LIMITS_FAIL must be 'closed' or 'open'/);
    expect(() => limiterSettingsFromEnv({ UNDERSTUDY_REDIS_URL: "http://h" })).toThrow(/UNDERSTUDY_REDIS_URL/);
    expect(() => limiterSettingsFromEnv({ UNDERSTUDY_REDIS_URL: "redis://h", UNDERSTUDY_REDIS_TIMEOUT_MS: "0" })).toThrow(/UNDERSTUDY_REDIS_TIMEOUT_MS/);
  });
});
