/**
 * Which response store a server uses, read once at start from the environment:
 * `UNDERSTUDY_REDIS_URL` set: Redis (replicas share conversations); otherwise a SQLite file in
 * `UNDERSTUDY_DATA` (default `./data`, relative to the working directory).
 */
import path from "node:path";
import { positiveIntegerSetting } from "../core/env-limit.js";
import { MAX_RECORD_BYTES_SETTING } from "./record-json.js";
import { RedisResponseStore, REDIS_TIMEOUT_MS } from "./redis-store.js";
import type { ResponseStore } from "./response-store.js";
import { SqliteResponseStore, SQLITE_FILE_NAME } from "./sqlite-store.js";
import { redisUrlSetting } from "../core/redis-url.js";

/** How long a stored response lives (OpenAI keeps them 30 days). Set with `UNDERSTUDY_RESPONSES_TTL_S`. */
export const DEFAULT_RESPONSES_TTL_S = 30 * 24 * 3600;
/** Longest TTL accepted: 100 years, so an expiry time in ms cannot overflow Redis's or SQLite's 64-bit integers. */
export const MAX_RESPONSES_TTL_S = 100 * 365 * 24 * 3600;
/**
 * Largest stored record (the response, its input and the conversation's earlier turns, as JSON).
 * A conversation grows by every turn: this bounds what one `previous_response_id` chain can make
 * the store hold and read back per request. Set with `UNDERSTUDY_RESPONSES_MAX_BYTES`.
 */
export const DEFAULT_RESPONSES_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_DATA_DIR = "data";

export type ResponseStoreSettings = { ttlMs: number; maxRecordBytes: number } & (
  { kind: "sqlite"; dataDir: string } | { kind: "redis"; url: string; timeoutMs: number }
);

type Env = Readonly<Record<string, string | undefined>>;

function setting(env: Env, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = positiveIntegerSetting(name, raw);
  if (value > max) throw new Error(`${name} must be at most ${max} (got '${raw.slice(0, 40)}')`);
  return value;
}

/** The store settings from `env`; a bad value throws an Error naming its variable (the server refuses to start). */
export function responseStoreSettingsFromEnv(env: Env = process.env, cwd = process.cwd()): ResponseStoreSettings {
  const ttlMs = setting(env, "UNDERSTUDY_RESPONSES_TTL_S", DEFAULT_RESPONSES_TTL_S, MAX_RESPONSES_TTL_S) * 1000;
  const maxRecordBytes = setting(env, MAX_RECORD_BYTES_SETTING, DEFAULT_RESPONSES_MAX_BYTES);
  const url = env.UNDERSTUDY_REDIS_URL;
  if (url !== undefined && url !== "") {
    return { kind: "redis", url: redisUrlSetting(url), timeoutMs: setting(env, "UNDERSTUDY_REDIS_TIMEOUT_MS", REDIS_TIMEOUT_MS), ttlMs, maxRecordBytes };
  }
  return { kind: "sqlite", dataDir: path.resolve(cwd, env.UNDERSTUDY_DATA || DEFAULT_DATA_DIR), ttlMs, maxRecordBytes };
}

/** The store the settings name. Nothing is opened yet: the file or connection is made on first use. */
export function openResponseStore(settings: ResponseStoreSettings): ResponseStore {
  return settings.kind === "redis" ? new RedisResponseStore(settings) : new SqliteResponseStore(settings);
}

/** Where the store is, for the start-up log line: a Redis URL without its credentials. */
export function describeResponseStore(settings: ResponseStoreSettings): string {
  if (settings.kind === "sqlite") return `sqlite ${path.join(settings.dataDir, SQLITE_FILE_NAME)}`;
  const url = new URL(settings.url);
  url.username = url.password = "";
  return `redis ${url.toString()}`;
}
