/**
 * An Understudy configured with upstream providers, on an ephemeral loopback port, optionally with
 * its log lines captured (for debug_connections) instead of going to stderr.
 */
import yaml from "js-yaml";
import OpenAI from "openai";
import { pino } from "pino";
import { ConfigStore } from "../../src/config/store.js";
import { createLogger } from "../../src/core/logger.js";
import { startServer } from "../../src/http/server.js";
import { testServices, writeConfigDir } from "./server.js";

export interface ModelSpec {
  provider: string;
  upstream_model?: string;
  backend?: "openai-compatible" | "huggingface-tgi";
  endpoints?: string[];
}

export interface GatewayOptions {
  providers: Record<string, unknown>[];
  models: Record<string, ModelSpec>;
  captureLogs?: boolean;
}

export interface Gateway {
  url: string;
  client: OpenAI;
  /** Captured log lines (JSON text), when captureLogs was set. */
  logs: string[];
  close(): Promise<void>;
}

export function gatewayConfigDir(options: GatewayOptions): string {
  const files: Record<string, string> = { "providers.yaml": yaml.dump(options.providers) };
  for (const [model, spec] of Object.entries(options.models)) {
    const local_settings: Record<string, unknown> = { backend: spec.backend ?? "openai-compatible", provider: spec.provider };
    if (spec.upstream_model) local_settings.upstream_model = spec.upstream_model;
    const registration: Record<string, unknown> = { model };
    if (spec.endpoints) registration.endpoints = spec.endpoints;
    files[`${model}.yaml`] = yaml.dump({ registration, local_settings });
  }
  return writeConfigDir(files);
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logs: string[] = [];
  const log = options.captureLogs
    ? pino({ level: "info", base: undefined }, { write: (line: string) => void logs.push(line) })
    : createLogger(process.env.LOG_LEVEL ?? "silent");
  const config = ConfigStore.open(gatewayConfigDir(options), log);
  const services = testServices(config);
  const running = await startServer({ log, services, host: "127.0.0.1", port: 0 });
  const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "sk-client", maxRetries: 0, timeout: 30_000 });
  return {
    url: running.url,
    client,
    logs,
    close: async () => {
      config.close();
      await running.close();
      await services.responses.close();
      // Releases the upstream connection pools the snapshot's backends hold.
      config.current().retire();
    },
  };
}
