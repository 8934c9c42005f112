import fs from "node:fs";
import path from "node:path";
import type { ErrorObject } from "ajv";
import { MAX_PROBLEMS_PER_FILE } from "./config-limits.js";
import { findLine, splitLines } from "./yaml-lines.js";

/** One thing wrong with the config directory: where, which field, what. */
export interface ConfigProblem {
  file: string;
  line: number;
  field: string;
  message: string;
}

export const formatProblem = (p: ConfigProblem) => `${p.file}:${p.line}: ${p.field ? `${p.field}: ` : ""}${p.message}`;

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`);
  }
}

/** Longest field or message kept in a problem: a 1 MB key must not make /health 1 MB long. */
const MAX_PROBLEM_TEXT = 300;

const clip = (text: string) => (text.length > MAX_PROBLEM_TEXT ? `${text.slice(0, MAX_PROBLEM_TEXT)}…` : text);

/** How absolute paths in problems are shown: each base directory (longest first) as a relative path. */
export interface PathDisplay {
  bases: ReadonlyArray<readonly [absolute: string, shown: string]>;
}

/**
 * Problems are served by /health, which must show no absolute paths: `root` (the config directory,
 * as given and as its real path) becomes "." and each other base (a model root) a path relative to it.
 */
export function pathDisplay(root: string, otherBases: readonly string[]): PathDisplay {
  const real = fs.existsSync(root) ? fs.realpathSync(root) : root;
  const shown = new Map<string, string>([
    [root, "."],
    [real, "."],
  ]);
  for (const base of otherBases) if (!shown.has(base)) shown.set(base, path.relative(real, base) || ".");
  const bases = [...shown].filter(([abs]) => path.isAbsolute(abs) && abs !== path.parse(abs).root);
  return { bases: bases.sort((a, b) => b[0].length - a[0].length) };
}

export function relativizePaths(message: string, display: PathDisplay): string {
  let out = message;
  for (const [base, shown] of display.bases) {
    if (!out.includes(base)) continue;
    out = out.split(base + path.sep).join(shown === "." ? "" : shown + path.sep);
    out = out.replace(new RegExp(`${escapeRegExp(base)}(?![\\w.-])`, "g"), shown);
  }
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

interface SinkState {
  problems: ConfigProblem[];
  omitted: number;
  lines?: string[];
  /** For a file holding a list: the line (0-based) where each entry starts, as the parser saw it. */
  itemLines?: readonly (number | undefined)[];
}

/** Collects problems for one file (at most MAX_PROBLEMS_PER_FILE), finding each field's line in the file's text. */
export class ProblemSink {
  private readonly state: SinkState;

  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly display: PathDisplay = { bases: [] },
    private readonly prefix: (string | number)[] = [],
    state?: SinkState,
  ) {
    this.state = state ?? { problems: [], omitted: 0 };
  }

  /** The problems kept, plus one line saying how many more there were. */
  get problems(): readonly ConfigProblem[] {
    const { problems, omitted } = this.state;
    if (omitted === 0) return problems;
    return [
      ...problems,
      { file: this.file, line: 1, field: "", message: `${omitted} more problem(s) in this file not shown (at most ${MAX_PROBLEMS_PER_FILE} are listed)` },
    ];
  }

  /** Every problem found, shown or not. */
  get count(): number {
    return this.state.problems.length + this.state.omitted;
  }

  at(prefix: (string | number)[]): ProblemSink {
    return new ProblemSink(this.file, this.text, this.display, [...this.prefix, ...prefix], this.state);
  }

  /** The line of a field under this sink's prefix (1 when the text does not show it). */
  lineOf(path: (string | number)[]): number {
    return this.lineAt([...this.prefix, ...path]);
  }

  /** Where a list file's entries start (0-based lines), so a field of entry i is searched for within entry i's lines. */
  locateItems(itemLines: readonly (number | undefined)[]): void {
    this.state.itemLines = itemLines;
  }

  private lineAt(full: (string | number)[]): number {
    const lines = (this.state.lines ??= splitLines(this.text));
    const items = this.state.itemLines;
    const start = items && typeof full[0] === "number" ? items[full[0]] : undefined;
    if (start === undefined) return findLine(lines, full);
    const end = items!.slice(full[0] as number).find((line) => line !== undefined && line > start) ?? lines.length;
    return start + findLine(lines.slice(start, end), full.slice(1));
  }

  add(path: (string | number)[], message: string, line?: number): void {
    if (this.state.problems.length >= MAX_PROBLEMS_PER_FILE) {
      this.state.omitted++;
      return;
    }
    const full = [...this.prefix, ...path];
    const text = relativizePaths(message, this.display);
    this.state.problems.push({ file: this.file, line: line ?? this.lineAt(full), field: clip(fieldName(full)), message: clip(text) });
  }

  addAjv(errors: readonly ErrorObject[], base: (string | number)[] = []): void {
    for (const e of errors) {
      // An if/then fails with the `then` schema's own error too (e.g. a missing key): that one says what is wrong.
      if (e.keyword === "if") continue;
      if (this.state.problems.length >= MAX_PROBLEMS_PER_FILE) {
        this.state.omitted++;
        continue;
      }
      const path = [
        ...base,
        ...e.instancePath
          .split("/")
          .filter(Boolean)
          .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, "/").replace(/~0/g, "~"))),
      ];
      this.add(...describeAjvError(e, path));
    }
  }
}

function fieldName(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

function describeAjvError(e: ErrorObject, path: (string | number)[]): [(string | number)[], string] {
  const params = e.params as Record<string, any>;
  switch (e.keyword) {
    case "additionalProperties":
      return [[...path, params.additionalProperty], `unknown key '${params.additionalProperty}'`];
    case "required":
      return [path, `missing required key '${params.missingProperty}'`];
    case "enum":
      return [path, `must be one of: ${params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(", ")}`];
    case "type":
      return [path, `must be ${String(params.type).replace(",", " or ")}`];
    default:
      return [path, e.message ?? "is invalid"];
  }
}
