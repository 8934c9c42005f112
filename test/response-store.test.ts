/**
 * The stored-responses backends (issue 14): the embedded SQLite file and Redis, against the same
 * contract, plus what each must do on its own (a lazily created file that survives a reopen and
 * purges in bounded batches; keys with a TTL in a real redis-server), and the start-up settings.
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { StoreUnavailableError, StoredResponseTooLargeError } from "../src/core/errors.js";
import { DEFAULT_RESPONSES_MAX_BYTES, DEFAULT_RESPONSES_TTL_S, responseStoreSettingsFromEnv } from "../src/stores/open-store.js";
import { RedisResponseStore, REDIS_KEY_PREFIX } from "../src/stores/redis-store.js";
import type { ResponseStore, StoredResponse } from "../src/stores/response-store.js";
import { SqliteResponseStore, SQLITE_FILE_NAME, type SqliteStoreOptions } from "../src/stores/sqlite-store.js";
import { startRedis, type RedisServer } from "./helpers/fake-chat-upstream-redis.js";
import { freshDataDir, tempDir } from "./helpers/server.js";
import { closedPort, sleep } from "./helpers/upstream-server.js";

const DAY_MS = 24 * 3600 * 1000;

function record(text = "hello", id = `resp_${randomUUID().replace(/-/g, "")}`): StoredResponse {
  return {
    id,
    response: { id, object: "response", status: "completed", output: [{ type: "message", content: [{ type: "output_text", text }] }] },
    inputItems: [{ id: "msg_1", type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }],
    history: [{ type: "message", role: "user", content: "earlier" }],
  };
}

const HOSTILE_IDS = [
  "",
  "resp_' OR 1=1 --",
  "resp_x; DROP TABLE responses",
  `resp_${"a".repeat(200)}`,
  "x".repeat(100_000),
  "resp_../../etc/passwd",
  "resp_\u0000",
  "resp_*",
  "msg_123",
];

interface Backend {
  open(options: { ttlMs?: number; maxRecordBytes?: number }): ResponseStore;
}

/** What every backend must do, whatever it keeps records in. */
function contract(name: string, backend: () => Backend) {
  describe(`${name}: the ResponseStore contract`, () => {
    const stores: ResponseStore[] = [];
    const open = (options: { ttlMs?: number; maxRecordBytes?: number } = {}) => {
      const store = backend().open(options);
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      for (const s of stores) await s.close();
    });

    it("stores, reads back, replaces and deletes a record", async () => {
      const store = open();
      const r = record("first");
      expect(await store.get(r.id)).toBeUndefined();
      await store.put(r);
      expect(await store.get(r.id)).toEqual(r);
      const replaced = { ...record("second", r.id) };
      await store.put(replaced);
      expect(await store.get(r.id)).toEqual(replaced);
      expect(await store.delete(r.id)).toBe(true);
      expect(await store.get(r.id)).toBeUndefined();
      expect(await store.delete(r.id)).toBe(false);
    });

    it("keeps non-ASCII text exactly", async () => {
      const store = open();
      const r = record('héllo 😀 \u2028 "quoted" \\ back');
      await store.put(r);
      expect(await store.get(r.id)).toEqual(r);
    });

    it("a record expires after the TTL: invisible to get and delete", async () => {
      const store = open({ ttlMs: 150 });
      const r = record();
      await store.put(r);
      expect(await store.get(r.id)).toEqual(r);
      await sleep(400);
      expect(await store.get(r.id)).toBeUndefined();
      expect(await store.delete(r.id)).toBe(false);
    });

    it("treats hostile ids as unknown: undefined and false, nothing else touched", async () => {
      const store = open();
      const kept = record();
      await store.put(kept);
      for (const id of HOSTILE_IDS) {
        expect(await store.get(id)).toBeUndefined();
        expect(await store.delete(id)).toBe(false);
      }
      expect(await store.get(kept.id)).toEqual(kept);
    });

    it("refuses to store a record that is not under a response id", async () => {
      const store = open();
      await expect(store.put(record("x", "resp_' OR 1=1"))).rejects.toThrow(TypeError);
    });

    it("refuses a record over the size bound with a 413 naming the setting, and stores nothing", async () => {
      const store = open({ maxRecordBytes: 2_000 });
      const r = record("é".repeat(1_000)); // 1,000 characters, over 2,000 bytes in UTF-8
      const err = await store.put(r).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoredResponseTooLargeError);
      expect(err).toMatchObject({ status: 413, code: "stored_response_too_large", param: "store" });
      expect((err as Error).message).toContain("UNDERSTUDY_RESPONSES_MAX_BYTES");
      expect((err as Error).message).toContain("2000-byte");
      expect(await store.get(r.id)).toBeUndefined();
      const small = record("ok");
      await store.put(small);
      expect(await store.get(small.id)).toEqual(small);
    });

    it("rejects every call once closed", async () => {
      const store = backend().open({});
      await store.put(record());
      await store.close();
      await expect(store.get(record().id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.put(record())).rejects.toMatchObject({ status: 503, code: "store_unavailable" });
    });
  });
}

