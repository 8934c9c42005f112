/**
 * `keys.yaml` at the top of the config directory: the API keys the server accepts, LiteLLM's
 * "virtual keys". Each is held by its SHA-256 hash only, so a leaked config leaks no key. Read with
 * the rest of the directory (bounded, hot-reloaded, a problem is a load problem with file and line).
 */
import crypto from "node:crypto";
import type { ValidateFunction } from "ajv";
import type { ApiKey } from "../core/api-key.js";
import { ajv } from "./config-ajv.js";
import type { ParsedFile } from "./config-files.js";
import type { Registration } from "./registration.js";
import { ApiError, ModelNotAllowedError, ModelNotFoundError } from "../core/errors.js";
import type { EndpointId } from "../core/operations.js";
import { findModel, resolveModel, type ModelIndex } from "./resolve.js";

export const KEYS_FILE_NAMES = ["keys.yaml", "keys.yml"] as const;

/** Fields people put a key itself in: refused with a message that says why (a plain `unknown key` would not). */
const PLAINTEXT_FIELDS = ["key", "api_key", "apikey", "secret", "token", "plaintext", "value", "password"];

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

const positive = { type: "integer", minimum: 1 };

export const keysFileSchema = {
  type: "array",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["name", "key_sha256"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 128, pattern: "^[^\\s]+$" },
      role: { enum: ["user", "admin"] },
      key_sha256: { type: "string", pattern: HEX_SHA256.source },
      models: { type: "array", uniqueItems: true, items: { type: "string", minLength: 1, maxLength: 512 } },
      rpm: positive,
      tpm: positive,
      max_concurrent: positive,
      expires: { type: "string", minLength: 1 },
    },
  },
};

/** An ISO 8601 date-time with a time zone (`2027-01-31T00:00:00Z`); a bare date is UTC midnight. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

export const isIsoDateTime = (text: string) => ISO_DATE_TIME.test(text) && !Number.isNaN(Date.parse(text));

export const sha256Hex = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("hex");

interface KeyEntry {
  key: ApiKey;
  hash: Buffer;
}

/** The keys of one snapshot, by hash. */
export class KeyTable {
  constructor(private readonly byHash: ReadonlyMap<string, KeyEntry>) {}

  get size(): number {
    return this.byHash.size;
  }

  /**
   * The key presented, if any key has its hash. Looked up by hash (a map lookup reveals nothing
   * about the key: an attacker controls the key, not its hash), then confirmed in constant time.
   */
  find(presented: string): ApiKey | undefined {
    const digest = crypto.createHash("sha256").update(presented, "utf8").digest();
    const entry = this.byHash.get(digest.toString("hex"));
    return entry !== undefined && crypto.timingSafeEqual(digest, entry.hash) ? entry.key : undefined;
  }

  keys(): ApiKey[] {
    return [...this.byHash.values()].map((e) => e.key);
  }
}

/** Each restricted key's allow-list, compiled once at load: names and refs exactly, globs (`*`, `?`) as anchored patterns. */
const allowLists = new WeakMap<ApiKey, (name: string) => boolean>();

function compileAllowList(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns
    .filter((p) => /[*?]/.test(p))
    .map((p) => {
      // Runs of `*` collapse: `a**b` is `a*b`, and no pattern backtracks more than it must.
      const body = p
        .replace(/\*+/g, "*")
        .split("")
        .map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("");
      return new RegExp(`^${body}$`);
    });
  return (name) => exact.has(name) || globs.some((g) => g.test(name));
}

/** Whether the key may use the registration: its allow-list matches the model's name, an alias or its model ref. Keys without a list may use every model. */
export function modelAllowed(key: ApiKey | undefined, reg: Registration): boolean {
  if (key === undefined || key.models === undefined) return true;
  let allows = allowLists.get(key);
  if (allows === undefined) {
    allows = compileAllowList(key.models);
    allowLists.set(key, allows);
  }
  return allows(reg.model) || allows(reg.model_ref) || reg.aliases.some(allows);
}

/**
 * Model resolution for a key with an allow-list: a model outside the list and a model that does not
 * exist are the same 403, and so is one the list excludes that is not registered for the endpoint
 * (whose 400 would name what it serves). Errors that say nothing of the models (no default configured) pass.
 */
