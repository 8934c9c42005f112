/**
 * A client's JSON schema (response_format.json_schema.schema, a tool's parameters), checked in
 * one iterative walk before node-llama-cpp turns it into a grammar: within the size limits, and
 * made only of what node-llama-cpp's grammar builder follows. Anything it would silently get
 * wrong (an unknown `type` becomes `null`, an unknown `$ref` or `format` any value or an empty
 * string, `anyOf` is ignored) or throw on later (a non-literal `const`, a non-object subschema)
 * is a 400 `invalid_schema` here instead.
 *
 * The walk returns a copy for node-llama-cpp, with `anyOf` read as `oneOf` (the same for
 * generating: the output must match one of the branches) and a one-element `allOf` unwrapped.
 */
import { clipEcho, InvalidRequestError } from "../../core/errors.js";
import { describeLimit } from "../../core/env-limit.js";
import { LLAMA_MAX_REPETITION, SCHEMA_LIMITS } from "./request-limits.js";
import { checkSchemaAmbiguity } from "./schema-ambiguity.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isLiteral = (v: unknown) => v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";

const BASIC_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const TYPES = new Set([...BASIC_TYPES, "object", "array"]);
const FORMATS = new Set(["date", "time", "date-time"]);
const UNSUPPORTED = ["not", "if", "then", "else"];
const BOUNDS = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];
/** Checked after generation (schema-output.ts): each must be a number, or the check could not mean anything. */
const NUMBER_BOUNDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const REF_PREFIX = "#/$defs/";

/** Definitions a `$ref` can name at a point: node-llama-cpp joins `$defs` from the root down. */
interface Scope {
  names: ReadonlySet<string>;
  parent?: Scope;
}

interface Item {
  node: unknown;
  /** Where the copy goes. */
  into: Json | unknown[];
  key: string | number;
  /** Its place in the schema, for messages (`properties/a`, `oneOf/2`). */
  label: string;
  depth: number;
  scope?: Scope;
  parent?: Item;
}

class SchemaWalk {
  private bytes = 0;
  private enumValues = 0;
  private properties = 0;
  private repetitions = 0;
  private readonly stack: Item[] = [];

  constructor(private readonly param: string) {}

  run(schema: unknown): CheckedSchema {
    const root: Json = {};
    this.stack.push({ node: schema, into: root, key: "schema", label: "", depth: 0 });
    while (this.stack.length > 0) this.visit(this.stack.pop()!);
    return { schema: root.schema as Json, bytes: this.bytes };
  }

  private fail(item: Item | undefined, what: string): never {
    const path = item ? this.pathOf(item) : "";
    const where = path === "" ? "The JSON schema" : `The JSON schema at /${clipEcho(path)}`;
    throw new InvalidRequestError(`${where} ${what}`, this.param, "invalid_schema");
  }

  private count(item: Item, field: "bytes" | "enumValues" | "properties" | "repetitions", n: number, unit: string): void {
    this[field] += n;
    const limit = SCHEMA_LIMITS[field];
    if (this[field] > limit.value)
      this.fail(undefined, `has more than ${describeLimit(limit, unit)}${field === "bytes" ? "" : " in all"} (at /${clipEcho(this.pathOf(item))})`);
  }

  private pathOf(item: Item): string {
    const path: string[] = [];
    for (let at: Item | undefined = item; at?.parent; at = at.parent) path.unshift(at.label);
    return path.join("/");
  }

  /** Size of a value that is not a schema (a description, a default, a literal), counted without recursion. */
  private plain(item: Item, value: unknown): void {
    const pending = [value];
    let bytes = 0;
    while (pending.length > 0) {
      const v = pending.pop();
      if (typeof v === "string") bytes += v.length + 2;
      else if (Array.isArray(v)) for (let i = 0; i < v.length && bytes <= SCHEMA_LIMITS.bytes.value; i++) ((bytes += 1), pending.push(v[i]));
      else if (isObject(v)) for (const [k, x] of Object.entries(v)) ((bytes += k.length + 4), pending.push(x));
      else bytes += String(v).length + 1;
      if (bytes > SCHEMA_LIMITS.bytes.value) break;
    }
    this.count(item, "bytes", bytes, "bytes");
  }

