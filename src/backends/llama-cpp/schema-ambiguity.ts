/**
 * How ambiguous the grammar node-llama-cpp makes from a checked JSON schema is, counted without
 * expanding it. llama.cpp matches by keeping one parse stack for every way the grammar can be
 * at a point, and `anyOf: [{$ref: A}, {$ref: A}]` makes two stacks for everything inside A: a
 * chain of 30 such definitions is 2^30 stacks per character, a hang on the main thread, though
 * the schema is a few hundred bytes. So, for every subschema, the ways a value can be matched:
 * - oneOf/anyOf: the sum of its branches' ways; an enum: its number of values (a type list, its types);
 * - $ref: the ways of the definition, counted once (a reference inside its own definition
 *   counts as 1: the expansion stops there);
 * - an object or array: the most of any of its subschemas (their values are matched one at a time);
 * - anything else: 1.
 * Values saturate instead of overflowing. Runs once over the checked copy (schema-limits.ts),
 * each subschema once, iteratively.
 */
import { clipEcho, InvalidRequestError } from "../../core/errors.js";
import { describeLimit } from "../../core/env-limit.js";
import { SCHEMA_LIMITS } from "./request-limits.js";

type Json = Record<string, unknown>;

const REF_PREFIX = "#/$defs/";
/** Where counting stops: beyond every limit, and still exact in a double. */
const SATURATED = Number.MAX_SAFE_INTEGER;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The definitions a `$ref` can name at a point, innermost first (node-llama-cpp lets inner names hide outer ones). */
interface Scope {
  defs: Json;
  parent?: Scope;
}

interface Frame {
  node: Json;
  scope?: Scope;
  label: string;
  kids: Kid[];
  next: number;
  /** oneOf, enum, $ref: the sum of the kids; object, array: the most of them. */
  sum: boolean;
  ways: number;
}

interface Kid {
  node: Json;
  scope?: Scope;
  label: string;
}

class AmbiguityCount {
  private readonly memo = new Map<Json, number>();
  private readonly open = new Set<Json>();
  /** Each definition's own scope (the one its `$defs` belongs to), for following a `$ref` to it. */
  private readonly defScopes = new Map<Json, Scope>();
  private readonly stack: Frame[] = [];

  constructor(
    private readonly param: string,
    private readonly limit: number,
  ) {}

  run(root: Json): number {
    this.push({ node: root, label: "" });
    let result = 1;
    while (this.stack.length > 0) {
      const frame = this.stack[this.stack.length - 1];
      if (frame.next < frame.kids.length) {
        const kid = frame.kids[frame.next++];
        const known = this.open.has(kid.node) ? 1 : this.memo.get(kid.node);
        if (known === undefined) this.push(kid);
        else this.add(frame, known);
        continue;
      }
      this.stack.pop();
      this.open.delete(frame.node);
      this.memo.set(frame.node, frame.ways);
      if (frame.ways > this.limit) this.fail(frame);
      const parent = this.stack[this.stack.length - 1];
      if (parent) this.add(parent, frame.ways);
      else result = frame.ways;
    }
    return result;
  }

  private add(frame: Frame, ways: number): void {
    frame.ways = frame.sum ? Math.min(frame.ways + ways, SATURATED) : Math.max(frame.ways, ways);
  }

  /** Follows node-llama-cpp's reading: `$ref` first, then oneOf, const, enum, then the object/array parts. */
  private push(kid: Kid): void {
    const { node } = kid;
    const scope = this.scopeOf(node, kid.scope);
    const frame: Frame = { ...kid, scope, kids: [], next: 0, sum: true, ways: 0 };
    this.open.add(node);
    this.stack.push(frame);
    if (typeof node.$ref === "string") {
      const target = this.resolve(node.$ref, scope);
      if (target) frame.kids.push({ ...target, label: `$defs/${node.$ref.slice(REF_PREFIX.length)}` });
      else frame.ways = 1;
    } else if (Array.isArray(node.oneOf)) {
      node.oneOf.forEach((branch, i) => isObject(branch) && frame.kids.push({ node: branch, scope, label: `oneOf/${i}` }));
    } else if (node.const !== undefined) frame.ways = 1;
    else if (Array.isArray(node.enum)) frame.ways = Math.max(1, node.enum.length);
    else {
      frame.sum = false;
      frame.ways = Array.isArray(node.type) ? Math.max(1, node.type.length) : 1;
      if (isObject(node.properties))
        for (const [name, value] of Object.entries(node.properties)) if (isObject(value)) frame.kids.push({ node: value, scope, label: `properties/${name}` });
      for (const key of ["additionalProperties", "items"]) if (isObject(node[key])) frame.kids.push({ node: node[key] as Json, scope, label: key });
      if (Array.isArray(node.prefixItems))
        node.prefixItems.forEach((item, i) => isObject(item) && frame.kids.push({ node: item, scope, label: `prefixItems/${i}` }));
    }
  }

  private scopeOf(node: Json, outer: Scope | undefined): Scope | undefined {
    if (!isObject(node.$defs)) return outer;
    const scope: Scope = { defs: node.$defs, parent: outer };
    for (const def of Object.values(node.$defs)) if (isObject(def)) this.defScopes.set(def, scope);
    return scope;
  }

  /** The definition a `$ref` names (schema-limits.ts has checked it exists), and its own scope. */
  private resolve(ref: string, scope: Scope | undefined): { node: Json; scope?: Scope } | undefined {
    if (!ref.startsWith(REF_PREFIX)) return undefined;
    const name = ref.slice(REF_PREFIX.length);
    for (let s = scope; s; s = s.parent) {
      const def = Object.hasOwn(s.defs, name) ? s.defs[name] : undefined;
      if (isObject(def)) return { node: def, scope: this.defScopes.get(def) ?? s };
    }
    return undefined;
  }

  private fail(frame: Frame): never {
    const path = this.stack
      .map((f) => f.label)
      .concat(frame.label)
      .filter((l) => l !== "")
      .join("/");
    const where = path === "" ? "The JSON schema" : `The JSON schema at /${clipEcho(path)}`;
    throw new InvalidRequestError(
      `${where} can be matched in more than ${describeLimit(SCHEMA_LIMITS.ambiguity, "ways")}: its anyOf/oneOf branches multiply through $refs, and llama.cpp's grammar matcher does the work of every way at every character`,
      this.param,
      "invalid_schema",
    );
  }
}

/**
 * The ways `schema` (a copy checked by schema-limits.ts) can be matched; throws a 400
 * `invalid_schema` naming `param` and the limit when there are more than SCHEMA_LIMITS.ambiguity.
 */
export function checkSchemaAmbiguity(schema: Json, param: string): number {
  return new AmbiguityCount(param, SCHEMA_LIMITS.ambiguity.value).run(schema);
}
