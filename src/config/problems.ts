import type { ErrorObject } from "ajv";
import { findLine } from "./yaml-lines.js";

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

/** Collects problems for one file, finding each field's line in the file's text. */
export class ProblemSink {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly file: string, private readonly text: string, private readonly prefix: (string | number)[] = []) {}

  at(prefix: (string | number)[]): ProblemSink {
    const child = new ProblemSink(this.file, this.text, [...this.prefix, ...prefix]);
    (child as { problems: ConfigProblem[] }).problems = this.problems;
    return child;
  }

  add(path: (string | number)[], message: string, line?: number): void {
    const full = [...this.prefix, ...path];
    this.problems.push({ file: this.file, line: line ?? findLine(this.text, full), field: fieldName(full), message });
  }

  addAjv(errors: readonly ErrorObject[], base: (string | number)[] = []): void {
    for (const e of errors) {
      const path = [...base, ...e.instancePath.split("/").filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, "/").replace(/~0/g, "~")))];
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
