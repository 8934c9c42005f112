import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { createLogger } from "../../src/core/logger.js";
import { startServer, type RunningServer, type ListenOptions } from "../../src/http/server.js";
import { ConfigStore } from "../../src/config/store.js";

export interface TestServer extends RunningServer {
  client: OpenAI;
  config: ConfigStore;
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
}

/** A real server on an ephemeral 127.0.0.1 port, and an `openai` SDK client pointed at it. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const log = createLogger(process.env.LOG_LEVEL ?? "silent");
  const config = ConfigStore.open(options.configDir ?? tempDir(), log);
  if (options.watch) config.watch(50);
  const running = await startServer({
    log,
    services: { startedAt: Date.now(), version: "test", config },
    ...options,
    host: "127.0.0.1",
    port: 0,
  });
  const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "sk-test", maxRetries: 0, timeout: 60_000 });
  return {
    ...running,
    client,
    config,
    close: async () => {
      config.close();
      await running.close();
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
