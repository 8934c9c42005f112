/** The model catalogue: OpenAI's /v1/models shape, and the full models.json in the model-configuration shape. */
import type { Registration } from "./registration.js";
import type { LoadedConfig } from "./loader.js";
import { buildIndex, findModel, type ModelIndex } from "./resolve.js";
import type { ApiKey } from "../core/api-key.js";
import { modelAllowed } from "./keys.js";

/** `id`: how /v1/models lists it (its name, or its model ref when another provider's registration has the name). */
export function modelObject(reg: Registration, id = reg.model) {
  return {
    id,
    object: "model" as const,
    created: reg.created,
    owned_by: reg.owned_by,
    display_name: reg.display_name,
    context_window: reg.context_window ?? null,
    max_output_tokens: reg.max_output_tokens ?? null,
    capabilities: reg.capabilities,
    status: reg.status,
    aliases: reg.aliases,
  };
}

/** /v1/models: each name once (its first provider's registration), the others by model ref; one entry per model ref. Only the models `key` may use. */
export function listedModels(index: ModelIndex, key?: ApiKey) {
  const seen = new Set<string>();
  const out: ReturnType<typeof modelObject>[] = [];
  for (const reg of index.registrations) {
    if (!modelAllowed(key, reg)) continue;
    const id = index.listedId.get(reg) ?? reg.model;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(modelObject(reg, id));
  }
  return out;
}

export const SCHEMA_VERSION = "1.0";

/** The config as a key sees it: the registrations its allow-list names (all of them without a key or a list). */
export function allowedConfig<T extends { registrations: readonly Registration[] }>(config: T, key: ApiKey | undefined): T {
  if (key?.models === undefined) return config;
  return { ...config, registrations: config.registrations.filter((r) => modelAllowed(key, r)) };
}

export type CatalogueInput = Pick<LoadedConfig, "revision" | "registrations" | "providers" | "defaultModels">;

export const indexOf = (config: CatalogueInput) =>
  buildIndex(
    config.registrations,
    config.providers.map((p) => p.id),
    config.defaultModels,
  );

/** The model ref a configured default (a name, alias, ref or legacy id) names. */
export const defaultRef = (index: ModelIndex, name: string | undefined) => (name === undefined ? null : (findModel(index, name)?.model_ref ?? null));

export function catalogue(config: CatalogueInput) {
  const index = indexOf(config);
  const refOf = (name: string | undefined) => defaultRef(index, name);
  return {
    schema_version: SCHEMA_VERSION,
    revision: config.revision,
    providers: [
      { id: "understudy", display_name: "Understudy (embedded)", type: "embedded", api_version: "v1" },
      ...config.providers.map((p) => ({ id: p.id, display_name: p.display_name, type: p.type, api_version: p.api_version })),
    ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    models: [...config.registrations]
      .sort((a, b) => (a.model < b.model ? -1 : 1))
      .map((r) => ({
        model_ref: r.model_ref,
        model_name: r.model,
        display_name: r.display_name,
        aliases: r.aliases,
        capabilities: r.capabilities,
        context_window: r.context_window ?? null,
        max_output_tokens: r.max_output_tokens ?? null,
        status: r.status,
        endpoints: r.endpoints,
      })),
    default_models: {
      chat: refOf(config.defaultModels.chat),
      fast_chat: refOf(config.defaultModels.fast_chat),
      code_completion: refOf(config.defaultModels.code_completion),
    },
  };
}

/** JSON with keys sorted at every level: the same config gives the same bytes. */
export function stableJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}
