/**
 * Writing keys.yaml (`understudy keys add`): a new random key is made here, its SHA-256 hash is
 * appended to the file, and the key itself is handed back once, to be printed and never stored.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import type { ApiKey } from "../core/api-key.js";
import { parseFile } from "./config-files.js";
import { KEYS_FILE_NAMES, isIsoDateTime, readKeys, sha256Hex } from "./keys.js";
import { formatProblem, pathDisplay, ProblemSink, type ConfigProblem } from "./problems.js";

/** Random bytes in a new key: 256 bits, as OpenAI's and LiteLLM's keys carry. */
const KEY_BYTES = 32;
const KEY_PREFIX = "us-";

export interface NewKeyOptions {
  role?: string;
  models?: readonly string[];
  rpm?: number;
  tpm?: number;
  max_concurrent?: number;
  expires?: string;
}

export class KeysFileError extends Error {}

/** keys.yaml of `dir` (an existing keys.yml is used instead). */
export function keysFilePath(dir: string): string {
  const existing = KEYS_FILE_NAMES.map((n) => path.join(dir, n)).find((f) => fs.existsSync(f));
  return existing ?? path.join(dir, KEYS_FILE_NAMES[0]);
}

/** The keys the file lists now (none when it does not exist); throws KeysFileError listing its problems. */
export function readKeysFile(dir: string): { file: string; text: string; keys: readonly ApiKey[] } {
  const root = path.resolve(dir);
  const file = keysFilePath(root);
  if (!fs.existsSync(file)) return { file, text: "", keys: [] };
  const parsed = parseFile(root, pathDisplay(root, []), file);
  const table = readKeys(parsed);
  if (parsed.sink.count > 0) throw new KeysFileError(problemsText(parsed.sink.problems));
  return { file, text: parsed.text, keys: table?.keys() ?? [] };
}

const problemsText = (problems: readonly ConfigProblem[]) => problems.map(formatProblem).join("\n");

function checkOptions(name: string, opts: NewKeyOptions): void {
  if (!/^[^\s]{1,128}$/.test(name)) throw new KeysFileError(`invalid key name '${name}': 1 to 128 characters, no spaces`);
  if (opts.role !== undefined && opts.role !== "user" && opts.role !== "admin") throw new KeysFileError(`--role must be user or admin, not '${opts.role}'`);
  for (const field of ["rpm", "tpm", "max_concurrent"] as const) {
    const v = opts[field];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new KeysFileError(`--${field.replace("_", "-")} must be a positive integer`);
  }
  if (opts.expires !== undefined && !isIsoDateTime(opts.expires))
    throw new KeysFileError(`--expires must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z`);
  if (opts.models !== undefined && opts.models.some((m) => m === "")) throw new KeysFileError("--models lists an empty name");
}

/** The file's text with `entry` appended as one more list item (comments kept); rewritten whole when the text cannot take an item appended. */
function withEntry(text: string, existing: number, entry: Record<string, unknown>): string {
  const item = yaml.dump([entry], { lineWidth: -1 });
  if (text.trim() === "") return item;
  const appended = `${text.endsWith("\n") ? text : `${text}\n`}${item}`;
  try {
    const doc = yaml.load(appended, { schema: yaml.CORE_SCHEMA });
    if (Array.isArray(doc) && doc.length === existing + 1) return appended;
  } catch {
    // A flow list (`[]`) cannot take a block item: rewritten below.
  }
  const doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  return yaml.dump([...(Array.isArray(doc) ? doc : []), entry], { lineWidth: -1 });
}

/**
 * Makes a key, appends its entry (hash only) to keys.yaml (created, readable by its owner only),
 * and answers the key: the only time it exists outside the client's hands. Refuses a name in use.
 */
export function addKey(dir: string, name: string, opts: NewKeyOptions): { key: string; file: string } {
  checkOptions(name, opts);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new KeysFileError(`config directory ${dir} does not exist`);
  const { file, text, keys } = readKeysFile(dir);
  if (keys.some((k) => k.name === name)) throw new KeysFileError(`a key named '${name}' already exists in ${file}`);
  const key = `${KEY_PREFIX}${crypto.randomBytes(KEY_BYTES).toString("base64url")}`;
  const entry: Record<string, unknown> = { name, role: opts.role ?? "user", key_sha256: sha256Hex(key) };
  if (opts.models !== undefined) entry.models = [...opts.models];
  for (const field of ["rpm", "tpm", "max_concurrent", "expires"] as const) if (opts[field] !== undefined) entry[field] = opts[field];
  const next = withEntry(text, keys.length, entry);
  checkText(file, next);
  fs.writeFileSync(file, next, { mode: 0o600 });
  return { key, file };
}

/** The new text must read as the server will read it: a key added must never break the config. */
function checkText(file: string, text: string): void {
  const sink = new ProblemSink(path.basename(file), text);
  readKeys({ rel: path.basename(file), text, doc: yaml.load(text, { schema: yaml.CORE_SCHEMA }), sink, mtime: 0, nodes: 0 });
  if (sink.count > 0) throw new KeysFileError(problemsText(sink.problems));
}
