/**
 * The registration a pull writes: `<config>/<name>.yaml`, last, atomically (a hidden temp file the
 * loader and watcher skip, then a rename), so the hot reload sees either no registration or the whole
 * one, and never one whose model file is still downloading.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { loadConfig } from "../config/loader.js";
import { DEFAULT_MODEL_NAMES } from "../config/resolve.js";
import type { GgufFacts } from "./gguf-check.js";
import { PULL_LIMITS } from "./pull-limits.js";
import { PullError } from "./pull-error.js";

/**
 * Stricter than a registration name (any non-whitespace): the name is also the YAML file's name, so
 * no path separators, no leading dot (hidden files are not loaded), a length a file system takes.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Files the loader reads as something other than a registration. */
const SPECIAL_FILE_NAMES = new Set(["providers", "defaults", "keys"]);

export function validateName(name: string): string {
  if (!NAME.test(name))
    throw new PullError(
      `invalid name '${name.slice(0, 96)}': 1-128 of letters, digits, '.', '_', '-', starting with a letter or digit (it names the YAML file too)`,
    );
  if (Object.hasOwn(DEFAULT_MODEL_NAMES, name)) throw new PullError(`'${name}' is reserved: it selects the default model`);
  if (SPECIAL_FILE_NAMES.has(name.toLowerCase()))
    throw new PullError(`'${name}' would be written as ${name}.yaml, a special config file: choose another --name`);
  return name;
}

/** The default name: the file's, lowercased, without `.gguf` or a split suffix (`Qwen2.5-0.5B-Instruct-Q4_K_M.gguf` → `qwen2.5-0.5b-instruct-q4_k_m`). */
export function nameFromFile(file: string): string {
  const stem = path
    .basename(file)
    .replace(/-\d{5}-of-\d{5}\.gguf$/i, "")
    .replace(/\.gguf$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 128);
  return stem || "model";
}

export const registrationPath = (configDir: string, name: string) => path.join(configDir, `${name}.yaml`);

/**
 * Refuses a name already taken: by the file this pull would write (unless --force), or by a model
 * name or alias of another file's registration (even with --force: that would be a duplicate).
 */
export function checkNameFree(configDir: string, name: string, force: boolean): void {
  const target = registrationPath(configDir, name);
  if (fs.existsSync(target) && !force) throw new PullError(`${target} exists: choose another --name, or --force to replace it`);
  const clash = loadConfig(configDir).registrations.find((r) => r.model === name || r.aliases.includes(name));
  if (clash && path.resolve(configDir, clash.file) !== path.resolve(target))
    throw new PullError(`'${name}' is already a model name or alias in ${clash.file}: choose another --name`);
}

export interface RegistrationInput {
  name: string;
  /** The model file, relative to the config directory (`models/x.gguf`). */
  modelPath: string;
  facts: GgufFacts;
  source: string;
  sha256?: string;
}

export function registrationYaml({ name, modelPath, facts, source, sha256 }: RegistrationInput): string {
  const contextSize = Math.min(facts.contextLength ?? PULL_LIMITS.contextSize.value, PULL_LIMITS.contextSize.value);
  const registration: Record<string, unknown> = { model: name, display_name: facts.name ? `${facts.name} (${name})` : name };
  if (facts.endpoints) registration.endpoints = facts.endpoints;
  // The window served is the context allocated, not the trained one: advertising more would invite prompts the server refuses.
  if (facts.contextLength !== undefined) registration.context_window = contextSize;
  registration.capabilities = facts.capabilities;
  const doc = { registration, local_settings: { backend: "llama-cpp", model: modelPath, context_size: contextSize } };
  const header = [
    `# Written by \`understudy pull ${source}\` on ${new Date().toISOString()}.`,
    `# GGUF: architecture ${facts.architecture}, trained context ${facts.contextLength ?? "unknown"}, chat template ${facts.hasChatTemplate ? "present" : "absent"}` +
      (sha256 ? `, sha256 ${sha256}` : "") +
      ".",
    `# context_size is capped at ${PULL_LIMITS.contextSize.value} (${PULL_LIMITS.contextSize.env}): raise it and context_window together to use more (memory grows with it).`,
  ];
  return `${header.join("\n")}\n${yaml.dump(doc, { lineWidth: 160, noRefs: true })}`;
}

/** Writes the registration atomically: a hidden temp file beside it (skipped by the loader), fsync, rename. */
export function writeRegistration(configDir: string, name: string, text: string): string {
  const target = registrationPath(configDir, name);
  const temp = path.join(configDir, `.${name}.yaml.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(temp, "wx", 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new PullError(`cannot write ${target}: ${(err as Error).message}`);
  }
  return target;
}