  /** Queues a subschema; its copy's slot is taken now, so the copy keeps the original's key order (node-llama-cpp generates properties in that order). */
  private child(parent: Item, into: Json | unknown[], key: string | number, label: string, node: unknown, scope: Scope | undefined): void {
    (into as Record<string | number, unknown>)[key] = undefined;
    this.stack.push({ node, into, key, label, depth: parent.depth + 1, scope, parent });
  }

  private visit(item: Item): void {
    if (!isObject(item.node)) this.fail(item, "must be an object (a schema)");
    if (item.depth > SCHEMA_LIMITS.depth.value) this.fail(item, `nests subschemas deeper than ${describeLimit(SCHEMA_LIMITS.depth, "levels")}`);
    const node = this.unwrapAllOf(item, item.node);
    for (const key of UNSUPPORTED) if (key in node) this.fail(item, `uses '${key}', which the grammar cannot follow`);
    if (node.anyOf !== undefined && node.oneOf !== undefined) this.fail(item, "has both anyOf and oneOf");
    const out: Json = {};
    (item.into as Record<string | number, unknown>)[item.key] = out;
    this.checkType(item, node.type);
    const scope = this.scopeOf(item, node);
    for (const [key, value] of Object.entries(node)) {
      this.count(item, "bytes", key.length + 4, "bytes");
      if (key === "anyOf" || key === "oneOf") this.list(item, out, "oneOf", value, scope, true);
      else if (key === "prefixItems") this.list(item, out, key, value, scope, false);
      else if (key === "properties") this.props(item, out, value, scope);
      else if (key === "$defs") this.defs(item, out, value, scope);
      else if (key === "items" || (key === "additionalProperties" && typeof value !== "boolean")) this.child(item, out, key, key, value, scope);
      else {
        this.plain(item, value);
        out[key] = value;
      }
    }
    this.checkValues(item, node, scope);
  }

  /** `allOf: [X]` (pydantic's way to annotate a reference) is X; any other allOf cannot be a grammar. */
  private unwrapAllOf(item: Item, node: Json): Json {
    if (node.allOf === undefined) return node;
    const shape = ["type", "oneOf", "anyOf", "enum", "const", "$ref", "properties", "items"].some((k) => k in node);
    if (!Array.isArray(node.allOf) || node.allOf.length !== 1 || shape || !isObject(node.allOf[0]))
      this.fail(item, "uses allOf, which the grammar can follow only as a single subschema");
    const { allOf, ...rest } = node;
    return { ...rest, ...(allOf as Json[])[0] };
  }

  private checkType(item: Item, type: unknown): void {
    if (type === undefined) return;
    const list = Array.isArray(type) ? type : [type];
    if (list.length === 0) this.fail(item, "has an empty type list");
    for (const t of list) {
      if (typeof t !== "string" || !TYPES.has(t)) this.fail(item, `has type ${clipEcho(JSON.stringify(t))}; the types are ${[...TYPES].join(", ")}`);
      if (Array.isArray(type) && !BASIC_TYPES.has(t))
        this.fail(item, `lists type '${t}' with others; a type list may hold only ${[...BASIC_TYPES].join(", ")} (use oneOf)`);
    }
  }

  private scopeOf(item: Item, node: Json): Scope | undefined {
    if (node.$defs === undefined) return item.scope;
    if (!isObject(node.$defs)) this.fail(item, "has a $defs that is not an object");
    return { names: new Set(Object.keys(node.$defs)), parent: item.scope };
  }

  private list(item: Item, out: Json, key: string, value: unknown, scope: Scope | undefined, nonEmpty: boolean): void {
    if (!Array.isArray(value) || (nonEmpty && value.length === 0))
      this.fail(item, `has a ${key} that is not a${nonEmpty ? " non-empty" : "n"} array of schemas`);
    const copy: unknown[] = [];
    out[key] = copy;
    value.forEach((v, i) => this.child(item, copy, i, `${key}/${i}`, v, scope));
  }

