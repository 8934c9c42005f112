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
import { splitLines } from "./yaml-lines.js";

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

/**
 * The line (0-based) where each object of the document starts, from js-yaml's node events: a
 * list file's entries are located by the parser, not by a text search that `---`, flow style or
 * a `- ` inside a value would mislead.
 */
function startLines(): { starts: Map<object, number>; listener: (event: "open" | "close", state: { line: number; result: unknown }) => void } {
  const starts = new Map<object, number>();
  const open: number[] = [];
  return {
    starts,
    listener: (event, state) => {
      if (event === "open") return void open.push(state.line);
      const depth = open.length;
      const line = open.pop() ?? 0;
      // Entries are nodes 2 deep (3 in a flow list, which js-yaml opens twice); deeper ones are not needed.
      if (depth > 3 || typeof state.result !== "object" || state.result === null) return;
      // An alias closes with its anchor's object: the anchor's line is kept.
      if (!starts.has(state.result)) starts.set(state.result, line);
    },
  };
}

/** The 1-based line a YAML error names, clamped to the file: at an unexpected end js-yaml names the line after the last. */
function errorLine(text: string, mark: { line: number } | undefined): number {
  const lines = splitLines(text);
  const last = lines.length > 1 && lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
  return Math.max(1, Math.min((mark?.line ?? 0) + 1, last));
}

function parseYaml(text: string, rel: string, sink: ProblemSink): unknown {
  const { starts, listener } = startLines();
  try {
    // maxDepth bounds js-yaml's own recursion; measureDocument then bounds what aliases expand to.
    const doc = yaml.load(text, { filename: rel, schema: yaml.CORE_SCHEMA, maxDepth: CONFIG_LIMITS.depth.value, listener } as yaml.LoadOptions);
    if (Array.isArray(doc)) sink.locateItems(doc.map((item) => (typeof item === "object" && item !== null ? starts.get(item) : undefined)));
    return doc;
  } catch (err) {
    const mark = (err as { mark?: { line: number } }).mark;
    sink.add([], `invalid YAML: ${(err as { reason?: string }).reason ?? String(err)}`, errorLine(text, mark));
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
