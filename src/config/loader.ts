/**
 * Loads a config directory: every *.yaml / *.yml (recursively) holds one registration or a list;
 * `providers.yaml` and `defaults.yaml` at the top are special. Strict: every problem is collected
 * with its file, line and field, and a directory with any problem yields no snapshot.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { ajv } from "./config-ajv.js";
import { backendModule, backendKinds, providerProperties, upstreamKinds } from "../backends/registry.js";
import type { Provider } from "../backends/types.js";
import { findForbiddenKey } from "./merge.js";
import { ProblemSink, type ConfigProblem } from "./problems.js";
import { defaultsFileSchema, providersFileSchema, registrationFileSchema } from "./schema.js";
import type { DefaultModels, Registration } from "./registration.js";
import { readRegistration } from "./read-registration.js";

export interface LoadedConfig {
  dir: string;
  revision: string;
  registrations: readonly Registration[];
  providers: readonly Provider[];
  defaultModels: DefaultModels;
  problems: readonly ConfigProblem[];
}

const SPECIAL = new Set(["providers.yaml", "providers.yml", "defaults.yaml", "defaults.yml"]);

export function listYamlFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (/\.ya?ml$/.test(entry.name)) out.push(full);
    }
  };
  visit(dir);
  return out;
}

interface ParsedFile {
  rel: string;
  text: string;
  doc: unknown;
  sink: ProblemSink;
  mtime: number;
}

function parseFile(dir: string, file: string): ParsedFile {
  const rel = path.relative(dir, file);
  const text = fs.readFileSync(file, "utf8");
  const sink = new ProblemSink(rel, text);
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: rel, schema: yaml.CORE_SCHEMA });
  } catch (err) {
    const mark = (err as { mark?: { line: number } }).mark;
    sink.add([], `invalid YAML: ${(err as { reason?: string }).reason ?? String(err)}`, (mark?.line ?? 0) + 1);
  }
  const forbidden = findForbiddenKey(doc);
  if (forbidden) sink.add(forbidden.split("."), `the key '${forbidden.split(".").pop()}' is not allowed`);
  return { rel, text, doc, sink, mtime: Math.floor(fs.statSync(file).mtimeMs / 1000) };
}

function readProviders(file: ParsedFile | undefined): Provider[] {
  if (!file || file.doc === undefined || file.doc === null) return [];
  const validate = ajv.compile(providersFileSchema(upstreamKinds(), providerProperties()));
  if (!validate(file.doc)) {
    file.sink.addAjv(validate.errors ?? []);
    return [];
  }
  const providers = (file.doc as Record<string, any>[]).map((p) => ({
    ...p,
    display_name: p.display_name ?? p.id,
    api_version: p.api_version ?? "v1",
    debug_connections: p.debug_connections === true,
    endpoints: p.endpoints.map((e: Record<string, unknown>) => ({ ...e, weight: e.weight ?? 1 })),
  })) as Provider[];
  const seen = new Set<string>();
  providers.forEach((p, i) => {
    if (seen.has(p.id)) file.sink.add([i, "id"], `duplicate provider id '${p.id}'`);
    seen.add(p.id);
  });
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
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    const problem = { file: dir, line: 0, field: "", message: "config directory does not exist" };
    return { dir: root, revision: "", registrations: [], providers: [], defaultModels: {}, problems: [problem] };
  }
  const files = listYamlFiles(root).map((f) => parseFile(root, f));
  const special = (name: string) => files.find((f) => f.rel === `${name}.yaml` || f.rel === `${name}.yml`);
  const providers = readProviders(special("providers"));
  const providerMap = new Map(providers.map((p) => [p.id, p]));
  const registrations: Registration[] = [];
  const sinks = new Map<string, ProblemSink>();
  const schema = ajv.compile(registrationFileSchema(backendKinds()));
  for (const file of files.filter((f) => !SPECIAL.has(f.rel))) {
    sinks.set(file.rel, file.sink);
    if (file.sink.problems.length > 0) continue;
    const entries = Array.isArray(file.doc) ? file.doc : [file.doc];
    if (file.doc === undefined || file.doc === null) file.sink.add([], "the file is empty: expected a registration or a list of them");
    entries.forEach((entry, i) => {
      const sink = Array.isArray(file.doc) ? file.sink.at([i]) : file.sink;
      if (!schema(entry)) return sink.addAjv(schema.errors ?? []);
      const reg = readRegistration(entry as Record<string, any>, { root, file: path.join(root, file.rel), rel: file.rel, mtime: file.mtime, sink, providers: providerMap, backend: backendModule });
      if (reg) registrations.push(reg);
    });
  }
  checkDuplicates(registrations, sinks);
  const defaultModels = readDefaults(special("defaults"), registrations);
  const problems = files.flatMap((f) => f.sink.problems);
  return { dir: root, revision: revisionOf(files), registrations, providers, defaultModels, problems };
}