  private props(item: Item, out: Json, value: unknown, scope: Scope | undefined): void {
    if (!isObject(value)) this.fail(item, "has properties that are not an object");
    const copy: Json = {};
    out.properties = copy;
    const entries = Object.entries(value);
    this.count(item, "properties", entries.length, "properties");
    for (const [name, v] of entries) {
      this.count(item, "bytes", name.length + 4, "bytes");
      this.child(item, copy, name, `properties/${name}`, v, scope);
    }
  }

  private defs(item: Item, out: Json, value: unknown, scope: Scope | undefined): void {
    const copy: Json = {};
    out.$defs = copy;
    for (const [name, v] of Object.entries(value as Json)) {
      this.count(item, "bytes", name.length + 4, "bytes");
      this.child(item, copy, name, `$defs/${name}`, v, scope);
    }
  }

  private checkValues(item: Item, node: Json, scope: Scope | undefined): void {
    if (node.$ref !== undefined) this.checkRef(item, node.$ref, scope);
    if (node.const !== undefined) {
      if (!isLiteral(node.const)) this.fail(item, "has a const that is not a string, number, boolean or null");
      this.count(item, "enumValues", 1, "enum values and consts");
    }
    if (node.enum !== undefined) {
      if (!Array.isArray(node.enum) || node.enum.length === 0 || !node.enum.every(isLiteral))
        this.fail(item, "has an enum that is not a non-empty list of strings, numbers, booleans or nulls");
      this.count(item, "enumValues", node.enum.length, "enum values and consts");
    }
    if (node.format !== undefined && node.type === "string" && !(typeof node.format === "string" && FORMATS.has(node.format))) {
      this.fail(item, `has format ${clipEcho(JSON.stringify(node.format))}; the grammar follows only ${[...FORMATS].join(", ")}`);
    }
    for (const bound of NUMBER_BOUNDS) {
      const v = node[bound];
      // A boolean exclusiveMinimum/exclusiveMaximum is draft 4's (OpenAPI 3.0's, zod's openApi3 target): "minimum is exclusive".
      if (typeof v === "boolean" && bound.startsWith("exclusive")) continue;
      if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || (bound === "multipleOf" && v <= 0)))
        this.fail(item, `has ${bound} ${clipEcho(JSON.stringify(v))}; it must be a ${bound === "multipleOf" ? "positive " : ""}number`);
    }
    for (const bound of BOUNDS) {
      const v = node[bound];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
        this.fail(item, `has ${bound} ${clipEcho(JSON.stringify(v))}; it must be a non-negative integer`);
      if (bound.startsWith("min") && v > LLAMA_MAX_REPETITION) this.fail(item, `has ${bound} ${v}; llama.cpp repeats at most ${LLAMA_MAX_REPETITION} times`);
      this.count(item, "repetitions", Math.min(v, LLAMA_MAX_REPETITION), "repetitions (minLength, maxItems...)");
    }
  }

  /** node-llama-cpp follows only `#/$defs/<name>` to a definition in scope; anything else would become "any JSON". */
  private checkRef(item: Item, ref: unknown, scope: Scope | undefined): void {
    const name = typeof ref === "string" && ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : undefined;
    let found = false;
    for (let s = scope; s && !found && name !== undefined && !name.includes("/"); s = s.parent) found = s.names.has(name);
    if (!found)
      this.fail(
        item,
        `has $ref ${clipEcho(JSON.stringify(ref))}, which the grammar cannot follow: only '${REF_PREFIX}<name>' naming a definition in $defs here or above is followed`,
      );
  }
}

export interface CheckedSchema {
  /** The copy to give node-llama-cpp. */
  schema: Json;
  /** About its size as JSON text. */
  bytes: number;
}

/**
 * Checks `schema` (the value at `param`) and returns the copy to give node-llama-cpp; throws a
 * 400 `invalid_schema` naming `param`, the place in the schema and the limit.
 */
export function checkJsonSchema(schema: unknown, param: string): CheckedSchema {
  const checked = new SchemaWalk(param).run(schema);
  checkSchemaAmbiguity(checked.schema, param);
  return checked;
}
