/**
 * ajv's range and length errors in OpenAI's words, e.g.
 * `Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.`
 * (code `integer_below_min_value`). OpenAI says "decimal" for a `number` field even when the value
 * sent is whole, so the declared type is looked up in the validation spec (on the error path only).
 */
import { clipEcho, InvalidRequestError } from "../core/errors.js";
import { validationSpec, type SpecDocument } from "../spec/extended-spec.js";

type Part = string | number;
type Schema = Record<string, unknown>;

const RANGE = /^must be (>=|>|<=|<) (\S+)$/;
const LENGTH = /^must NOT have (fewer|more) than (\d+) (items|characters)$/;

/** The OpenAI-worded error for a minimum/maximum/minItems/maxLength... issue, or undefined. */
export function rangeError(param: string, parts: readonly Part[], message: string, keyword: string, sent: unknown): InvalidRequestError | undefined {
  const range = /^(exclusiveM|m)(inimum|aximum)$/.test(keyword) ? RANGE.exec(message) : null;
  if (range) {
    const below = range[1].startsWith(">");
    const kind = numericKind(parts, sent);
    return new InvalidRequestError(
      `Invalid '${param}': ${kind} ${below ? "below minimum" : "above maximum"} value. Expected a value ${range[1]} ${range[2]}, but got ${clipEcho(JSON.stringify(sent))} instead.`,
      param,
      `${kind}_${below ? "below_min" : "above_max"}_value`,
    );
  }
  const length = /^m(in|ax)(Items|Length)$/.test(keyword) ? LENGTH.exec(message) : null;
  if (length) {
    const fewer = length[1] === "fewer";
    const what = length[3] === "items" ? "array" : "string";
    const size = typeof sent === "string" || Array.isArray(sent) ? sent.length : undefined;
    if (fewer && size === 0 && what === "array") {
      return new InvalidRequestError(
        `Invalid '${param}': empty array. Expected an array with minimum length ${length[2]}, but got an empty array instead.`,
        param,
        "empty_array",
      );
    }
    return new InvalidRequestError(
      `Invalid '${param}': ${what} too ${fewer ? "short" : "long"}. Expected ${what === "array" ? "an array" : "a string"} with ${fewer ? "minimum" : "maximum"} length ${length[2]}, but got ${what === "array" ? "an array" : "a string"}${size === undefined ? "" : ` with length ${size}`} instead.`,
      param,
      `${what}_${fewer ? "below_min" : "above_max"}_length`,
    );
  }
  return undefined;
}

const kindCache = new Map<string, "integer" | "decimal">();

/** "integer" where the field is declared integer (and the value is whole), else "decimal". */
function numericKind(parts: readonly Part[], sent: unknown): "integer" | "decimal" {
  if (typeof sent !== "number" || !Number.isInteger(sent)) return "decimal";
  const key = parts.map((p) => (typeof p === "number" ? "[]" : p)).join("\u0000");
  let kind = kindCache.get(key);
  if (kind === undefined) {
    const types = declaredTypes(validationSpec(new Set(), false), parts);
    kind = types.has("number") ? "decimal" : "integer";
    if (kindCache.size < 1000) kindCache.set(key, kind);
  }
  return kind;
}

/** Every `type` a body field at `parts` is declared with, across the spec's JSON request bodies. */
function declaredTypes(doc: SpecDocument, parts: readonly Part[]): Set<string> {
  const types = new Set<string>();
  for (const item of Object.values<Record<string, any>>(doc.paths ?? {})) {
    for (const op of Object.values<any>(item)) {
      const root = op?.requestBody?.content?.["application/json"]?.schema as Schema | undefined;
      if (!root) continue;
      let level = expand(doc, [root]);
      for (const part of parts)
        level = expand(
          doc,
          level.flatMap((s) => child(s, part)),
        );
      for (const s of level) for (const t of [s.type].flat()) if (typeof t === "string") types.add(t);
    }
  }
  return types;
}

/** The schemas with their $refs followed and allOf/anyOf/oneOf branches spread out (each once). */
function expand(doc: SpecDocument, schemas: Schema[]): Schema[] {
  const out = new Set<Schema>();
  const stack = [...schemas];
  while (stack.length > 0 && out.size < 500) {
    const s = stack.pop()!;
    if (out.has(s)) continue;
    out.add(s);
    if (typeof s.$ref === "string") {
      const target = resolveRef(doc, s.$ref);
      if (target) stack.push(target);
    }
    for (const k of ["allOf", "anyOf", "oneOf"]) if (Array.isArray(s[k])) stack.push(...(s[k] as Schema[]));
  }
  return [...out];
}

function child(s: Schema, part: Part): Schema[] {
  const own = (o: unknown, k: string) => (o !== null && typeof o === "object" && Object.hasOwn(o, k) ? ((o as Schema)[k] as Schema) : undefined);
  const found = typeof part === "number" ? own(s, "items") : (own(own(s, "properties"), part) ?? own(s, "additionalProperties"));
  return found && typeof found === "object" ? [found] : [];
}

function resolveRef(doc: SpecDocument, ref: string): Schema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = doc;
  for (const seg of ref.slice(2).split("/"))
    node = node !== null && typeof node === "object" ? (node as Schema)[seg.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  return node !== null && typeof node === "object" ? (node as Schema) : undefined;
}
