/**
 * An Understudy whose models are served by `anthropic` providers (the upstream dialect), on an
 * ephemeral loopback port, with an `openai` SDK client; and the OpenAI response schemas of the
 * extended spec, compiled with ajv, to validate what the gateway answers.
 */
import yaml from "js-yaml";
import OpenAI from "openai";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { ConfigStore } from "../../src/config/store.js";
import { createLogger } from "../../src/core/logger.js";
import { startServer } from "../../src/http/server.js";
import { extendedSpec } from "../../src/spec/extended-spec.js";
import { testServices, writeConfigDir } from "./server.js";

export interface AnthropicModel {
  provider: string;
  upstream_model?: string;
  max_output_tokens?: number;
}

export interface AnthropicGateway {
  url: string;
  client: OpenAI;
  config: ConfigStore;
  close(): Promise<void>;
}

export function anthropicConfigDir(providers: Record<string, unknown>[], models: Record<string, AnthropicModel>): string {
  const files: Record<string, string> = { "providers.yaml": yaml.dump(providers) };
  for (const [model, spec] of Object.entries(models)) {
    const local_settings = { backend: "anthropic", upstream_model: "claude-test", ...spec };
    files[`${model}.yaml`] = yaml.dump({ registration: { model }, local_settings });
  }
  return writeConfigDir(files);
}

export async function startAnthropicGateway(providers: Record<string, unknown>[], models: Record<string, AnthropicModel>): Promise<AnthropicGateway> {
  const log = createLogger(process.env.LOG_LEVEL ?? "silent");
  const config = ConfigStore.open(anthropicConfigDir(providers, models), log);
  const services = testServices(config);
  const running = await startServer({ log, services, host: "127.0.0.1", port: 0 });
  const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: "sk-client", maxRetries: 0, timeout: 30_000 });
  return {
    url: running.url,
    client,
    config,
    close: async () => {
      config.close();
      await running.close();
      await services.responses.close();
      config.current().retire();
    },
  };
}

/** Every component schema of the extended spec, by name. */
export const specSchema = (() => {
  // OpenAI's schemas use formats ajv does not know (uri, unixtime): shapes are what is checked here.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "spec.json", components: extendedSpec().components });
  const cache = new Map<string, ValidateFunction>();
  return (name: string): ValidateFunction => {
    let v = cache.get(name);
    if (!v) cache.set(name, (v = ajv.getSchema(`spec.json#/components/schemas/${name}`)!));
    return v;
  };
})();

/** Fails the test unless `value` validates against the named component schema. */
export function expectSchemaValid(name: string, value: unknown): void {
  const validate = specSchema(name);
  if (!validate) throw new Error(`no schema ${name}`);
  const ok = validate(value);
  if (!ok) throw new Error(`${name} rejects ${JSON.stringify(value).slice(0, 500)}: ${JSON.stringify(validate.errors).slice(0, 1000)}`);
}
