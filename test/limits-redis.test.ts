/**
 * Per-key limits shared through a real redis-server (issue 15): two RedisLimiter instances stand
 * for two replicas behind a load balancer. Each test uses its own key prefix, so a shared Redis
 * (UNDERSTUDY_TEST_REDIS_URL) is safe. Then Redis unreachable: closed answers 503 in bounded time,
 * open admits.
 */
import net from "node:net";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { ApiKey } from "../src/core/api-key.js";
import { ApiError, LimitsUnavailableError } from "../src/core/errors.js";
import { RedisLimiter, type RedisLimiterOptions } from "../src/limits/redis-limiter.js";
import { startRedis, type RedisServer } from "./helpers/fake-chat-upstream-redis.js";
import { closedPort, sleep } from "./helpers/upstream-server.js";

let redis: RedisServer;
let raw: Redis;
const limiters: RedisLimiter[] = [];

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});

afterAll(async () => {
  for (const l of limiters) await l.close();
  raw.disconnect();
  await redis.stop();
});

/** Two replicas sharing one prefix (fresh per test). */
function replicas(options: Partial<RedisLimiterOptions> = {}): [RedisLimiter, RedisLimiter, string] {
  const keyPrefix = `understudy:test:${randomUUID()}:`;
  const make = () => new RedisLimiter({ url: redis.url, failMode: "closed", keyPrefix, timeoutMs: 2000, ...options });
  const pair: [RedisLimiter, RedisLimiter] = [make(), make()];
  limiters.push(...pair);
  return [...pair, keyPrefix];
}

const key = (limits: Partial<ApiKey>): ApiKey => ({ name: "team {a}", role: "user", ...limits });

