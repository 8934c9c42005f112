import { ApiError, clipEcho, InvalidRequestError, UnknownParameterError, UnsupportedMediaTypeError } from "../core/errors.js";
import { rangeError } from "./range-errors.js";
import { IMPLEMENTED_OPERATIONS } from "../core/operations.js";
import { validationSpec } from "../spec/extended-spec.js";

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

const isRequired = (i: ValidatorIssue) => i.errorCode?.startsWith("required") === true;
const under = (parts: readonly (string | number)[], prefix: readonly (string | number)[]) => prefix.every((p, i) => parts[i] === p);

/**
 * Whether a branch of the union took the value at `parts` and failed later, on a sibling field (a
 * type or value error there, not a missing field, which a branch reports before it looks at any
 * value): then another branch's `enum` error on this value is noise (`role: "user"` refused by the
 * assistant-only branch, when the message's real mistake is its content).
 */
function passedBySomeBranch(parts: readonly (string | number)[], located: readonly Located[]): boolean {
  const parent = parts.slice(0, -1);
  return located.some(
    (l) =>
      !isRequired(l.issue) &&
      !l.issue.errorCode?.startsWith("enum") &&
      l.parts.length > parent.length &&
      under(l.parts, parent) &&
      l.parts[parent.length] !== parts.at(-1),
  );
}

let requiredByType: Map<string, readonly string[]> | undefined;

/**
 * The fields an object with this `type` requires: the first object schema of the validation subset
 * declaring that value (Responses items, content parts, tools). Built once, on the first failed union.
 */
function requiredForType(type: string): readonly string[] | undefined {
  if (requiredByType === undefined) {
    requiredByType = new Map();
    const schemas = validationSpec(IMPLEMENTED_OPERATIONS, false).components?.schemas ?? {};
    for (const schema of Object.values<Record<string, any>>(schemas)) {
      const prop = schema?.properties?.type;
      const values: unknown[] =
        prop?.enum ?? (prop?.const !== undefined ? [prop.const] : (prop?.anyOf ?? []).flatMap((b: { enum?: unknown[] }) => b?.enum ?? []));
      if (!Array.isArray(schema.required)) continue;
      for (const v of values) if (typeof v === "string" && !requiredByType.has(v)) requiredByType.set(v, schema.required);
    }
  }
  return requiredByType.get(type);
}

/**
 * A union of objects told apart by `type` (Responses input items, content parts) reports every
 * branch's first error, most of them "missing field" of branches the client never meant. The
 * branch meant is the one its `type` names: its first missing field is the mistake. A `type` no
 * schema declares is the mistake itself (`unknown`), said without the partial list of values the
 * branches that got as far as `type` allow.
 */
type TypedUnion = { located: Located; unknown?: true } | { noise: (l: Located) => boolean };

function typedUnionIssue(issues: readonly ValidatorIssue[], located: readonly Located[], body: unknown): TypedUnion | undefined {
  for (const union of issues.filter(isCombinator)) {
    const parts = segments(union.path);
    const sent = valueAt(body, parts);
    if (sent === null || typeof sent !== "object" || Array.isArray(sent)) continue;
    const type = (sent as Record<string, unknown>).type;
    if (typeof type !== "string") continue;
    const required = requiredForType(type);
    if (required === undefined) {
      const partial = located.some((l) => isRequired(l.issue) && l.parts.length === parts.length + 1 && under(l.parts, parts));
      if (partial) return { located: { issue: { path: `${union.path}/type`, errorCode: "enum" }, parts: [...parts, "type"] }, unknown: true };
      continue;
    }
    const missing = required.find((field) => !Object.hasOwn(sent, field));
    if (missing !== undefined)
      return {
        located: {
          issue: { path: `${union.path}/${missing}`, message: `must have required property '${missing}'`, errorCode: "required" },
          parts: [...parts, missing],
        },
      };
    // The branch meant has all its fields: the other branches' missing fields and `type` refusals are noise.
    const depth = parts.length + 1;
    return {
      noise: (l) =>
        l.parts.length === depth &&
        under(l.parts, parts) &&
        (isRequired(l.issue) || (l.parts[depth - 1] === "type" && !!l.issue.errorCode?.startsWith("enum"))),
    };
  }
  return undefined;
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
    if (!allowed.includes(String(valueAt(body, first.parts))) && !passedBySomeBranch(first.parts, located))
      return { located: first, allowed: [...new Set(allowed)] };
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
  const typed = typedUnionIssue(
    issues,
    issues.filter((i) => !isCombinator(i)).map((issue) => ({ issue, parts: segments(issue.path) })),
    body,
  );
  if (typed && "located" in typed && typed.unknown) {
    const param = paramName(typed.located.parts);
    return new InvalidRequestError(
      `Invalid value for '${param}': ${quote(valueAt(body, typed.located.parts))} is not a type this field takes.`,
      param,
      "invalid_value",
    );
  }
  const kept = typed && "noise" in typed ? issues.filter((i) => isCombinator(i) || !typed.noise({ issue: i, parts: segments(i.path) })) : issues;
  const { located, allowed }: { located: Located; allowed?: string[] } = typed && "located" in typed ? typed : pickIssue(kept.length > 0 ? kept : issues, body);
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
