import OpenAI from "openai";
import { createLogger } from "../../src/logger.js";
import { startServer, type RunningServer, type ListenOptions } from "../../src/http/server.js";
import type { Services } from "../../src/services.js";

export interface TestServer extends RunningServer {
  client: OpenAI;
}

export function testServices(extra: Partial<Services> = {}): Services {
  return { startedAt: Date.now(), version: "test", ...extra } as Services;
}

/** A real server on an ephemeral 127.0.0.1 port, and an `openai` SDK client pointed at it. */
export async function startTestServer(options: Partial<ListenOptions> = {}): Promise<TestServer> {
  const running = await startServer({
    log: createLogger(process.env.LOG_LEVEL ?? "silent"),
    services: testServices(),
    ...options,
    host: "127.0.0.1",
    port: 0,
  });
  const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "sk-test", maxRetries: 0, timeout: 30_000 });
  return { ...running, client };
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
