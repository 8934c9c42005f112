/**
 * Recommended settings per model family, shipped in `presets/` (one YAML file per preset, named by
 * its file): a `client_side_config` and `request_defaults`. A registration takes one with
 * `preset: <name>`; its own fields override the preset's, key by key. The shipped files are read
 * once (they change with the package, not with the config directory) and checked like config files.
 */
import fs from "node:fs";
import path from "node:path";
import { ajv } from "./config-ajv.js";
import { listYamlFiles, parseFile } from "./config-files.js";
import { clientSideConfigSchema } from "./client-side-config.js";
import { formatProblem } from "./problems.js";
import { projectRoot } from "../core/paths.js";

export interface Preset {
  description?: string;
  /** The family's fill-in-the-middle tokens, for reference (prompt templates); null for a chat-only family. */
  fim_tokens?: Record<string, string> | null;
  client_side_config?: Record<string, unknown>;
  request_defaults?: Record<string, unknown>;
}

export const presetFileSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    description: { type: "string" },
    fim_tokens: {
      type: ["object", "null"],
      additionalProperties: false,
      required: ["prefix", "suffix", "middle"],
      properties: { prefix: { type: "string" }, suffix: { type: "string" }, middle: { type: "string" }, file_separator: { type: "string" } },
    },
    client_side_config: clientSideConfigSchema,
    request_defaults: { type: "object" },
  },
};

export const presetsDir = () => path.join(projectRoot(), "presets");

let cached: ReadonlyMap<string, Preset> | undefined;

/** The shipped presets by name; a broken shipped preset is a packaging bug, so it throws. */
export function shippedPresets(): ReadonlyMap<string, Preset> {
  if (cached) return cached;
  const dir = presetsDir();
  const validate = ajv.compile(presetFileSchema);
  const presets = new Map<string, Preset>();
  for (const file of fs.existsSync(dir) ? listYamlFiles(dir).files : []) {
    const parsed = parseFile(dir, { bases: [] }, file);
    if (parsed.doc !== undefined && !validate(parsed.doc)) parsed.sink.addAjv(validate.errors ?? []);
    if (parsed.sink.count > 0) throw new Error(`invalid preset: ${parsed.sink.problems.map(formatProblem).join("; ")}`);
    presets.set(path.basename(file).replace(/\.ya?ml$/, ""), Object.freeze(parsed.doc as Preset));
  }
  cached = presets;
  return presets;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The entry with the preset's blocks under its own: the registration's keys win. */
export function applyPreset(entry: Record<string, unknown>, preset: Preset): Record<string, unknown> {
  const out: Record<string, unknown> = { ...entry };
  for (const key of ["client_side_config", "request_defaults"] as const) {
    const own = entry[key];
    const base = preset[key];
    if (base === undefined) continue;
    out[key] = own === undefined ? base : isPlain(own) ? { ...base, ...own } : own;
  }
  return out;
}
