/**
 * A hash of what loading the config directory reads: the YAML files the loader lists (their
 * paths and bytes) and the chat templates registrations name (their identity and size). Cheap
 * enough to run every few seconds as the watcher's safety net: it reads no more than a load does
 * (CONFIG_LIMITS bounds the files and their bytes) and parses nothing.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { readFileBounded } from "../core/bounded-file.js";
import { CONFIG_LIMITS } from "./config-limits.js";
import { listYamlFiles } from "./config-files.js";

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? "error";

/** The fingerprint of `root`'s YAML files; equal fingerprints mean a load would read the same YAML. */
export function yamlFingerprint(root: string): string {
  const hash = crypto.createHash("sha256");
  let listed: ReturnType<typeof listYamlFiles>;
  try {
    listed = listYamlFiles(root);
  } catch (err) {
    return `unlistable:${errorCode(err)}`;
  }
  hash.update(`${listed.tooMany}\0${listed.unlisted.join("\0")}\0`);
  let budget = CONFIG_LIMITS.totalBytes.value;
  for (const file of listed.files) {
    const read = readFileBounded(file, Math.min(budget, CONFIG_LIMITS.fileBytes.value));
    hash.update(`${path.relative(root, file)}\0`);
    if (!("text" in read)) {
      // Over a limit or unreadable: the load will say so; what matters here is that it is the same.
      hash.update(`${JSON.stringify(read)}\0`);
      continue;
    }
    hash.update(read.text);
    hash.update("\0");
    budget -= Buffer.byteLength(read.text);
  }
  return hash.digest("hex");
}

/** The identity (inode, size, mtime) of each template file. */
export function templateFingerprint(templates: readonly string[]): string {
  const hash = crypto.createHash("sha256");
  // A template is rendered to validate it: an edit must reload, but its content is the checker's to read.
  for (const template of templates) {
    try {
      const s = fs.statSync(template);
      hash.update(`${template}\0${s.ino}\0${s.size}\0${s.mtimeMs}\0`);
    } catch (err) {
      hash.update(`${template}\0${errorCode(err)}\0`);
    }
  }
  return hash.digest("hex");
}
