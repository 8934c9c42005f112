/**
 * Loads a config directory: every *.yaml / *.yml (recursively) holds one registration or a list;
 * `providers.yaml` and `defaults.yaml` at the top are special. Strict: every problem is collected
 * with its file, line and field, and a directory with any problem yields no snapshot.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ajv } from "./config-ajv.js";
import {
  backendModule,
  backendKinds,
  checkProvider,
  defaultProviderEndpoint,
  kindsWithDefaultEndpoint,
  providerProperties,
  upstreamKinds,
} from "../backends/registry.js";
import type { Provider } from "../backends/types.js";
import { directoryProblem, readConfigFiles, type ParsedFile } from "./config-files.js";
import { describeLimit } from "../core/env-limit.js";
import { CONFIG_LIMITS } from "./config-limits.js";
import { pathDisplay, type ProblemSink, type ConfigProblem } from "./problems.js";
import { defaultModelsFileSchema, defaultsFileSchema, providersFileSchema, registrationFileSchema } from "./schema.js";
import type { DefaultModels, Registration } from "./registration.js";
import { modelRoots, readRegistration } from "./read-registration.js";
import { buildIndex, DEFAULT_MODEL_NAMES, findModel, type ModelIndex } from "./resolve.js";
import { applyPreset, shippedPresets } from "./presets.js";
import { KEYS_FILE_NAMES, readKeys, type KeyTable } from "./keys.js";

export interface LoadedConfig {
  dir: string;
  revision: string;
  registrations: readonly Registration[];
  providers: readonly Provider[];
  defaultModels: DefaultModels;
  /** defaults.yaml's `recommended` model refs (Sourcegraph's modelOverridesRecommendedSettings). */
  recommended: readonly string[];
  problems: readonly ConfigProblem[];
  /** keys.yaml's API keys; undefined when it lists none (the server is open, on loopback only). */
  keys?: KeyTable;
}

const SPECIAL = new Set(["providers.yaml", "providers.yml", "defaults.yaml", "defaults.yml", ...KEYS_FILE_NAMES]);

function readProviders(file: ParsedFile | undefined): Provider[] {
  if (!file || file.doc === undefined || file.doc === null) return [];
  const validate = ajv.compile(providersFileSchema(upstreamKinds(), providerProperties(), kindsWithDefaultEndpoint()));
  if (!validate(file.doc)) {
    file.sink.addAjv(validate.errors ?? []);
    return [];
  }
  const providers = (file.doc as Record<string, any>[]).map((p) => ({
    ...p,
    display_name: p.display_name ?? p.id,
    api_version: p.api_version ?? "v1",
    debug_connections: p.debug_connections === true,
    // The schema lets a provider leave out endpoints only when its type has a default one.
    endpoints: (p.endpoints ?? [defaultProviderEndpoint(p.type)]).map((e: Record<string, unknown>) => ({ ...e, weight: e.weight ?? 1 })),
  })) as Provider[];
  const seen = new Set<string>();
  providers.forEach((p, i) => {
    if (seen.has(p.id)) file.sink.add([i, "id"], `duplicate provider id '${p.id}'`);
    seen.add(p.id);
  });
  // What a provider's type adds to the schema (e.g. a URL its protocol cannot use).
  providers.forEach((p, i) => checkProvider(p, (at, message) => file.sink.add([i, ...at], message)));
  return providers;
}

/** The capabilities that qualify a model for each default slot (any one of them). */
const SLOT_NEEDS: Record<keyof DefaultModels, readonly string[]> = {
  chat: ["chat"],
  fast_chat: ["chat"],
  code_completion: ["code_completion"],
};

