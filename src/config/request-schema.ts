/**
 * Validators for registration request_defaults / request_overrides: the same extended-spec request
 * schemas the server validates requests with, minus `required` (a default is a partial body).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { routes } from "../generated/routes.js";
import type { EndpointId } from "../backends/types.js";
import { extendedSpec, validationSubset } from "../spec/extended-spec.js";

export interface PartialBodyValidator {
  validate(body: unknown): ErrorObject[];
  /** Top-level fields this endpoint's request declares. */
  fields: ReadonlySet<string>;
  /** The fields of its `x-localai-extensions` object. */
  extensionFields: ReadonlySet<string>;
}

const cache = new Map<EndpointId, PartialBodyValidator>();
let ajv: Ajv2020 | undefined;

function schemaNameOf(endpoint: EndpointId): string {
  const route = routes.find((r) => r.operationId === endpoint);
  if (!route?.requestBodySchema) throw new Error(`no JSON request schema for ${endpoint}`);
  return route.requestBodySchema;
}

const SPEC_ID = "understudy-spec.json";

function sharedAjv(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const subset = validationSubset(extendedSpec(), new Set(["createChatCompletion", "createCompletion", "createEmbedding"]));
  ajv.addSchema({ $id: SPEC_ID, components: subset.components }, SPEC_ID);
  return ajv;
}

/** A copy of the top of the schema without `required`, its $refs pointed at the shared spec document. */
function partial(schema: Record<string, any>): Record<string, unknown> {
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === "$ref" && typeof v === "string" ? `${SPEC_ID}${v}` : rewrite(v);
    return out;
  };
  const copy = rewrite(schema) as Record<string, any>;
  delete copy.required;
  if (Array.isArray(copy.allOf)) {
    copy.allOf = copy.allOf.map((part: Record<string, any>) => {
      const { required: _omit, ...rest } = part;
      return rest;
    });
  }
  return copy;
}

function declaredFields(schema: Record<string, any>, spec: Record<string, any>): Set<string> {
  const fields = new Set<string>(Object.keys(schema.properties ?? {}));
  for (const part of schema.allOf ?? []) {
    const resolved = part.$ref ? spec.components.schemas[part.$ref.split("/").pop()] : part;
    for (const f of declaredFields(resolved, spec)) fields.add(f);
  }
  return fields;
}

function extensionFieldsOf(schema: Record<string, any>, spec: Record<string, any>): Set<string> {
  const props = schema.properties ?? schema.allOf?.find((p: Record<string, any>) => p.properties?.["x-localai-extensions"])?.properties;
  const ref: string | undefined = props?.["x-localai-extensions"]?.$ref;
  return new Set(ref ? Object.keys(spec.components.schemas[ref.split("/").pop()!].properties ?? {}) : []);
}

export function partialBodyValidator(endpoint: EndpointId): PartialBodyValidator {
  const hit = cache.get(endpoint);
  if (hit) return hit;
  const spec = extendedSpec();
  const schema = spec.components.schemas[schemaNameOf(endpoint)];
  const fn: ValidateFunction = sharedAjv().compile(partial(schema));
  const validator = {
    validate: (body: unknown) => (fn(body) ? [] : [...(fn.errors ?? [])]),
    fields: declaredFields(schema, spec),
    extensionFields: extensionFieldsOf(schema, spec),
  };
  cache.set(endpoint, validator);
  return validator;
}
