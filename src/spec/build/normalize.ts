/**
 * Turns the OpenAPI 3.0 idioms left in OpenAI's "3.1" spec into valid 3.1 / JSON Schema 2020-12,
 * so that validators and code generators read the document the way OpenAI means it.
 */
import { admitsNull, resolveRef } from "./null-overlap.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export interface NormalizeReport {
  nullable: number;
  exclusiveBounds: number;
  mappingsAdded: number;
  discriminatorsDropped: string[];
}

export function normalizeSpec(doc: Json): NormalizeReport {
  const report: NormalizeReport = { nullable: 0, exclusiveBounds: 0, mappingsAdded: 0, discriminatorsDropped: [] };
  walk(doc, "#", (node, pointer) => {
    fixExclusiveBounds(node, report);
    fixNullable(doc, node, report);
    if (isObject(node.discriminator)) fixDiscriminator(doc, node, pointer, report);
  });
  return report;
}

function walk(node: unknown, pointer: string, visit: (node: Json, pointer: string) => void): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${pointer}/${i}`, visit));
    return;
  }
  if (!isObject(node)) return;
  visit(node, pointer);
  for (const [key, value] of Object.entries(node)) walk(value, `${pointer}/${escapePointer(key)}`, visit);
}

const escapePointer = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");

function fixExclusiveBounds(node: Json, report: NormalizeReport): void {
  for (const [flag, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof node[flag] !== "boolean") continue;
    report.exclusiveBounds++;
    if (node[flag] === true && typeof node[bound] === "number") {
      node[flag] = node[bound];
      delete node[bound];
    } else {
      delete node[flag];
    }
  }
}

function fixNullable(doc: Json, node: Json, report: NormalizeReport): void {
  if (!("nullable" in node)) return;
  const nullable = node.nullable === true;
  delete node.nullable;
  if (!nullable) return;
  report.nullable++;
  if (typeof node.type === "string" || Array.isArray(node.type)) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.includes("null")) node.type = [...types, "null"];
    if (Array.isArray(node.enum) && !node.enum.includes(null)) node.enum = [...node.enum, null];
    return;
  }
  for (const combinator of ["anyOf", "oneOf"] as const) {
    const branches = node[combinator];
    if (Array.isArray(branches)) {
      nullInOneBranch(doc, branches);
      return;
    }
  }
  if (typeof node.$ref === "string" || Array.isArray(node.allOf)) {
    const inner: Json = {};
    for (const key of ["$ref", "allOf"]) {
      if (key in node) {
        inner[key] = node[key];
        delete node[key];
      }
    }
    node.anyOf = [inner, { type: "null" }];
  }
  // A schema with no type, $ref or combinator already accepts null.
}

/**
 * A nullable combinator gets null in exactly one branch: a `oneOf` whose branches both admit null
 * refuses null. OpenAI's spec marks both the combinator and a branch nullable (StopConfiguration:
 * nullable oneOf of a nullable string and an array), so an inline branch's own `nullable` is
 * dropped for a `{type: null}` branch; a branch that admits null by reference (a shared schema,
 * which cannot be changed for this one use) is left to carry it, and no null branch is added.
 */
function nullInOneBranch(doc: Json, branches: unknown[]): void {
  for (const branch of branches) {
    if (isObject(branch) && branch.nullable === true && typeof branch.$ref !== "string") delete branch.nullable;
  }
  if (!branches.some((branch) => admitsNull(doc, branch))) branches.push({ type: "null" });
}

/** The values a variant's discriminator property may take, read from `const` or `enum` (through allOf and $ref). */
function discriminatorValues(doc: Json, schema: Json | undefined, property: string, depth = 0): string[] | undefined {
  if (!schema || depth > 8) return undefined;
  if (typeof schema.$ref === "string") return discriminatorValues(doc, resolveRef(doc, schema.$ref), property, depth + 1);
  const props = schema.properties;
  if (isObject(props) && isObject(props[property])) {
    let prop = props[property] as Json;
    if (typeof prop.$ref === "string") prop = resolveRef(doc, prop.$ref) ?? prop;
    if (typeof prop.const === "string") return [prop.const];
    if (Array.isArray(prop.enum) && prop.enum.every((v) => typeof v === "string")) return prop.enum as string[];
  }
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf) {
      const found = discriminatorValues(doc, part as Json, property, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function fixDiscriminator(doc: Json, node: Json, pointer: string, report: NormalizeReport): void {
  const discriminator = node.discriminator as Json;
  if (isObject(discriminator.mapping)) return;
  const variants = (node.oneOf ?? node.anyOf) as unknown;
  const property = discriminator.propertyName;
  const mapping = Array.isArray(variants) && typeof property === "string" ? deriveMapping(doc, variants, property) : undefined;
  if (mapping) {
    discriminator.mapping = mapping;
    report.mappingsAdded++;
  } else {
    // Without a usable mapping, tools fall back to schema names as values, which is wrong here.
    delete node.discriminator;
    report.discriminatorsDropped.push(pointer);
  }
}

function deriveMapping(doc: Json, variants: unknown[], property: string): Record<string, string> | undefined {
  const mapping: Record<string, string> = {};
  for (const variant of variants) {
    if (!isObject(variant) || typeof variant.$ref !== "string") return undefined;
    const values = discriminatorValues(doc, variant, property);
    if (!values || values.length === 0) return undefined;
    for (const value of values) {
      if (value in mapping && mapping[value] !== variant.$ref) return undefined;
      mapping[value] = variant.$ref;
    }
  }
  return mapping;
}
