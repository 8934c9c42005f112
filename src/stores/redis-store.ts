/**
 * The shared response store: Redis, so replicas behind a load balancer read each other's
 * conversations. One string key per response (`understudy:resp:<id>`), expiring with the TTL.
 * Every call is bounded: the client connects on first use, a command waits at most `timeoutMs`
 * (queued while disconnected included), and a request gives up after one reconnection attempt.
 */
import type { Redis } from "ioredis";
import { lazyModule } from "../core/lazy-module.js";

const ioredis = lazyModule<typeof import("ioredis")>("ioredis");
import { StoreUnavailableError } from "../core/errors.js";
import { decodeRecord, encodeRecord, storeFailure } from "./record-json.js";
import { isResponseId, type ResponseStore, type StoredResponse } from "./response-store.js";

export const REDIS_KEY_PREFIX = "understudy:resp:";
/** How long connecting and each command may take before the call fails with 503 `store_unavailable`. */
export const REDIS_TIMEOUT_MS = 5_000;
/** Reconnection attempts a waiting command sits through before it fails (the client keeps reconnecting in the background). */
const RETRIES_PER_REQUEST = 1;
/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

export interface RedisStoreOptions {
  url: string;
  ttlMs: number;
  maxRecordBytes: number;
  timeoutMs?: number;
  keyPrefix?: string;
}

export class RedisResponseStore implements ResponseStore {
  private readonly client: Redis;
  private readonly prefix: string;
  /** The connection's last error: a command that fails for want of a connection reports it. */
  private lastConnectionError: Error | undefined;
  private closed = false;

  constructor(private readonly options: RedisStoreOptions) {
    const timeout = options.timeoutMs ?? REDIS_TIMEOUT_MS;
    this.prefix = options.keyPrefix ?? REDIS_KEY_PREFIX;
    this.client = new (ioredis().Redis)(options.url, {
      lazyConnect: true,
      connectTimeout: timeout,
      commandTimeout: timeout,
      maxRetriesPerRequest: RETRIES_PER_REQUEST,
      retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
    });
    // Without a listener ioredis prints every failed reconnection; the calls that need Redis report it.
    this.client.on("error", (err: Error) => void (this.lastConnectionError = err));
    this.client.on("ready", () => void (this.lastConnectionError = undefined));
  }

  async put(record: StoredResponse): Promise<void> {
    const body = encodeRecord(record, this.options.maxRecordBytes);
    await this.call(() => this.client.set(this.prefix + record.id, body, "PX", this.options.ttlMs));
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    if (!isResponseId(id)) return undefined;
    const body = await this.call(() => this.client.get(this.prefix + id));
    return body === null ? undefined : decodeRecord(id, body, "Redis");
  }

  async delete(id: string): Promise<boolean> {
    if (!isResponseId(id)) return false;
    return (await this.call(() => this.client.del(this.prefix + id))) > 0;
  }

  async healthy(): Promise<void> {
    await this.call(() => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError("The Redis response store is closed");
    try {
      return await command();
    } catch (err) {
      // "max retries reached" says less than why: the connection's own error (ECONNREFUSED...).
      throw storeFailure("Redis", (err as Error).name === "MaxRetriesPerRequestError" ? (this.lastConnectionError ?? err) : err);
    }
  }
}
