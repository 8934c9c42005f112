/**
 * Which limiter a server uses, read once at start from the environment, like the response store
 * (stores/open-store.ts): `UNDERSTUDY_REDIS_URL` set: Redis (replicas share every key's limits);
 * otherwise in process. `UNDERSTUDY_LIMITS_FAIL` (`closed`, the default, or `open`) says what a
 * Redis outage does to admission; `UNDERSTUDY_REDIS_TIMEOUT_MS` bounds each Redis command.
 */
import { positiveIntegerSetting } from "../core/env-limit.js";
import type { Limiter } from "./limiter.js";
import { MemoryLimiter } from "./memory-limiter.js";
import { RedisLimiter, REDIS_LIMITS_TIMEOUT_MS, type LimitsFailMode, type WarnLog } from "./redis-limiter.js";
import { redisUrlSetting } from "../core/redis-url.js";

export const LIMITS_FAIL_SETTING = "UNDERSTUDY_LIMITS_FAIL";
export const DEFAULT_LIMITS_FAIL: LimitsFailMode = "closed";

export type LimiterSettings = { kind: "memory" } | { kind: "redis"; url: string; timeoutMs: number; failMode: LimitsFailMode };

type Env = Readonly<Record<string, string | undefined>>;

function failMode(raw: string | undefined): LimitsFailMode {
  if (raw === undefined || raw === "") return DEFAULT_LIMITS_FAIL;
  if (raw === "closed" || raw === "open") return raw;
  throw new Error(`${LIMITS_FAIL_SETTING} must be 'closed' or 'open' (got '${raw.slice(0, 40)}')`);
}

/** The limiter settings from `env`; a bad value throws an Error naming its variable (the server refuses to start). */
export function limiterSettingsFromEnv(env: Env = process.env): LimiterSettings {
  // Checked even without Redis: a typo must not wait for the day Redis is configured to show.
  const fail = failMode(env[LIMITS_FAIL_SETTING]);
  const url = env.UNDERSTUDY_REDIS_URL;
  if (url === undefined || url === "") return { kind: "memory" };
  const rawTimeout = env.UNDERSTUDY_REDIS_TIMEOUT_MS;
  const timeoutMs = rawTimeout === undefined || rawTimeout === "" ? REDIS_LIMITS_TIMEOUT_MS : positiveIntegerSetting("UNDERSTUDY_REDIS_TIMEOUT_MS", rawTimeout);
  return { kind: "redis", url: redisUrlSetting(url), timeoutMs, failMode: fail };
}

/** The limiter the settings name. Nothing is opened yet: the Redis connection is made on first use. */
export function openLimiter(settings: LimiterSettings, log?: WarnLog): Limiter {
  return settings.kind === "redis" ? new RedisLimiter({ ...settings, log }) : new MemoryLimiter();
}

/** Where limits live, for the start-up log line: a Redis URL without its credentials. */
export function describeLimiter(settings: LimiterSettings): string {
  if (settings.kind === "memory") return "in process";
  const url = new URL(settings.url);
  url.username = url.password = "";
  return `redis ${url.toString()} (fail ${settings.failMode})`;
}
