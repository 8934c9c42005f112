import fs from "node:fs";
import type { JsonSchema, SettingsCheckContext } from "../types.js";
import { checkTemplateFile } from "./template-check.js";

export interface LlamaCppSettings {
  model: string;
  template?: string;
  threads?: number;
  context_size: number;
  batch_size?: number;
  gpu_layers: "auto" | number;
  parallel: number;
  queue_limit: number;
  embeddings: boolean;
  load: "eager" | "lazy";
  idle_unload_s?: number;
  seed?: number;
}

export const llamaCppSettingsSchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["model"],
  properties: {
    model: { type: "string", minLength: 1, description: "GGUF file; relative paths resolve against the registration file" },
    template: { type: "string", minLength: 1, description: "Jinja chat template file (default: the GGUF's own)" },
    threads: { type: "integer", minimum: 1 },
    context_size: { type: "integer", minimum: 16 },
    batch_size: { type: "integer", minimum: 1 },
    gpu_layers: { anyOf: [{ const: "auto" }, { type: "integer", minimum: 0 }] },
    parallel: { type: "integer", minimum: 1, maximum: 64 },
    queue_limit: { type: "integer", minimum: 0 },
    embeddings: { type: "boolean" },
    load: { enum: ["eager", "lazy"] },
    idle_unload_s: { type: "integer", minimum: 1 },
  },
};

export const SETTINGS_DEFAULTS = { context_size: 2048, gpu_layers: "auto", parallel: 1, queue_limit: 16, embeddings: true, load: "lazy" } as const;

/** Whether `file` is a readable regular file (else a problem). Paths in messages are shown relative to the config directory by the loader. */
function checkReadable(ctx: SettingsCheckContext, field: string, file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    if (fs.statSync(file).isFile()) return true;
    ctx.problem(field, `'${file}' is not a file`);
  } catch {
    ctx.problem(field, `cannot read '${file}' (missing or unreadable)`);
  }
  return false;
}

/**
 * Resolves the model and template paths and checks they can be read, and renders the template
 * against sample conversations in a child process (a config error, not a request-time crash).
 */
export function checkLlamaCppSettings(ctx: SettingsCheckContext): void {
  const s = ctx.settings;
  for (const field of ["model", "template"] as const) {
    if (typeof s[field] !== "string") continue;
    const resolved = ctx.resolvePath(field, s[field] as string);
    if (!resolved) continue;
    s[field] = resolved;
    if (!checkReadable(ctx, field, resolved) || field !== "template") continue;
    const problem = checkTemplateFile(resolved);
    if (problem) ctx.problem(field, `'${resolved}': ${problem}`);
  }
  for (const [k, v] of Object.entries(SETTINGS_DEFAULTS)) if (s[k] === undefined) s[k] = v;
}
