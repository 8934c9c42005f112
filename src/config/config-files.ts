/**
 * Finding, reading and parsing the YAML files of a config directory, each step bounded: anything
 * dropped into the watched directory is read by the server, so a FIFO, a symlink to /dev/zero, a
 * huge file or an alias bomb must be a config problem found in milliseconds, not a stall.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describeLimit } from "../core/env-limit.js";
import { CONFIG_LIMITS } from "./config-limits.js";
import { readFileBounded } from "../core/bounded-file.js";
import { findForbiddenKey } from "./merge.js";
import { ProblemSink, type ConfigProblem, type PathDisplay } from "./problems.js";
import { measureDocument } from "./yaml-bounds.js";

export interface ParsedFile {
  rel: string;
  text: string;
  /** undefined when the file could not be read, parsed or measured (its sink says why). */
  doc: unknown;
  sink: ProblemSink;
  mtime: number;
  /** Nodes with aliases expanded (0 when unread). */
  nodes: number;
}

/** A problem of the directory as a whole: its file is "." (never the absolute path: /health serves problems). */
export const directoryProblem = (message: string): ConfigProblem => ({ file: ".", line: 0, field: "", message });

const isYamlName = (name: string) => /\.ya?ml$/.test(name);

interface Listing {
  entries: fs.Dirent[];
  dir: string;
  next: number;
}

const listing = (dir: string): Listing => ({
  dir,
  next: 0,
  entries: fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)),
});

/**
 * Every *.yaml / *.yml under `dir`, depth-first in name order; hidden entries and node_modules are
 * skipped, symlinked directories not followed. Iterative, and stops past `max` files.
 */
export function listYamlFiles(dir: string, max = CONFIG_LIMITS.files.value): { files: string[]; tooMany: boolean; unlisted: string[] } {
  const files: string[] = [];
  const unlisted: string[] = [];
  const stack = [listing(dir)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const entry = top.entries[top.next++];
    if (!entry) {
      stack.pop();
      continue;
    }
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = path.join(top.dir, entry.name);
    if (entry.isDirectory()) {
      try {
        stack.push(listing(full));
      } catch (err) {
        // A problem of the load, not an exception: /health shows it (relative), the reload is refused.
        unlisted.push(`${path.relative(dir, full)}: cannot list the directory (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
    } else if (isYamlName(entry.name)) {
      if (files.length >= max) return { files, tooMany: true, unlisted };
      files.push(full);
    }
  }
  return { files, tooMany: false, unlisted };
}

function parseYaml(text: string, rel: string, sink: ProblemSink): unknown {
  try {
    // maxDepth bounds js-yaml's own recursion; measureDocument then bounds what aliases expand to.
    return yaml.load(text, { filename: rel, schema: yaml.CORE_SCHEMA, maxDepth: CONFIG_LIMITS.depth.value } as yaml.LoadOptions);
  } catch (err) {
    const mark = (err as { mark?: { line: number } }).mark;
    sink.add([], `invalid YAML: ${(err as { reason?: string }).reason ?? String(err)}`, (mark?.line ?? 0) + 1);
    return undefined;
  }
}

const totalTooLarge = () => `the YAML files together are larger than the limit of ${describeLimit(CONFIG_LIMITS.totalBytes, "bytes")}`;
const fileTooLarge = () => `the file is larger than the limit of ${describeLimit(CONFIG_LIMITS.fileBytes, "bytes")}`;

/** Reads (at most `maxBytes`: what is left of the directory's budget), parses and measures one file; `overBudget` says that budget ran out here. */
export function parseFile(root: string, display: PathDisplay, file: string, maxBytes = CONFIG_LIMITS.fileBytes.value): ParsedFile & { overBudget?: boolean } {
  const rel = path.relative(root, file);
  const read = readFileBounded(file, Math.min(maxBytes, CONFIG_LIMITS.fileBytes.value));
  if (!("text" in read)) {
    const sink = new ProblemSink(rel, "", display);
    const overBudget = "tooLarge" in read && maxBytes < CONFIG_LIMITS.fileBytes.value;
    sink.add([], "problem" in read ? read.problem : overBudget ? totalTooLarge() : fileTooLarge(), 1);
    return { rel, text: "", doc: undefined, sink, mtime: 0, nodes: 0, overBudget };
  }
  const sink = new ProblemSink(rel, read.text, display);
  const parsed = { rel, text: read.text, sink, mtime: read.mtime };
  const doc = parseYaml(read.text, rel, sink);
  // Measured before any other walk: only a document within the limits is walked as a tree.
  const measured = measureDocument(doc);
  if (!measured.ok) {
    sink.add(measured.path, measured.message);
    return { ...parsed, doc: undefined, nodes: 0 };
  }
  const forbidden = findForbiddenKey(doc);
  if (forbidden) sink.add(forbidden.split("."), `the key '${forbidden.split(".").pop()}' is not allowed`);
  return { ...parsed, doc, nodes: measured.size.nodes };
}

/**
 * Reads and parses every YAML file, within the directory-wide limits: the number of files, their
 * total size and their total expanded nodes. Over a limit, the directory is one problem (a partial
 * config would be wrong anyway) and no further file is parsed.
 */
export function readConfigFiles(root: string, display: PathDisplay): { files: ParsedFile[]; problems: ConfigProblem[] } {
  let listed: ReturnType<typeof listYamlFiles>;
  // Read before the try: a bad limit setting is the command's error, not a listing problem.
  const maxFiles = CONFIG_LIMITS.files.value;
  try {
    listed = listYamlFiles(root, maxFiles);
  } catch (err) {
    return { files: [], problems: [directoryProblem(`cannot list the config directory (${(err as NodeJS.ErrnoException).code ?? "error"})`)] };
  }
  if (listed.unlisted.length > 0) return { files: [], problems: listed.unlisted.map(directoryProblem) };
  if (listed.tooMany)
    return { files: [], problems: [directoryProblem(`the directory holds more YAML files than the limit of ${describeLimit(CONFIG_LIMITS.files, "files")}`)] };
  const files: ParsedFile[] = [];
  let bytes = 0;
  let nodes = 0;
  for (const file of listed.files) {
    const parsed = parseFile(root, display, file, CONFIG_LIMITS.totalBytes.value - bytes);
    if (parsed.overBudget) return { files, problems: [directoryProblem(totalTooLarge())] };
    bytes += Buffer.byteLength(parsed.text);
    nodes += parsed.nodes;
    files.push(parsed);
    if (nodes > CONFIG_LIMITS.totalNodes.value) {
      return {
        files,
        problems: [
          directoryProblem(`the YAML files together have more than the limit of ${describeLimit(CONFIG_LIMITS.totalNodes, "nodes")} with aliases expanded`),
        ],
      };
    }
  }
  return { files, problems: [] };
}
