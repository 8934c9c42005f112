/**
 * The embedded response store: one SQLite file, `<dataDir>/responses.sqlite`, in WAL mode. Nothing
 * is created until the first response is stored; a later server on the same directory reads it.
 * better-sqlite3 is synchronous: each statement is one indexed row, so it holds the event loop for
 * about as long as writing the record's bytes.
 */
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { lazyModule } from "../core/lazy-module.js";
import { StoreUnavailableError } from "../core/errors.js";
import { decodeRecord, encodeRecord, storeFailure } from "./record-json.js";
import { isResponseId, type ResponseStore, type StoredResponse } from "./response-store.js";

const sqlite = lazyModule<typeof Database>("better-sqlite3");

export const SQLITE_FILE_NAME = "responses.sqlite";

/** Expired rows deleted by one purge: a large backlog is cleared over several writes, never in one long stall. */
export const PURGE_BATCH_ROWS = 500;
/** A write purges expired rows at most this often (expired rows are invisible meanwhile). */
export const PURGE_INTERVAL_MS = 60_000;
/** How long a statement waits for a lock held by another process before failing (it blocks the event loop meanwhile). */
export const BUSY_TIMEOUT_MS = 2_000;

export interface SqliteStoreOptions {
  dataDir: string;
  ttlMs: number;
  maxRecordBytes: number;
  purgeBatchRows?: number;
  purgeIntervalMs?: number;
  busyTimeoutMs?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, body TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS responses_expires_at ON responses (expires_at);
`;

interface Statements {
  put: Database.Statement<[string, string, number]>;
  get: Database.Statement<[string, number], { body: string }>;
  delete: Database.Statement<[string, number]>;
  purge: Database.Statement<[number, number]>;
}

export class SqliteResponseStore implements ResponseStore {
  readonly file: string;
  private db: Database.Database | undefined;
  private statements: Statements | undefined;
  private nextPurgeAt = 0;
  private closed = false;

  constructor(private readonly options: SqliteStoreOptions) {
    this.file = path.join(options.dataDir, SQLITE_FILE_NAME);
  }

  async put(record: StoredResponse): Promise<void> {
    const body = encodeRecord(record, this.options.maxRecordBytes);
    this.run((s) => {
      const now = Date.now();
      s.put.run(record.id, body, now + this.options.ttlMs);
      this.purgeExpired(s, now);
    }, true);
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    if (!isResponseId(id)) return undefined;
    const row = this.run((s) => s.get.get(id, Date.now()), false);
    return row ? decodeRecord(id, row.body, "SQLite") : undefined;
  }

  async delete(id: string): Promise<boolean> {
    if (!isResponseId(id)) return false;
    return this.run((s) => s.delete.run(id, Date.now()).changes > 0, false) ?? false;
  }

  /** The file opens (when it exists) and answers a read. */
  async healthy(): Promise<void> {
    this.run((st) => st.get.get("resp_ready_check", Date.now()), false);
  }

  async close(): Promise<void> {
    this.closed = true;
    const db = this.db;
    this.db = this.statements = undefined;
    db?.close();
  }

  /** `work` on the open database, or undefined when nothing was ever stored and `create` is false; any failure is a StoreUnavailableError. */
  private run<T>(work: (s: Statements) => T, create: boolean): T | undefined {
    if (this.closed) throw new StoreUnavailableError("The SQLite response store is closed");
    try {
      const statements = this.statements ?? this.open(create);
      return statements ? work(statements) : undefined;
    } catch (err) {
      throw storeFailure("SQLite", err);
    }
  }

  private open(create: boolean): Statements | undefined {
    if (!create && !fs.existsSync(this.file)) return undefined;
    if (create) fs.mkdirSync(this.options.dataDir, { recursive: true });
    const db = new (sqlite())(this.file, { fileMustExist: !create, timeout: this.options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
    try {
      db.pragma("journal_mode = WAL");
      // WAL with NORMAL: a power loss may drop the last commits, never corrupt the file.
      db.pragma("synchronous = NORMAL");
      db.exec(SCHEMA);
      this.statements = {
        put: db.prepare(
          "INSERT INTO responses (id, body, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at",
        ),
        get: db.prepare("SELECT body FROM responses WHERE id = ? AND expires_at > ?"),
        delete: db.prepare("DELETE FROM responses WHERE id = ? AND expires_at > ?"),
        purge: db.prepare("DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses WHERE expires_at <= ? LIMIT ?)"),
      };
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    return this.statements;
  }

  /** Deletes at most a batch of expired rows, at most once per interval: bounded work on the write path. */
  private purgeExpired(s: Statements, now: number): void {
    if (now < this.nextPurgeAt) return;
    this.nextPurgeAt = now + (this.options.purgeIntervalMs ?? PURGE_INTERVAL_MS);
    const batch = this.options.purgeBatchRows ?? PURGE_BATCH_ROWS;
    try {
      // A full batch means more are waiting: purge again on the next write.
      if (s.purge.run(now, batch).changes === batch) this.nextPurgeAt = now;
    } catch {
      // The record is stored; housekeeping that failed (a lock held elsewhere) is tried again on a later write.
    }
  }
}
