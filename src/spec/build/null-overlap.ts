/**
 * Whether a schema lets `null` through, read from its keywords (through `$ref`), and the check
 * `npm run generate` runs on the normalized spec: a `oneOf` with two branches that both admit null
 * refuses null (JSON Schema's oneOf wants exactly one match), which is how `stop: null`, the
 * spec's own default, became a 400.
 */
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export function resolveRef(doc: Json, ref: string): Json | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split("/")) {
    if (!isObject(node)) return undefined;
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return isObject(node) ? node : undefined;
}

/**
 * True when every keyword of `schema` that constrains a value's kind lets null through. `not`
 * (whose effect on null this does not work out) counts as refusing: the check then finds fewer
 * overlaps, never a false one. `nullable: true` (OpenAPI 3.0, before normalization) admits null.
 */
export function admitsNull(doc: Json, schema: unknown, seen: ReadonlySet<string> = new Set()): boolean {
  if (schema === true) return true;
  if (!isObject(schema)) return false;
  if (typeof schema.$ref === "string") {
    // A cycle admits what its other keywords admit: the reference adds nothing new on the way round.
    if (!seen.has(schema.$ref) && !admitsNull(doc, resolveRef(doc, schema.$ref), new Set([...seen, schema.$ref]))) return false;
  }
  if (schema.nullable === true) return true;
  if ("type" in schema && !(Array.isArray(schema.type) ? schema.type : [schema.type]).includes("null")) return false;
  if ("const" in schema && schema.const !== null) return false;
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) return false;
  if ("not" in schema) return false;
  if (Array.isArray(schema.allOf) && !schema.allOf.every((s) => admitsNull(doc, s, seen))) return false;
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => admitsNull(doc, s, seen))) return false;
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter((s) => admitsNull(doc, s, seen)).length !== 1) return false;
  return true;
}

/**
 * JSON pointers of every `oneOf` in `doc` with more than one branch admitting null, where null can
 * reach it (a sibling `type: object` already refuses null, whatever the branches say).
 */
export function nullOverlaps(doc: Json): string[] {
  const found: string[] = [];
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, `${pointer}/${i}`));
    if (!isObject(node)) return;
    if (Array.isArray(node.oneOf) && node.oneOf.filter((s) => admitsNull(doc, s)).length > 1) {
      const { oneOf: _branches, ...siblings } = node;
      if (admitsNull(doc, siblings)) found.push(pointer);
    }
    for (const [key, value] of Object.entries(node)) visit(value, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`);
  };
  visit(doc, "#");
  return found;
}

/** A schema's properties, through `$ref` and nested `allOf`, each with every schema given for it. */
function propertySchemas(doc: Json, schema: unknown, out: Map<string, unknown[]>, depth = 0): Map<string, unknown[]> {
  if (!isObject(schema) || depth > 16) return out;
  if (typeof schema.$ref === "string") propertySchemas(doc, resolveRef(doc, schema.$ref), out, depth + 1);
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf) propertySchemas(doc, part, out, depth + 1);
  if (isObject(schema.properties)) {
    for (const [name, prop] of Object.entries(schema.properties)) out.set(name, [...(out.get(name) ?? []), prop]);
  }
  return out;
}

/** The schema names null explicitly (a `null` type, `nullable`), itself or in a branch. */
function declaresNull(doc: Json, schema: unknown, depth = 0): boolean {
  if (!isObject(schema) || depth > 16) return false;
  if (typeof schema.$ref === "string" && declaresNull(doc, resolveRef(doc, schema.$ref), depth + 1)) return true;
  if (schema.nullable === true || schema.type === "null" || (Array.isArray(schema.type) && schema.type.includes("null"))) return true;
  return ["anyOf", "oneOf"].some((k) => Array.isArray(schema[k]) && (schema[k] as unknown[]).some((b) => declaresNull(doc, b, depth + 1)));
}

/**
 * `<pointer> <property>` for every `allOf` where one part says a property may be null and another
 * refuses null for it: all parts apply, so null is refused though declared (the chat request's
 * `top_logprobs`, nullable, over CreateModelResponseProperties' plain integer).
 */
export function allOfNullConflicts(doc: Json): string[] {
  const found: string[] = [];
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, `${pointer}/${i}`));
    if (!isObject(node)) return;
    if (Array.isArray(node.allOf)) {
      for (const [name, given] of propertySchemas(doc, node, new Map())) {
        if (given.length > 1 && given.some((s) => declaresNull(doc, s)) && given.some((s) => !admitsNull(doc, s))) found.push(`${pointer} ${name}`);
      }
    }
    for (const [key, value] of Object.entries(node)) visit(value, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`);
  };
  visit(doc, "#");
  return found;
}
