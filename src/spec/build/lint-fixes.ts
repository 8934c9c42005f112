/**
 * Repairs to OpenAI's published spec that make the extended spec lint-clean (`redocly lint`, JSON
 * Schema 2020-12 as OpenAPI 3.1 defines it) without changing what it accepts. Each repair is
 * counted, so that a new vendored spec that no longer needs one shows in the generate log.
 */
type Json = Record<string, any>;

export interface LintFixReport {
  /** `$recursiveAnchor`/`$recursiveRef` (draft 2019-09, not 2020-12) turned into a plain `$ref` to the component. */
  recursiveRefs: number;
  /** `min_items`/`max_items` (misspelled, so ignored by every validator) turned into `minItems`/`maxItems` where they were meant. */
  itemBounds: number;
  /** `optional: true` (not a keyword: a property is optional by not being `required`) removed. */
  optionalFlags: number;
  /**
   * Empty `allOf` branches dropped: they match anything, so the schema is unchanged. They are what is
   * left of OpenAI's `allOf: [{$ref}, {nullable: true}]` once `nullable` is rewritten.
   */
  emptyAllOfBranches: number;
  /** Webhook operations given a `summary` (from their description) as every operation must have one. */
  webhookSummaries: number;
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function walk(node: unknown, visit: (n: Json) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
  } else if (isObject(node)) {
    visit(node);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

/**
 * `$recursiveRef: "#"` with `$recursiveAnchor` on the component means "this component", which in
 * a component is simply a `$ref` to it (nothing extends these schemas dynamically).
 */
function fixRecursiveRefs(schemas: Json): number {
  let fixed = 0;
  for (const [name, schema] of Object.entries(schemas)) {
    if (!isObject(schema) || !("$recursiveAnchor" in schema)) continue;
    delete schema.$recursiveAnchor;
    walk(schema, (n) => {
      if (n.$recursiveRef !== "#") return;
      delete n.$recursiveRef;
      n.$ref = `#/components/schemas/${name}`;
      fixed++;
    });
  }
  return fixed;
}

/** On an array's `items` the bounds were meant for the array (GraderScoreModel.range is a pair); elsewhere they are renamed in place. */
function fixItemBounds(doc: Json): number {
  let fixed = 0;
  const bounds: [string, string][] = [
    ["min_items", "minItems"],
    ["max_items", "maxItems"],
  ];
  walk(doc, (n) => {
    for (const [wrong, right] of bounds) {
      const items = n.items;
      if (n.type === "array" && isObject(items) && typeof items[wrong] === "number") {
        n[right] ??= items[wrong];
        delete items[wrong];
        fixed++;
      }
      if (typeof n[wrong] === "number" && (n.type === "array" || "items" in n)) {
        n[right] ??= n[wrong];
        delete n[wrong];
        fixed++;
      }
    }
  });
  return fixed;
}

/** Only boolean flags next to a `type`: a property named "optional" lives in a `properties` map, as an object. */
function fixOptionalFlags(doc: Json): number {
  let fixed = 0;
  walk(doc, (n) => {
    if (typeof n.optional === "boolean" && "type" in n) {
      delete n.optional;
      fixed++;
    }
  });
  return fixed;
}

function fixEmptyAllOfBranches(doc: Json): number {
  let fixed = 0;
  walk(doc, (n) => {
    if (!Array.isArray(n.allOf)) return;
    const kept = n.allOf.filter((branch: unknown) => !(isObject(branch) && Object.keys(branch).length === 0));
    if (kept.length === n.allOf.length || kept.length === 0) return;
    fixed += n.allOf.length - kept.length;
    // One branch left: the schema itself (in 3.1 a `$ref` may have siblings), unless a key would clash.
    const [only] = kept;
    if (kept.length === 1 && isObject(only) && Object.keys(only).every((k) => !(k in n))) {
      delete n.allOf;
      Object.assign(n, only);
    } else {
      n.allOf = kept;
    }
  });
  return fixed;
}

const SUMMARY_MAX = 80;

function fixWebhookSummaries(webhooks: Json | undefined): number {
  let fixed = 0;
  for (const [name, item] of Object.entries(webhooks ?? {})) {
    if (!isObject(item)) continue;
    for (const op of Object.values(item)) {
      if (!isObject(op) || typeof op.summary === "string") continue;
      const firstLine = typeof op.description === "string" ? op.description.trim().split("\n")[0].replace(/\.$/, "") : "";
      op.summary = (firstLine || `The ${name} webhook`).slice(0, SUMMARY_MAX);
      fixed++;
    }
  }
  return fixed;
}

export function applyLintFixes(doc: Json): LintFixReport {
  const schemas: Json = doc.components?.schemas ?? {};
  return {
    recursiveRefs: fixRecursiveRefs(schemas),
    itemBounds: fixItemBounds(doc),
    optionalFlags: fixOptionalFlags(doc),
    emptyAllOfBranches: fixEmptyAllOfBranches(doc),
    webhookSummaries: fixWebhookSummaries(doc.webhooks),
  };
}

/** Operations the overlays mark as service routes: plain express routes, outside the dispatch table. */
export const SERVICE_MARK = "x-understudy-service";

export function serviceOperationIds(doc: Json): Set<string> {
  const ids = new Set<string>();
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const op of Object.values(item)) if (isObject(op) && op[SERVICE_MARK] === true && typeof op.operationId === "string") ids.add(op.operationId);
  }
  return ids;
}
