/**
 * Bounds on what loading the config directory may cost. Anyone who can write a file into the
 * watched directory can otherwise stall the server: a 575-byte YAML alias bomb expands to ~400
 * million nodes for any walk that follows aliases. Each limit is an `UNDERSTUDY_CONFIG_*` env var,
 * read once at start; going over one is a config problem naming the limit, never a stall.
 */
import { envLimit } from "../core/env-limit.js";

export const CONFIG_LIMITS = {
  /** One YAML file's size: real registrations are a few hundred bytes. */
  fileBytes: envLimit("UNDERSTUDY_CONFIG_MAX_FILE_BYTES", 1024 * 1024),
  /**
   * All YAML files of the directory together: bounds the time one (re)load parses on the event
   * loop (js-yaml takes ~0.2-0.4 s per MiB of mapping keys).
   */
  totalBytes: envLimit("UNDERSTUDY_CONFIG_MAX_TOTAL_BYTES", 4 * 1024 * 1024),
  /** YAML files in the directory (recursively). */
  files: envLimit("UNDERSTUDY_CONFIG_MAX_FILES", 1000),
  /** Registrations in the directory: each costs file-system checks (~70 µs), and aliases copy them cheaply. */
  registrations: envLimit("UNDERSTUDY_CONFIG_MAX_REGISTRATIONS", 1000),
  /** Nodes of one file with every alias expanded: what ajv, the key checks and freezing walk. */
  fileNodes: envLimit("UNDERSTUDY_CONFIG_MAX_NODES", 100_000),
  /** Expanded nodes over the whole directory, so many files each just under the limit stay bounded. */
  totalNodes: envLimit("UNDERSTUDY_CONFIG_MAX_TOTAL_NODES", 500_000),
  /** Nesting depth with aliases expanded (js-yaml's own parse limit is 100 without them). */
  depth: envLimit("UNDERSTUDY_CONFIG_MAX_DEPTH", 100),
} as const;

/** Problems reported per file: a file with 100k bad keys must not cost 100k line searches. */
export const MAX_PROBLEMS_PER_FILE = 50;
