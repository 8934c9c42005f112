/**
 * Model resolution, in order: a default name (`default`, `default-chat`, `default-fast-chat`,
 * `default-code-completion`); a registered name or alias; a model ref `provider::api_version::model`;
 * a legacy `provider/model` (name, alias or upstream id); a bare upstream model id that one model ref uses.
 *
 * Registrations are keyed as Sourcegraph keys them: by model ref. One name may be registered under
 * several providers; a bare name then picks the registration whose provider comes first (local models,
 * then providers.yaml order). One model ref may have several registrations serving disjoint endpoints;
 * the requested endpoint picks among them.
 */
import { endpoint, type EndpointId } from "../core/operations.js";
import { clipEcho, InvalidRequestError, ModelNotFoundError } from "../core/errors.js";
import type { DefaultModels, Registration } from "./registration.js";

/** The model names a client sends for a configured default, and the slot each selects. */
export const DEFAULT_MODEL_NAMES: Readonly<Record<string, keyof DefaultModels>> = {
  default: "chat",
  "default-chat": "chat",
  "default-fast-chat": "fast_chat",
  "default-code-completion": "code_completion",
};

const SLOT_WORDS: Record<keyof DefaultModels, string> = { chat: "chat", fast_chat: "fast chat", code_completion: "code completion" };

/** Model refs listed in the unknown-model error (Sourcegraph lists the models it knows). */
const MAX_LISTED_REFS = 10;

/** The provider id of registrations served by the embedded backends. */
export const LOCAL_PROVIDER = "understudy";

export interface ModelIndex {
  /** Name or alias -> its registrations, in bare-name order (local first, then providers.yaml order). */
  byName: ReadonlyMap<string, readonly Registration[]>;
  byRef: ReadonlyMap<string, readonly Registration[]>;
  registrations: readonly Registration[];
  defaults: DefaultModels;
  /** The id /v1/models shows for a registration: its name for the first provider, its model ref for the others. */
  listedId: ReadonlyMap<Registration, string>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** `providerOrder`: provider ids as providers.yaml lists them; registrations of other providers sort last. */
export function buildIndex(registrations: readonly Registration[], providerOrder: readonly string[] = [], defaults: DefaultModels = {}): ModelIndex {
  const rank = new Map<string, number>([[LOCAL_PROVIDER, -1], ...providerOrder.map((id, i) => [id, i] as const)]);
  const rankOf = (r: Registration) => rank.get(r.owned_by) ?? providerOrder.length;
  // A stable sort: registrations of one provider keep their load order.
  const ordered = [...registrations].sort((a, b) => rankOf(a) - rankOf(b));
  const byName = new Map<string, Registration[]>();
  const byRef = new Map<string, Registration[]>();
  for (const r of ordered) {
    for (const name of new Set([r.model, ...r.aliases])) push(byName, name, r);
    push(byRef, r.model_ref, r);
  }
  const listedId = new Map<Registration, string>();
  for (const r of ordered) {
    const first = byName.get(r.model)!.find((other) => other.model === r.model)!;
    listedId.set(r, first.model_ref === r.model_ref ? r.model : r.model_ref);
  }
  return { byName, byRef, registrations, defaults, listedId };
}

const serves = (wanted: EndpointId | undefined) => (r: Registration) => wanted === undefined || r.endpoints.includes(wanted);

/** Of one name's (or ref's) registrations, the first serving the endpoint, else the first (whose error says what it serves). */
function pick(candidates: readonly Registration[] | undefined, wanted?: EndpointId): Registration | undefined {
  if (!candidates || candidates.length === 0) return undefined;
  return candidates.find(serves(wanted)) ?? candidates[0];
}

function findLegacy(index: ModelIndex, name: string, wanted?: EndpointId): Registration | undefined {
  const slash = name.indexOf("/");
  if (slash <= 0) return undefined;
  const provider = name.slice(0, slash);
  const model = name.slice(slash + 1);
  const named = index.byName.get(model)?.filter((r) => r.owned_by === provider);
  if (named && named.length > 0) return pick(named, wanted);
  return pick(
    index.registrations.filter((r) => r.owned_by === provider && r.upstream_model === model),
    wanted,
  );
}

/** A bare upstream id is used only when every registration using it shares one model ref: never a guess. */
function findUpstream(index: ModelIndex, name: string, wanted?: EndpointId): Registration | undefined {
  const using = index.registrations.filter((r) => r.upstream_model === name);
  if (using.length === 0 || using.some((r) => r.model_ref !== using[0].model_ref)) return undefined;
  return pick(using, wanted);
}

export function findModel(index: ModelIndex, name: string, wanted?: EndpointId): Registration | undefined {
  const direct = pick(index.byName.get(name), wanted);
  if (direct) return direct;
  if (name.includes("::")) return pick(index.byRef.get(name), wanted);
  return findLegacy(index, name, wanted) ?? findUpstream(index, name, wanted);
}

function notFound(index: ModelIndex, name: string): ModelNotFoundError {
  const refs = [...index.byRef.keys()].sort();
  const names = [...new Set(index.registrations.map((r) => r.model))].sort();
  const listed = (items: string[]) =>
    `${items.slice(0, MAX_LISTED_REFS).join(", ")}${items.length > MAX_LISTED_REFS ? ` (and ${items.length - MAX_LISTED_REFS} more)` : ""}`;
  const echo = clipEcho(name);
  const available = names.length > 0 ? `Available models: ${listed(names)}. Model refs: ${listed(refs)}.` : "No models are registered.";
  // OpenAI's sentence first (clients match it), then Sourcegraph's, which Cody clients show.
  return new ModelNotFoundError(`The model '${echo}' does not exist: unable to find model "${echo}". ${available}`);
}

export function resolveModel(index: ModelIndex, name: string, wanted?: EndpointId): Registration {
  const slot = Object.hasOwn(DEFAULT_MODEL_NAMES, name) ? DEFAULT_MODEL_NAMES[name] : undefined;
  if (slot) {
    const configured = index.defaults[slot];
    if (!configured) throw new InvalidRequestError(`no default model is configured for ${SLOT_WORDS[slot]}`, "model", "no_default_model");
    // The load checked the default resolves: it is looked up as configured (a name, alias or ref).
    return resolveModel(index, configured, wanted);
  }
  const reg = findModel(index, name, wanted);
  if (!reg) throw notFound(index, name);
  if (wanted && !reg.endpoints.includes(wanted)) {
    const all = (index.byName.get(name) ?? index.byRef.get(name) ?? [reg]).flatMap((r) => r.endpoints);
    const serves = [...new Set(all)].map((e) => `${e} (${endpoint(e).path})`).join(", ");
    throw new InvalidRequestError(
      `The model '${clipEcho(name)}' is not registered for ${wanted} (${endpoint(wanted).path}); it serves: ${serves}.`,
      "model",
      "model_not_supported",
    );
  }
  return reg;
}