function sqliteStore(dataDir: string, extra: Partial<SqliteStoreOptions> = {}) {
  return new SqliteResponseStore({ dataDir, ttlMs: DAY_MS, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES, ...extra });
}

const rowCount = (dataDir: string) => {
  const db = new Database(path.join(dataDir, SQLITE_FILE_NAME), { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM responses").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

contract("SQLite", () => ({ open: (o) => sqliteStore(freshDataDir(), o) }));

describe("SQLite store: the file", () => {
  it("creates nothing until a response is stored, then the directory and a WAL-mode file", async () => {
    const dataDir = path.join(freshDataDir(), "nested", "data");
    const store = sqliteStore(dataDir);
    expect(await store.get(record().id)).toBeUndefined();
    expect(await store.delete(record().id)).toBe(false);
    expect(fs.existsSync(path.dirname(dataDir))).toBe(false);
    await store.put(record());
    expect(fs.existsSync(path.join(dataDir, SQLITE_FILE_NAME))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, `${SQLITE_FILE_NAME}-wal`))).toBe(true);
    await store.close();
    const db = new Database(path.join(dataDir, SQLITE_FILE_NAME));
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("survives a restart: a new store on the same directory reads, deletes and expires what the old one wrote", async () => {
    const dataDir = freshDataDir();
    const first = sqliteStore(dataDir);
    const kept = record("kept");
    const gone = record("gone");
    await first.put(kept);
    await first.put(gone);
    await first.close();
    const second = sqliteStore(dataDir);
    expect(await second.get(kept.id)).toEqual(kept);
    expect(await second.delete(gone.id)).toBe(true);
    await second.close();
    const third = sqliteStore(dataDir);
    expect(await third.get(kept.id)).toEqual(kept);
    expect(await third.get(gone.id)).toBeUndefined();
    await third.close();
  });

  it("purges expired rows on write, at most a batch per purge", async () => {
    const dataDir = freshDataDir();
    const shortLived = sqliteStore(dataDir, { ttlMs: 50 });
    for (let i = 0; i < 10; i++) await shortLived.put(record(String(i)));
    await shortLived.close();
    await sleep(150);
    const store = sqliteStore(dataDir, { purgeBatchRows: 3, purgeIntervalMs: 3_600_000 });
    await store.put(record("new"));
    expect(rowCount(dataDir)).toBe(10 - 3 + 1);
    // A full batch: the next write purges again despite the interval; the one after that does not need to.
    await store.put(record("newer"));
    expect(rowCount(dataDir)).toBe(10 - 6 + 2);
    await store.put(record("newest"));
    await store.put(record("last"));
    expect(rowCount(dataDir)).toBe(4);
    await store.close();
  });

  it("rejects with 503 store_unavailable when the data directory cannot be made (a file is in its place)", async () => {
    const file = path.join(tempDir(), "not-a-dir");
    fs.writeFileSync(file, "x");
    const store = sqliteStore(file);
    const err = await store.put(record()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ status: 503, type: "server_error", code: "store_unavailable" });
    expect((err as Error).message).not.toContain(file); // the path is the operator's, in `cause`
    expect((err as { cause?: unknown }).cause).toBeDefined();
    await store.close();
  });

  it("rejects with 503 when the database file cannot be opened (a directory in its place)", async () => {
    const dataDir = tempDir();
    fs.mkdirSync(path.join(dataDir, SQLITE_FILE_NAME));
    const store = sqliteStore(dataDir);
    await expect(store.put(record())).rejects.toMatchObject({ status: 503, code: "store_unavailable" });
    await expect(store.get(record().id)).rejects.toMatchObject({ status: 503, code: "store_unavailable" });
    await store.close();
  });

  it("a write that fails (the database locked by another process) rejects within the busy timeout, and the store recovers", async () => {
    const dataDir = freshDataDir();
    const store = sqliteStore(dataDir, { busyTimeoutMs: 100 });
    const before = record("before");
    await store.put(before);
    const other = new Database(path.join(dataDir, SQLITE_FILE_NAME));
    other.exec("BEGIN IMMEDIATE");
    const started = Date.now();
    const blocked = record("blocked");
    await expect(store.put(blocked)).rejects.toMatchObject({ status: 503, code: "store_unavailable", message: expect.stringContaining("SQLITE_BUSY") });
    expect(Date.now() - started).toBeLessThan(5_000);
    other.exec("ROLLBACK");
    other.close();
    expect(await store.get(blocked.id)).toBeUndefined();
    expect(await store.get(before.id)).toEqual(before);
    await store.put(blocked);
    expect(await store.get(blocked.id)).toEqual(blocked);
    await store.close();
  });

  it("a corrupt row is the store's failure (503), not an unknown id", async () => {
    const dataDir = freshDataDir();
    const store = sqliteStore(dataDir);
    const r = record();
    await store.put(r);
    const db = new Database(path.join(dataDir, SQLITE_FILE_NAME));
    db.prepare("UPDATE responses SET body = ? WHERE id = ?").run("{not json", r.id);
    db.close();
    await expect(store.get(r.id)).rejects.toMatchObject({ status: 503, code: "store_unavailable" });
    await store.close();
  });
});

describe("Redis store", () => {
  let redis: RedisServer;
  let raw: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    // CI may have just started it: wait (bounded) until it answers.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await raw.ping()) === "PONG") break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no Redis answers at ${redis.url}: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  });
  afterAll(async () => {
    raw?.disconnect();
    await redis?.stop();
  });

  contract("Redis", () => ({
    open: (o) => new RedisResponseStore({ url: redis.url, ttlMs: DAY_MS, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES, ...o }),
  }));

  it("keeps each response under understudy:resp:<id> with the TTL as its expiry", async () => {
    const store = new RedisResponseStore({ url: redis.url, ttlMs: 60_000, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES });
    const r = record();
    await store.put(r);
    expect(REDIS_KEY_PREFIX).toBe("understudy:resp:");
    const ttl = await raw.pttl(`understudy:resp:${r.id}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(JSON.parse((await raw.get(`understudy:resp:${r.id}`))!)).toEqual(r);
    await store.close();
  });

  it("two stores on one Redis (two replicas) see each other's responses", async () => {
    const options = { url: redis.url, ttlMs: DAY_MS, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES };
    const a = new RedisResponseStore(options);
    const b = new RedisResponseStore(options);
    const r = record();
    await a.put(r);
    expect(await b.get(r.id)).toEqual(r);
    expect(await b.delete(r.id)).toBe(true);
    expect(await a.get(r.id)).toBeUndefined();
    await a.close();
    await b.close();
  });

  it("a value under a response key that is not a record is a 503, not a crash", async () => {
    const store = new RedisResponseStore({ url: redis.url, ttlMs: DAY_MS, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES });
    const id = record().id;
    await raw.set(`understudy:resp:${id}`, "[1,2", "PX", 60_000);
    await expect(store.get(id)).rejects.toMatchObject({ status: 503, code: "store_unavailable" });
    await store.close();
  });

  it("Redis down: put, get and delete reject with 503 store_unavailable within the timeout, never hang", async () => {
    const port = await closedPort();
    const store = new RedisResponseStore({ url: `redis://127.0.0.1:${port}`, ttlMs: DAY_MS, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES, timeoutMs: 500 });
    const started = Date.now();
    const err = await store.put(record()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ status: 503, code: "store_unavailable" });
    expect((err as Error).message).toContain("ECONNREFUSED");
    await expect(store.get(record().id)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.delete(record().id)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(10_000);
    await store.close();
  });
});

describe("the store settings, read once at start", () => {
  it("defaults to SQLite in ./data, 30 days, 16 MiB", () => {
    expect(responseStoreSettingsFromEnv({}, "/srv/app")).toEqual({
      kind: "sqlite",
      dataDir: "/srv/app/data",
      ttlMs: 2_592_000_000,
      maxRecordBytes: 16 * 1024 * 1024,
    });
    expect(DEFAULT_RESPONSES_TTL_S).toBe(2_592_000);
  });

  it("takes UNDERSTUDY_DATA (relative to the working directory), the TTL and the size bound", () => {
    const env = { UNDERSTUDY_DATA: "state", UNDERSTUDY_RESPONSES_TTL_S: "60", UNDERSTUDY_RESPONSES_MAX_BYTES: "1000" };
    expect(responseStoreSettingsFromEnv(env, "/srv/app")).toEqual({ kind: "sqlite", dataDir: "/srv/app/state", ttlMs: 60_000, maxRecordBytes: 1000 });
  });

  it("chooses Redis when UNDERSTUDY_REDIS_URL is set", () => {
    expect(responseStoreSettingsFromEnv({ UNDERSTUDY_REDIS_URL: "redis://:pw@cache:6379/2", UNDERSTUDY_DATA: "ignored" })).toMatchObject({
      kind: "redis",
      url: "redis://:pw@cache:6379/2",
      ttlMs: 2_592_000_000,
    });
  });

  it.each([
    ["UNDERSTUDY_RESPONSES_TTL_S", "0"],
    ["UNDERSTUDY_RESPONSES_TTL_S", "-5"],
    ["UNDERSTUDY_RESPONSES_TTL_S", "1.5"],
    ["UNDERSTUDY_RESPONSES_TTL_S", "thirty days"],
    ["UNDERSTUDY_RESPONSES_TTL_S", "99999999999999"],
    ["UNDERSTUDY_RESPONSES_MAX_BYTES", "0"],
    ["UNDERSTUDY_REDIS_TIMEOUT_MS", "soon"],
    ["UNDERSTUDY_REDIS_URL", "http://cache:6379"],
    ["UNDERSTUDY_REDIS_URL", "cache:6379 x"],
  ])("%s=%s is a start-up error naming the setting", (name, value) => {
    const env: Record<string, string> = { [name]: value };
    if (name === "UNDERSTUDY_REDIS_TIMEOUT_MS") env.UNDERSTUDY_REDIS_URL = "redis://127.0.0.1:6379";
    expect(() => responseStoreSettingsFromEnv(env)).toThrow(name);
  });
});
