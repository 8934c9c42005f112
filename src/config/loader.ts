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
import { defaultsFileSchema, providersFileSchema, registrationFileSchema } from "./schema.js";
import type { DefaultModels, Registration } from "./registration.js";
import { modelRoots, readRegistration } from "./read-registration.js";

export interface LoadedConfig {
  dir: string;
  revision: string;
  registrations: readonly Registration[];
  providers: readonly Provider[];
  defaultModels: DefaultModels;
  problems: readonly ConfigProblem[];
}

const SPECIAL = new Set(["providers.yaml", "providers.yml", "defaults.yaml", "defaults.yml"]);

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

function readDefaults(file: ParsedFile | undefined, registrations: Registration[]): DefaultModels {
  if (!file || file.doc === undefined || file.doc === null) return {};
  const validate = ajv.compile(defaultsFileSchema);
  if (!validate(file.doc)) {
    file.sink.addAjv(validate.errors ?? []);
    return {};
  }
  const defaults = file.doc as DefaultModels;
  const needs: Record<keyof DefaultModels, string> = { chat: "chat", fast_chat: "chat", code_completion: "code_completion" };
  for (const [slot, name] of Object.entries(defaults) as [keyof DefaultModels, string][]) {
    const reg = registrations.find((r) => r.model === name || r.aliases.includes(name));
    if (!reg) file.sink.add([slot], `'${name}' is not a registered model`);
    else if (!reg.capabilities.includes(needs[slot])) file.sink.add([slot], `'${name}' lacks the '${needs[slot]}' capability`);
  }
  return defaults;
}

function checkDuplicates(registrations: Registration[], sinks: Map<string, ProblemSink>): void {
  const owner = new Map<string, Registration>();
  for (const reg of registrations) {
    for (const [name, field] of [[reg.model, "registration.model"], ...reg.aliases.map((a) => [a, "registration.aliases"])] as [string, string][]) {
      const first = owner.get(name);
      if (first) {
        sinks.get(reg.file)!.add(field.split("."), `duplicate model name or alias '${name}' (already used by '${first.model}' in ${first.file})`);
      } else owner.set(name, reg);
    }
  }
}

function revisionOf(files: ParsedFile[]): string {
  const hash = crypto.createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.rel < b.rel ? -1 : 1))) hash.update(`${f.rel}\0${f.text}\0`);
  return hash.digest("hex").slice(0, 16);
}

export function loadConfig(dir: string): LoadedConfig {
  const root = path.resolve(dir);
  const empty = { dir: root, revision: "", registrations: [], providers: [], defaultModels: {} };
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
      if (!schema(entry)) return sink.addAjv(schema.errors ?? []);
      const reg = readRegistration(entry as Record<string, any>, {
        root,
        file: path.join(root, file.rel),
        rel: file.rel,
        mtime: file.mtime,
        sink,
        providers: providerMap,
        backend: backendModule,
      });
      if (reg) registrations.push(reg);
    });
  }
  checkDuplicates(registrations, sinks);
  const defaultModels = readDefaults(special("defaults"), registrations);
  const problems = files.flatMap((f) => f.sink.problems);
  return { dir: root, revision: revisionOf(files), registrations, providers, defaultModels, problems };
}
