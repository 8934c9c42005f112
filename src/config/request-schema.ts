/**
 * Validators for registration request_defaults / request_overrides: the same extended-spec request
 * schemas the server validates requests with. A default is a partial body (no `required`), so each
 * field is checked against its own property schema, compiled on first use: compiling the whole
 * chat request schema would cost a third of a second at every start.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { routes } from "../generated/routes.js";
import { ENDPOINTS, type EndpointId } from "../core/operations.js";
import { validationSpec } from "../spec/extended-spec.js";

export interface PartialBodyValidator {
  validate(body: Record<string, unknown>): ErrorObject[];
  /** Top-level fields this endpoint's request declares. */
  fields: ReadonlySet<string>;
  /** The fields of its `x-localai-extensions` object. */
  extensionFields: ReadonlySet<string>;
}

type Schema = Record<string, any>;
const SPEC_ID = "understudy-spec.json";
const cache = new Map<EndpointId, PartialBodyValidator>();
let ajv: Ajv2020 | undefined;
const ENDPOINT_IDS: ReadonlySet<string> = new Set(ENDPOINTS);
/** Components of the request schemas, from the (generated) validation subset. */
const spec = () => validationSpec(ENDPOINT_IDS, false);

function sharedAjv(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
  ajv.addSchema({ $id: SPEC_ID, components: spec().components }, SPEC_ID);
  return ajv;
}

const componentOf = (ref: string): Schema => spec().components.schemas[ref.split("/").pop()!];

/** field -> its property schema, through allOf and $ref parts. */
function propertySchemas(schema: Schema, out = new Map<string, Schema>()): Map<string, Schema> {
  for (const [field, prop] of Object.entries<Schema>(schema.properties ?? {})) out.set(field, prop);
  for (const part of schema.allOf ?? []) propertySchemas(part.$ref ? componentOf(part.$ref) : part, out);
  return out;
}

/** A copy whose $refs point into the shared spec document registered with ajv. */
function rebased(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebased);
  if (!node || typeof node !== "object") return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? `${SPEC_ID}${v}` : rebased(v)]));
}

function schemaNameOf(endpoint: EndpointId): string {
  const route = routes.find((r) => r.operationId === endpoint);
  if (!route?.requestBodySchema) throw new Error(`no JSON request schema for ${endpoint}`);
  return route.requestBodySchema;
}

export function partialBodyValidator(endpoint: EndpointId): PartialBodyValidator {
  const hit = cache.get(endpoint);
  if (hit) return hit;
  const props = propertySchemas(spec().components.schemas[schemaNameOf(endpoint)]);
  const compiled = new Map<string, ValidateFunction>();
  const fieldValidator = (field: string) => {
    let fn = compiled.get(field);
    if (!fn) {
      fn = sharedAjv().compile(rebased(props.get(field)) as Schema);
      compiled.set(field, fn);
    }
    return fn;
  };
  const extRef: string | undefined = props.get("x-localai-extensions")?.$ref;
  const validator: PartialBodyValidator = {
    fields: new Set(props.keys()),
    extensionFields: new Set(extRef ? Object.keys(componentOf(extRef).properties ?? {}) : []),
    validate(body) {
      const errors: ErrorObject[] = [];
      for (const [field, value] of Object.entries(body)) {
        if (!props.has(field)) {
          errors.push({
            instancePath: "",
            schemaPath: "#/additionalProperties",
            keyword: "additionalProperties",
            params: { additionalProperty: field },
            message: "must NOT have additional properties",
          });
          continue;
        }
        const fn = fieldValidator(field);
        if (!fn(value)) errors.push(...(fn.errors ?? []).map((e) => ({ ...e, instancePath: `/${field}${e.instancePath}` })));
      }
      return errors;
    },
  };
  cache.set(endpoint, validator);
  return validator;
}