export function resolveForKey(index: ModelIndex, name: string, endpoint: EndpointId | undefined, key: ApiKey): Registration {
  let reg: Registration;
  try {
    reg = resolveModel(index, name, endpoint);
  } catch (err) {
    if (err instanceof ModelNotFoundError) throw new ModelNotAllowedError(name, key.name);
    if (err instanceof ApiError && err.code === "model_not_supported") {
      const found = findModel(index, name);
      if (found === undefined || !modelAllowed(key, found)) throw new ModelNotAllowedError(name, key.name);
    }
    throw err;
  }
  if (!modelAllowed(key, reg)) throw new ModelNotAllowedError(name, key.name);
  return reg;
}

function readEntry(entry: Record<string, unknown>): ApiKey {
  const key: ApiKey = {
    name: entry.name as string,
    role: (entry.role as ApiKey["role"] | undefined) ?? "user",
    ...(entry.models !== undefined && { models: Object.freeze([...(entry.models as string[])]) }),
    ...(entry.rpm !== undefined && { rpm: entry.rpm as number }),
    ...(entry.tpm !== undefined && { tpm: entry.tpm as number }),
    ...(entry.max_concurrent !== undefined && { max_concurrent: entry.max_concurrent as number }),
    ...(entry.expires !== undefined && { expires: Date.parse(entry.expires as string) }),
  };
  Object.freeze(key);
  if (key.models !== undefined) allowLists.set(key, compileAllowList(key.models));
  return key;
}

/** Problems the schema cannot say: a key in plaintext, an unreadable expiry, a name or hash used twice. */
function checkEntries(file: ParsedFile, entries: Record<string, unknown>[]): void {
  const names = new Set<string>();
  const hashes = new Set<string>();
  entries.forEach((entry, i) => {
    const name = entry.name as string;
    const hash = (entry.key_sha256 as string).toLowerCase();
    if (typeof entry.expires === "string" && !isIsoDateTime(entry.expires))
      file.sink.add([i, "expires"], "must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z");
    if (names.has(name)) file.sink.add([i, "name"], `duplicate key name '${name}'`);
    if (hashes.has(hash)) file.sink.add([i, "key_sha256"], `the same key hash is listed twice (also before '${name}')`);
    names.add(name);
    hashes.add(hash);
  });
}

let validateKeysFile: ValidateFunction | undefined;

/**
 * The keys of `keys.yaml`; undefined when there is no file or it lists no key (the server is then
 * open, on loopback only). Problems go to the file's sink: with any, the directory yields no snapshot.
 */
export function readKeys(file: ParsedFile | undefined): KeyTable | undefined {
  if (!file || file.doc === undefined || file.doc === null) return undefined;
  if (Array.isArray(file.doc)) {
    file.doc.forEach((entry, i) => {
      if (typeof entry !== "object" || entry === null) return;
      for (const field of PLAINTEXT_FIELDS)
        if (Object.hasOwn(entry, field))
          file.sink.add([i, field], "keys.yaml holds key_sha256 (the hex SHA-256 of the key), never the key itself: remove it and rotate the key");
      const hash = (entry as Record<string, unknown>).key_sha256;
      if (typeof hash === "string" && !HEX_SHA256.test(hash))
        file.sink.add([i, "key_sha256"], "must be the 64 hex digits of the key's SHA-256 (understudy keys add writes it), never the key itself");
    });
    if (file.sink.count > 0) return undefined;
  }
  validateKeysFile ??= ajv.compile(keysFileSchema);
  const validate = validateKeysFile;
  if (!validate(file.doc)) {
    file.sink.addAjv(validate.errors ?? []);
    return undefined;
  }
  const entries = file.doc as Record<string, unknown>[];
  checkEntries(file, entries);
  if (file.sink.count > 0 || entries.length === 0) return undefined;
  const byHash = new Map<string, KeyEntry>();
  for (const entry of entries) {
    const hex = (entry.key_sha256 as string).toLowerCase();
    byHash.set(hex, { key: readEntry(entry), hash: Buffer.from(hex, "hex") });
  }
  return new KeyTable(byHash);
}