function checkDefault(file: ParsedFile, at: string[], name: string, slot: keyof DefaultModels, index: ModelIndex): void {
  if (Object.hasOwn(DEFAULT_MODEL_NAMES, name)) return file.sink.add(at, `'${name}' names a default itself: give a model`);
  const reg = findModel(index, name);
  // A model ref may have one registration per endpoint: the capability may be any one's.
  const group = reg ? (index.byRef.get(reg.model_ref) ?? [reg]) : [];
  const needs = SLOT_NEEDS[slot];
  if (!reg) file.sink.add(at, `'${name}' is not a registered model`);
  else if (!group.some((r) => r.capabilities.some((c) => needs.includes(c)))) file.sink.add(at, `'${name}' lacks the '${needs[0]}' capability`);
}

/** defaults.yaml in either shape: `default_models:` and `recommended:`, or (the first shape) the slots at the top level. */
function readDefaults(file: ParsedFile | undefined, index: ModelIndex): { defaultModels: DefaultModels; recommended: string[] } {
  const none = { defaultModels: {}, recommended: [] };
  if (!file || file.doc === undefined || file.doc === null) return none;
  const doc = file.doc as Record<string, unknown>;
  const nested = typeof doc === "object" && !Array.isArray(doc) && ("default_models" in doc || "recommended" in doc);
  const validate = ajv.compile(nested ? defaultModelsFileSchema : defaultsFileSchema);
  if (!validate(doc)) {
    file.sink.addAjv(validate.errors ?? []);
    return none;
  }
  const defaultModels = (nested ? (doc.default_models ?? {}) : doc) as DefaultModels;
  for (const [slot, name] of Object.entries(defaultModels) as [keyof DefaultModels, string][]) {
    checkDefault(file, nested ? ["default_models", slot] : [slot], name, slot, index);
  }
  const recommended = (doc.recommended ?? []) as string[];
  recommended.forEach((ref, i) => {
    if (!index.byRef.has(ref)) file.sink.add(["recommended", i], `'${ref}' is not the model ref of a registration (provider::api_version::model)`);
  });
  return { defaultModels, recommended };
}

/**
 * Registrations are keyed by provider and name (or alias): one name may be registered under several
 * providers, and under one provider several times if the endpoints they serve do not overlap.
 */
function checkDuplicates(registrations: Registration[], sinks: Map<string, ProblemSink>): void {
  const owners = new Map<string, { reg: Registration; field: string }[]>();
  const lineOf = (reg: Registration, field: string) =>
    sinks
      .get(reg.file)!
      .at(reg.entry === undefined ? [] : [reg.entry])
      .lineOf(field.split("."));
  for (const reg of registrations) {
    for (const [name, field] of [[reg.model, "registration.model"], ...reg.aliases.map((a) => [a, "registration.aliases"])] as [string, string][]) {
      const key = `${reg.owned_by}\0${name}`;
      const earlier = owners.get(key) ?? [];
      const clash = earlier.find((e) => e.reg.endpoints.some((ep) => reg.endpoints.includes(ep)));
      if (clash) {
        const both = clash.reg.endpoints.filter((ep) => reg.endpoints.includes(ep)).join(", ");
        const sink = sinks.get(reg.file)!.at(reg.entry === undefined ? [] : [reg.entry]);
        sink.add(
          field.split("."),
          `duplicate model name or alias '${name}' (already used by '${clash.reg.model}' in ${clash.reg.file}) under provider '${reg.owned_by}': ` +
            `${clash.reg.file}:${lineOf(clash.reg, clash.field)} and ${reg.file}:${lineOf(reg, field)} both serve ${both}; ` +
            `one name may be registered once per provider, or once per endpoint`,
        );
      } else owners.set(key, [...earlier, { reg, field }]);
    }
  }
}

/** Names a client sends to select a default model: a registration may not take them. */
function checkReservedNames(registrations: Registration[], sinks: Map<string, ProblemSink>): void {
  for (const reg of registrations) {
    for (const [name, field] of [[reg.model, "model"], ...reg.aliases.map((a) => [a, "aliases"])] as [string, string][]) {
      if (Object.hasOwn(DEFAULT_MODEL_NAMES, name))
        sinks
          .get(reg.file)!
          .at(reg.entry === undefined ? [] : [reg.entry])
          .add(["registration", field], `'${name}' is reserved: it selects the default model`);
    }
  }
}

