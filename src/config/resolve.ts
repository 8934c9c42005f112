/**
 * Model resolution, in order: exact registered name; alias; model ref `provider::api_version::model`;
 * legacy `provider/model`; a bare upstream model id that exactly one registration uses.
 */
import { endpoint, type EndpointId } from "../core/operations.js";
import { clipEcho, InvalidRequestError, ModelNotFoundError } from "../core/errors.js";
import type { Registration } from "./registration.js";

export interface ModelIndex {
  byName: ReadonlyMap<string, Registration>;
  byAlias: ReadonlyMap<string, Registration>;
  registrations: readonly Registration[];
}

export function buildIndex(registrations: readonly Registration[]): ModelIndex {
  return {
    byName: new Map(registrations.map((r) => [r.model, r])),
    byAlias: new Map(registrations.flatMap((r) => r.aliases.map((a) => [a, r] as const))),
    registrations,
  };
}

export function findModel(index: ModelIndex, name: string): Registration | undefined {
  const direct = index.byName.get(name) ?? index.byAlias.get(name);
  if (direct) return direct;
  if (name.includes("::")) return index.registrations.find((r) => r.model_ref === name);
  const slash = name.indexOf("/");
  if (slash > 0) {
    const provider = name.slice(0, slash);
    const model = name.slice(slash + 1);
    const legacy = index.registrations.find((r) => r.owned_by === provider && (r.model === model || r.upstream_model === model));
    if (legacy) return legacy;
  }
  const upstream = index.registrations.filter((r) => r.upstream_model === name);
  return upstream.length === 1 ? upstream[0] : undefined;
}

export function resolveModel(index: ModelIndex, name: string, wanted?: EndpointId): Registration {
  const reg = findModel(index, name);
  if (!reg) {
    const names = index.registrations.map((r) => r.model).sort();
    const listed = names.slice(0, 10).join(", ");
    const more = names.length > 10 ? ` (and ${names.length - 10} more)` : "";
    throw new ModelNotFoundError(
      `The model '${clipEcho(name)}' does not exist. ${names.length > 0 ? `Available models: ${listed}${more}.` : "No models are registered."}`,
    );
  }
  if (wanted && !reg.endpoints.includes(wanted)) {
    const serves = reg.endpoints.map((e) => `${e} (${endpoint(e).path})`).join(", ");
    throw new InvalidRequestError(
      `The model '${clipEcho(name)}' is not registered for ${wanted} (${endpoint(wanted).path}); it serves: ${serves}.`,
      "model",
      "model_not_supported",
    );
  }
  return reg;
}
