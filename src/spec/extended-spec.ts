import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../core/paths.js";

export type SpecDocument = Record<string, any>;

let cached: SpecDocument | undefined;

/** The generated extended spec (openapi/extended.json), parsed once per process; callers must not mutate it. */
export function extendedSpec(): SpecDocument {
  cached ??= JSON.parse(fs.readFileSync(extendedSpecPath(), "utf8")) as SpecDocument;
  return cached;
}

export const extendedSpecPath = () => path.join(projectRoot(), "openapi/extended.json");
export const validationSpecPath = () => path.join(projectRoot(), "openapi/validation.json");

/** The operations openapi/validation.json was generated for. */
export const OPERATIONS_KEY = "x-understudy-operations";

let generatedSubset: SpecDocument | null | undefined;

/**
 * The validation subset for these operations: the generated openapi/validation.json when it covers
 * them (`exact`: exactly them), else computed from the full spec. Reading the small generated file
 * instead of parsing the 3.4 MB spec is a tenth of a second off every start.
 */
export function validationSpec(operationIds: ReadonlySet<string>, exact = true): SpecDocument {
  if (generatedSubset === undefined) {
    generatedSubset = fs.existsSync(validationSpecPath()) ? (JSON.parse(fs.readFileSync(validationSpecPath(), "utf8")) as SpecDocument) : null;
  }
  const covered = new Set<string>(generatedSubset?.[OPERATIONS_KEY] ?? []);
  const fits = [...operationIds].every((id) => covered.has(id)) && (!exact || covered.size === operationIds.size);
  return fits && generatedSubset ? generatedSubset : validationSubset(extendedSpec(), operationIds);
}

/**
 * Keys the validator must not see: documentation; `discriminator`, which only names the branch a
 * `oneOf` already decides (express-openapi-validator compiles a validator for every discriminator
 * variant at start-up, about half a second for the chat request alone, and uses them only for a
 * discriminated request body, which none of ours is); and `default`. The spec's defaults document
 * what OpenAI does with an absent field; the validator (ajv `useDefaults`) would write them into
 * the body, and every upstream would then receive `n: 1`, `temperature: 1`, `max_tokens: 16`...
 * that the client never sent, overriding the upstream's own per-model defaults. Without them the
 * validated body is exactly the client's, and each backend applies its own defaults.
 */
const DOC_ONLY_KEYS = new Set(["description", "summary", "example", "examples", "title", "externalDocs", "deprecated", "discriminator", "default"]);
/** Keys whose value is a map of names chosen by the spec author, not schema keywords. */
const NAME_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "mapping", "schemas", "responses", "paths"]);

/** Keys whose value is data, copied as it is. */
const VALUE_KEYS = new Set(["const", "enum"]);

/**
 * The part of the spec the validator must see: the given operations and every component they
 * reference, without documentation. express-openapi-validator walks its whole input at start-up,
 * so a small input is a fast start.
 */
export function validationSubset(doc: SpecDocument, operationIds: ReadonlySet<string>): SpecDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  let rootPaths = false;
  for (const [specPath, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!operationIds.has(op?.operationId)) continue;
      // A path item with its own server (Sourcegraph's `/.api/...`, at the root) is validated under "/" too.
      if (item.servers !== undefined) rootPaths = true;
      const pathOnly = specPath.split("?")[0];
      paths[pathOnly] ??= {};
      paths[pathOnly][method] = {
        operationId: op.operationId,
        parameters: op.parameters,
        requestBody: op.requestBody,
        responses: { default: { description: "any" } },
      };
    }
  }
  const schemas: Record<string, unknown> = {};
  const pending = collectRefs(paths);
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name in schemas) continue;
    const schema = doc.components.schemas[name];
    if (schema === undefined) throw new Error(`unresolved schema reference: ${name}`);
    schemas[name] = schema;
    pending.push(...collectRefs(schema));
  }
  openRequestBodies(paths, schemas);
  const subset = stripDocs({
    openapi: doc.openapi,
    info: { title: doc.info.title, version: doc.info.version },
    // The validator reads only the top-level servers: "/" is added for the paths that live at the root.
    servers: rootPaths ? [{ url: "/v1" }, { url: "/" }] : [{ url: "/v1" }],
    paths,
    components: { schemas },
  }) as SpecDocument;
  return { ...subset, [OPERATIONS_KEY]: [...operationIds].sort() };
}

/**
 * Top-level fields a request schema does not declare are refused, or passed on, once the model is
 * resolved (handlers/inference.ts): whether a field is unknown to the backend depends on the
 * backend (`extra_fields`). So the validator does not refuse them itself, even where OpenAI's
 * schema says `additionalProperties: false` (the embeddings request). Nested objects keep theirs.
 */
function openRequestBodies(paths: Record<string, Record<string, any>>, schemas: Record<string, unknown>): void {
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      const ref: unknown = op.requestBody?.content?.["application/json"]?.schema?.$ref;
      const name = typeof ref === "string" ? ref.slice("#/components/schemas/".length) : undefined;
      const schema = name === undefined ? undefined : (schemas[name] as Record<string, unknown> | undefined);
      if (name === undefined || schema?.additionalProperties !== false) continue;
      const { additionalProperties: _closed, ...open } = schema;
      schemas[name] = open;
    }
  }
}

/** The names of the components `node` refers to, anywhere inside it (with repeats). */
export function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, out);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith("#/components/schemas/")) {
        out.push(value.slice("#/components/schemas/".length).split("/")[0]);
      } else collectRefs(value, out);
    }
  }
  return out;
}

function stripDocs(node: unknown, isNameMap = false): unknown {
  if (Array.isArray(node)) return node.map((item) => stripDocs(item));
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!isNameMap && (DOC_ONLY_KEYS.has(key) || key.startsWith("x-oai"))) continue;
    if (!isNameMap && VALUE_KEYS.has(key)) {
      out[key] = value;
      continue;
    }
    out[key] = stripDocs(value, !isNameMap && NAME_MAPS.has(key));
  }
  return out;
}