/** The entry with its preset applied; undefined (a problem) for an unknown preset. */
function withPreset(entry: unknown, sink: ProblemSink): unknown {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry) || !("preset" in entry)) return entry;
  const name = (entry as Record<string, unknown>).preset;
  const preset = typeof name === "string" ? shippedPresets().get(name) : undefined;
  if (!preset) {
    sink.add(
      ["preset"],
      `unknown preset '${typeof name === "string" ? name : String(name)}' (the presets are: ${[...shippedPresets().keys()].sort().join(", ")})`,
    );
    return undefined;
  }
  return applyPreset(entry as Record<string, unknown>, preset);
}

function revisionOf(files: ParsedFile[]): string {
  const hash = crypto.createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.rel < b.rel ? -1 : 1))) hash.update(`${f.rel}\0${f.text}\0`);
  return hash.digest("hex").slice(0, 16);
}

export function loadConfig(dir: string): LoadedConfig {
  const root = path.resolve(dir);
  const empty = { dir: root, revision: "", registrations: [], providers: [], defaultModels: {}, recommended: [] };
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    // "." and not the path: problems are served by /health, which shows no absolute paths.
    return { ...empty, problems: [directoryProblem("config directory does not exist")] };
  }
  const read = readConfigFiles(root, pathDisplay(root, modelRoots(root)));
  if (read.problems.length > 0) return { ...empty, problems: [...read.problems, ...read.files.flatMap((f) => f.sink.problems)] };
  const files = read.files;
  const registrationFiles = files.filter((f) => !SPECIAL.has(f.rel));
  // Each registration costs file-system checks: thousands of aliased copies of one must not stall a reload.
  const entries = registrationFiles.reduce((n, f) => n + (Array.isArray(f.doc) ? f.doc.length : 1), 0);
  if (entries > CONFIG_LIMITS.registrations.value) {
    return {
      ...empty,
      problems: [directoryProblem(`the directory holds more registrations than the limit of ${describeLimit(CONFIG_LIMITS.registrations, "registrations")}`)],
    };
  }
  const special = (name: string) => files.find((f) => f.rel === `${name}.yaml` || f.rel === `${name}.yml`);
  const providers = readProviders(special("providers"));
  const providerMap = new Map(providers.map((p) => [p.id, p]));
  const registrations: Registration[] = [];
  const sinks = new Map<string, ProblemSink>();
  const schema = ajv.compile(registrationFileSchema(backendKinds()));
  for (const file of registrationFiles) {
    sinks.set(file.rel, file.sink);
    if (file.sink.count > 0) continue;
    const entries = Array.isArray(file.doc) ? file.doc : [file.doc];
    if (file.doc === undefined || file.doc === null) file.sink.add([], "the file is empty: expected a registration or a list of them");
    entries.forEach((entry, i) => {
      const sink = Array.isArray(file.doc) ? file.sink.at([i]) : file.sink;
      const full = withPreset(entry, sink);
      if (full === undefined) return;
      if (!schema(full)) return sink.addAjv(schema.errors ?? []);
      const reg = readRegistration(full as Record<string, any>, {
        root,
        file: path.join(root, file.rel),
        rel: file.rel,
        mtime: file.mtime,
        sink,
        entry: Array.isArray(file.doc) ? i : undefined,
        providers: providerMap,
        backend: backendModule,
      });
      if (reg) registrations.push(reg);
    });
  }
  checkDuplicates(registrations, sinks);
  checkReservedNames(registrations, sinks);
  const index = buildIndex(
    registrations,
    providers.map((p) => p.id),
  );
  const { defaultModels, recommended } = readDefaults(special("defaults"), index);
  const keys = readKeys(special("keys"));
  const problems = files.flatMap((f) => f.sink.problems);
  return { dir: root, revision: revisionOf(files), registrations, providers, defaultModels, recommended, problems, keys };
}
