import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { createLogger } from "../../src/core/logger.js";
import { startServer, type RunningServer, type ListenOptions } from "../../src/http/server.js";
import { ConfigStore } from "../../src/config/store.js";
import type { Services } from "../../src/services.js";
import { DEFAULT_RESPONSES_MAX_BYTES, DEFAULT_RESPONSES_TTL_S, openResponseStore } from "../../src/stores/open-store.js";
import type { ResponseStore } from "../../src/stores/response-store.js";

export interface TestServer extends RunningServer {
  client: OpenAI;
  config: ConfigStore;
  responses: ResponseStore;
  /** The SQLite store's directory (undefined when the caller passed its own `responses`): start another server on it to see a restart. */
  dataDir: string | undefined;
}

/** A path for a test's data directory; nothing is created there until a response is stored. */
export const freshDataDir = () => path.join(os.tmpdir(), `understudy-data-${randomUUID()}`);

/** The server's default SQLite response store (30-day TTL, 16 MiB records) in `dataDir`. */
export function testResponseStore(dataDir = freshDataDir()): ResponseStore {
  return openResponseStore({ kind: "sqlite", dataDir, ttlMs: DEFAULT_RESPONSES_TTL_S * 1000, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES });
}

/** What a test server is given: its config and a response store (default: a fresh SQLite one, created on first write). */
export function testServices(config: ConfigStore, responses: ResponseStore = testResponseStore()): Services {
  return { startedAt: Date.now(), version: "test", config, responses };
}

export function tempDir(prefix = "understudy-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes files (relative path -> text) into a new temp directory. */
export function writeConfigDir(files: Record<string, string>, dir = tempDir()): string {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

export interface TestServerOptions extends Partial<ListenOptions> {
  configDir?: string;
  watch?: boolean;
  /** Stored responses go to a SQLite file here (default: a fresh directory); the server closes that store when it closes. */
  dataDir?: string;
  /** A store of the caller's (a Redis one, a tiny TTL): used instead of `dataDir`, and left open on close. */
  responses?: ResponseStore;
}

/** A real server on an ephemeral 127.0.0.1 port, and an `openai` SDK client pointed at it. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { configDir, watch, dataDir: askedDataDir, responses: callerStore, ...listen } = options;
  const log = createLogger(process.env.LOG_LEVEL ?? "silent");
  const config = ConfigStore.open(configDir ?? tempDir(), log);
  if (watch) config.watch(50);
  const dataDir = callerStore ? undefined : (askedDataDir ?? freshDataDir());
  const responses = callerStore ?? testResponseStore(dataDir);
  const running = await startServer({ log, services: testServices(config, responses), ...listen, host: "127.0.0.1", port: 0 });
  const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "sk-test", maxRetries: 0, timeout: 60_000 });
  return {
    ...running,
    client,
    config,
    responses,
    dataDir,
    close: async () => {
      config.close();
      await running.close();
      if (!callerStore) await responses.close();
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