async function refusal(limiter: RedisLimiter, k: ApiKey): Promise<ApiError> {
  const err = await limiter.admit(k).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected a refusal, got ${err === undefined ? "an admission" : String(err)}`);
  return err;
}

describe("RedisLimiter: limits shared by replicas", () => {
  it("two replicas share one key's rpm exactly", async () => {
    const [a, b] = replicas();
    const k = key({ rpm: 3 });
    expect((await a.admit(k)).headers["x-ratelimit-remaining-requests"]).toBe("2");
    expect((await b.admit(k)).headers["x-ratelimit-remaining-requests"]).toBe("1");
    expect((await a.admit(k)).headers["x-ratelimit-remaining-requests"]).toBe("0");
    for (const replica of [a, b]) {
      const err = await refusal(replica, k);
      expect(err.status).toBe(429);
      expect(err.toBody().error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
      expect(Number(err.headers["Retry-After"])).toBeGreaterThanOrEqual(19);
      expect(err.headers["x-ratelimit-limit-requests"]).toBe("3");
    }
  });

  it("admits exactly rpm of many concurrent admissions across replicas", async () => {
    const [a, b] = replicas();
    const k = key({ rpm: 10 });
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).admit(k)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(10);
  });

  it("shares max_concurrent, and a slot ended on one replica is free on the other", async () => {
    const [a, b] = replicas();
    const k = key({ max_concurrent: 1 });
    const ticket = await a.admit(k);
    expect((await refusal(b, k)).code).toBe("concurrency_limit_exceeded");
    ticket.end(0);
    ticket.end(0);
    await a.flush();
    const next = await b.admit(k);
    expect((await refusal(a, k)).code).toBe("concurrency_limit_exceeded");
    next.end(0);
  });

  it("shares the tokens one replica's answers reported", async () => {
    const [a, b] = replicas();
    const k = key({ tpm: 100, rpm: 100 });
    const ticket = await a.admit(k);
    expect(ticket.headers["x-ratelimit-remaining-tokens"]).toBe("100");
    ticket.end(100);
    await a.flush();
    const err = await refusal(b, k);
    expect(err.toBody().error).toMatchObject({ type: "tokens", code: "rate_limit_exceeded" });
    expect(err.headers["x-ratelimit-remaining-tokens"]).toBe("0");
  });

  it("frees the slots of a replica that died within a lease, and keeps running requests' slots past it", async () => {
    const [a, b] = replicas({ leaseMs: 600 });
    const k = key({ max_concurrent: 2 });
    await a.admit(k);
    const running = await b.admit(k);
    await sleep(1500);
    // Both renew their leases while their requests run.
    await refusal(b, k);
    await a.close(); // dies: its ticket is never ended
    const died = Date.now();
    let admitted = false;
    while (!admitted && Date.now() - died < 5000) {
      admitted = await b.admit(k).then(
        (t) => (t.end(0), true),
        () => false,
      );
      if (!admitted) await sleep(50);
    }
    expect(admitted).toBe(true);
    expect(Date.now() - died).toBeLessThan(2000);
    // b's own running request still holds its slot.
    await sleep(700);
    const second = await b.admit(k);
    await refusal(b, k);
    second.end(0);
    running.end(0);
    await b.flush();
  });

  it("keeps every Redis key with an expiry, under the key's own hash tag", async () => {
    const [a, , prefix] = replicas();
    (await a.admit(key({ rpm: 5, tpm: 50, max_concurrent: 2 }))).end(10);
    await a.flush();
    await a.admit(key({ rpm: 5, tpm: 50, max_concurrent: 2 }));
    const names = await raw.keys(`${prefix}*`);
    expect(names.sort()).toEqual([`${prefix}{team%20%7Ba%7D}:conc`, `${prefix}{team%20%7Ba%7D}:req`, `${prefix}{team%20%7Ba%7D}:tok`]);
    for (const name of names) {
      const ttl = await raw.pttl(name);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(2 * 60_000 + 1000);
    }
  });

  it("is healthy while Redis answers, and a key without limits never touches Redis", async () => {
    const [a, , prefix] = replicas();
    expect(await a.healthy()).toBe(true);
    expect((await a.admit({ name: "free", role: "user" })).headers).toEqual({});
    expect(await raw.keys(`${prefix}*`)).toEqual([]);
  });
});

describe("RedisLimiter: Redis unreachable", () => {
  const down = async (options: Partial<RedisLimiterOptions>) => {
    const limiter = new RedisLimiter({ url: `redis://127.0.0.1:${await closedPort()}`, failMode: "closed", timeoutMs: 500, ...options });
    limiters.push(limiter);
    return limiter;
  };

  it("fails closed by default: 503 limits_unavailable with Retry-After, within a bounded time", async () => {
    const limiter = await down({});
    const started = Date.now();
    const err = await refusal(limiter, key({ rpm: 5 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err).toBeInstanceOf(LimitsUnavailableError);
    expect(err.status).toBe(503);
    expect(err.toBody().error.code).toBe("limits_unavailable");
    expect(Number(err.headers["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect(await limiter.healthy()).toBe(false);
  });

  it("fails open when asked: admits unlimited and warns once per outage", async () => {
    const warnings: string[] = [];
    const limiter = await down({ failMode: "open", log: { warn: (_obj, msg) => void warnings.push(msg) } });
    expect((await limiter.admit(key({ rpm: 1, max_concurrent: 1 }))).headers).toEqual({});
    // Once the connection is known down, admissions do not wait for Redis again.
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await limiter.admit(key({ rpm: 1, max_concurrent: 1 }))).headers).toEqual({});
    expect(Date.now() - started).toBeLessThan(250);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/UNDERSTUDY_LIMITS_FAIL=open/);
  });

  it("answers within the command timeout when Redis accepts connections but never replies", async () => {
    const sockets = new Set<net.Socket>();
    const blackhole = net.createServer((s) => void sockets.add(s));
    await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
    try {
      const port = (blackhole.address() as net.AddressInfo).port;
      const limiter = new RedisLimiter({ url: `redis://127.0.0.1:${port}`, failMode: "closed", timeoutMs: 300 });
      limiters.push(limiter);
      const started = Date.now();
      const err = await refusal(limiter, key({ rpm: 5 }));
      expect(err.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(2000);
      const pinged = Date.now();
      expect(await limiter.healthy()).toBe(false);
      expect(Date.now() - pinged).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => blackhole.close(resolve));
    }
  });
});
