import { ApiError, clipEcho, InvalidRequestError, UnknownParameterError, UnsupportedMediaTypeError } from "../core/errors.js";
import { rangeError } from "./range-errors.js";

/** One issue as express-openapi-validator reports it (an ajv error with a request path). */
export interface ValidatorIssue {
  path?: string;
  message?: string;
  errorCode?: string;
}

export interface ValidatorHttpError {
  status: number;
  message?: string;
  errors?: ValidatorIssue[];
}

export function isValidatorError(err: unknown): err is ValidatorHttpError {
  return typeof err === "object" && err !== null && "status" in err && Array.isArray((err as ValidatorHttpError).errors);
}

/** `/body/messages/0/content` -> ["messages", 0, "content"]. */
function segments(path: string | undefined): (string | number)[] {
  const parts = (path ?? "")
    .replace(/^\/?(body|query|params|path|headers)(\/|$)/, "")
    .split("/")
    .filter(Boolean);
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, "/").replace(/~0/g, "~")));
}

/** ["messages", 0, "content"] -> `messages[0].content` (the keys are the client's: cut to an echo's length). */
export function paramName(parts: (string | number)[]): string | null {
  if (parts.length === 0) return null;
  return clipEcho(parts.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), ""));
}

/** The value the client sent at `parts`: own properties only (a key named `constructor` is data). */
function valueAt(root: unknown, parts: (string | number)[]): unknown {
  let node = root;
  for (const p of parts) node = node !== null && typeof node === "object" && Object.hasOwn(node, p) ? (node as Record<string | number, unknown>)[p] : undefined;
  return node;
}

/** A sent value quoted in a message, cut to an echo's length. */
const quote = (v: unknown) => clipEcho(JSON.stringify(v) ?? String(v));

/** What the client sent, as a type name; `1e400` parses to Infinity, which no JSON schema number admits. */
const kindOf = (v: unknown) =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "array"
      : typeof v !== "number"
        ? typeof v
        : !Number.isFinite(v)
          ? "a number too large to represent"
          : Number.isInteger(v)
            ? "integer"
            : "number";
const isCombinator = (i: ValidatorIssue) => /^(oneOf|anyOf|if|discriminator)\./.test(i.errorCode ?? "") || /match (exactly one|a) schema/.test(i.message ?? "");
const allowedValue = (i: ValidatorIssue) => /allowed values?: (.*)$/.exec(i.message ?? "")?.[1];

interface Located {
  issue: ValidatorIssue;
  parts: (string | number)[];
}

/**
 * One failing oneOf reports every branch's first error. An `enum` error on the value the client
 * actually sent to another branch's discriminator is noise; an `enum` error whose allowed values
 * never include the sent value is the real mistake.
 */
function pickIssue(issues: ValidatorIssue[], body: unknown): { located: Located; allowed?: string[] } {
  const located = issues.filter((i) => !isCombinator(i)).map((issue) => ({ issue, parts: segments(issue.path) }));
  if (located.length === 0) return { located: { issue: issues[0], parts: segments(issues[0].path) } };
  const enumsByPath = new Map<string, { first: Located; allowed: string[] }>();
  for (const l of located) {
    const allowed = allowedValue(l.issue);
    if (l.issue.errorCode?.startsWith("enum") && allowed !== undefined) {
      const entry = enumsByPath.get(l.issue.path ?? "") ?? { first: l, allowed: [] };
      entry.allowed.push(...allowed.split(/,\s*/));
      enumsByPath.set(l.issue.path ?? "", entry);
    }
  }
  for (const { first, allowed } of enumsByPath.values()) {
    if (!allowed.includes(String(valueAt(body, first.parts)))) return { located: first, allowed: [...new Set(allowed)] };
  }
  const relevant = located.filter((l) => !(l.issue.errorCode?.startsWith("enum") && enumsByPath.has(l.issue.path ?? "")));
  const pool = relevant.length > 0 ? relevant : located;
  return { located: pool.reduce((best, l) => (l.parts.length > best.parts.length ? l : best), pool[0]) };
}

export function translateValidatorError(err: ValidatorHttpError, body: unknown): ApiError {
  if (err.status === 415) return new UnsupportedMediaTypeError(undefined, ["application/json"]);
  const issues = err.errors ?? [];
  // The validator's own messages can quote a header (e.g. the content type): cut like an echo.
  if (issues.length === 0) return new InvalidRequestError(clipEcho(err.message ?? "Invalid request", 256));
  const { located, allowed } = pickIssue(issues, body);
  const { issue } = located;
  const raw = issue.message ?? "is invalid";
  const missing = /required property '([^']+)'/.exec(raw)?.[1];
  if (missing) {
    const parts = located.parts.at(-1) === missing ? located.parts : [...located.parts, missing];
    return new InvalidRequestError(`Missing required parameter: '${paramName(parts)}'.`, paramName(parts), "missing_required_parameter");
  }
  const extra = /additional properties|unknown property/i.test(raw) ? located.parts.at(-1) : undefined;
  if (extra !== undefined) {
    // One wording for unknown fields, top-level (handlers/inference.ts) or nested (here).
    return new UnknownParameterError(paramName(located.parts)!);
  }
  const param = paramName(located.parts);
  const sent = valueAt(body, located.parts);
  if (param === null) return new InvalidRequestError(`Invalid request body: ${raw}, but got ${kindOf(sent)}.`, null, "invalid_body");
  if (allowed) {
    return new InvalidRequestError(
      `Invalid value for '${param}': ${quote(sent)}. Supported values are: ${allowed.map((v) => `'${v}'`).join(", ")}.`,
      param,
      "invalid_value",
    );
  }
  const type = /^must be ([\w,]+)$/.exec(raw);
  if (type && issue.errorCode?.startsWith("type")) {
    const expected = type[1].split(",").join(" or ");
    return new InvalidRequestError(`Invalid type for '${param}': expected ${expected}, but got ${kindOf(sent)}.`, param, "invalid_type");
  }
  const range = rangeError(param, located.parts, raw, issue.errorCode?.split(".")[0] ?? "", sent);
  if (range) return range;
  return new InvalidRequestError(`Invalid value for '${param}': ${raw}${sent === undefined ? "" : ` (got ${quote(sent)})`}.`, param, "invalid_value");
}
