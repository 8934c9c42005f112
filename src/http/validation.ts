/**
 * The one request validator (express-openapi-validator over the validation subset), created on the
 * first request that needs it. Importing it and building its middleware (its OpenAPI meta-schema
 * compile, the schema preprocessing) took about half of a start; most requests a fresh server
 * answers first (`GET /v1/models`, `/health`) need none of it. Both layers (express-dispatch via
 * `forOperation`, the fast path's RouteValidator via `chain`) go through the same instance.
 */
import type { RequestHandler } from "express";
import { collectRefs, validationSpec, type SpecDocument } from "../spec/extended-spec.js";
import { runChain } from "./express-dispatch.js";
import { releaseStartupHeap } from "./young-generation.js";

export interface RequestValidator {
  /** eov's middlewares once created (undefined before): lets a caller skip an await per request. */
  readonly ready: readonly RequestHandler[] | undefined;
  /** eov's middlewares; the first call imports and creates them, concurrent callers share the promise. */
  chain(): Promise<readonly RequestHandler[]>;
  /** Starts creating the middlewares without a request (errors surface on the first request instead). */
  warm(): void;
  /** The express middleware that validates this operation: none when it has nothing to validate. */
  forOperation(operationId: string): RequestHandler[];
}

/** express-openapi-validator over just these operations (see validationSubset), created lazily. */
export function createRequestValidator(operationIds: ReadonlySet<string>): RequestValidator {
  const spec = validationSpec(operationIds);
  const unconstrained = operationsWithNothingToValidate(spec);
  let pending: Promise<readonly RequestHandler[]> | undefined;
  let ready: readonly RequestHandler[] | undefined;
  const chain = () =>
    (pending ??= createMiddlewares(spec).then((created) => {
      ready = created;
      return created;
    }));
  return {
    get ready() {
      return ready;
    },
    chain,
    warm: () => void chain().catch(() => {}),
    forOperation: (operationId) => (unconstrained.has(operationId) ? [] : [validating(chain, () => ready)]),
  };
}

async function createMiddlewares(spec: SpecDocument): Promise<readonly RequestHandler[]> {
  const OpenApiValidator = await import("express-openapi-validator");
  const middlewares = OpenApiValidator.middleware({
    apiSpec: withComponentsCompiledApart(spec) as never,
    validateApiSpec: false,
    validateRequests: { allowUnknownQueryParameters: true, allErrors: false },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
    fileUploader: false,
    // Bundled, not dereferenced: inlining saved ~120 ms of the validator's creation (which is off
    // the start-up path now) but doubled its cost per request (8.5 -> 18.5 µs, bench/validation.mjs).
    $refParser: { mode: "bundle" },
  }) as RequestHandler[];
  // eov's first middleware calls next once it has processed the spec: the end of the start-up
  // burst (young-generation.ts), whatever the request's fate in the validators after it.
  const [first, ...rest] = middlewares;
  let burstOver = false;
  const afterSpec: RequestHandler = (req, res, next) => {
    if (burstOver) return first(req, res, next);
    return first(req, res, (err?: unknown) => {
      burstOver = true;
      releaseStartupHeap();
      next(err);
    });
  };
  return [afterSpec, ...rest];
}

/** The empty schema the wrapped components refer to (a name no OpenAI or overlay schema has). */
const APART = "UnderstudyCompiledApart";

/**
 * The spec with each component that refers to no other wrapped as `allOf: [{$ref: <empty>}, itself]`,
 * which accepts exactly what it did. ajv compiles a referenced schema without any `$ref` into every
 * schema that uses it; so the chat request's validator was one function of 32 KB of bytecode, with
 * the tool, audio, web-search and grammar-format schemas of fields a request seldom sends written in
 * line. V8 optimizes a function that large only after some 200 profiler ticks (seconds of traffic at
 * one connection), and at one connection, where each request runs on cold caches, its size is paid
 * for every request. With a `$ref` inside, each component is a function of its own, called only for
 * the fields a request has. Measured side by side with the spec as it was: 3.5, 6 and 14 µs less
 * CPU per proxied chat request at one connection (medians of three runs of ten paired cells), no
 * change at 32.
 */
function withComponentsCompiledApart(spec: SpecDocument): SpecDocument {
  const schemas: Record<string, unknown> = { ...spec.components?.schemas };
  for (const [name, schema] of Object.entries(schemas)) {
    if (collectRefs(schema).length === 0) schemas[name] = { allOf: [{ $ref: `#/components/schemas/${APART}` }, schema] };
  }
  schemas[APART] = {};
  return { ...spec, components: { ...spec.components, schemas } };
}

/** One express middleware that runs eov's chain, creating it first if this is the first request. */
function validating(chain: () => Promise<readonly RequestHandler[]>, ready: () => readonly RequestHandler[] | undefined): RequestHandler {
  return (req, res, next) => {
    const created = ready();
    if (created !== undefined) return runChain(created, req, res, next);
    chain().then((c) => runChain(c, req, res, next), next);
  };
}

/**
 * Operations the validator would pass whatever the request: no request body, and parameters that
 * are path segments or optional, typed plain strings (`retrieveModel`'s `model`). Skipping the
 * validator for them keeps it off the start-up path (`GET /v1/models` is what clients ask first).
 */
export function operationsWithNothingToValidate(spec: SpecDocument): Set<string> {
  const out = new Set<string>();
  for (const item of Object.values<Record<string, any>>(spec.paths ?? {})) {
    for (const op of Object.values<any>(item)) {
      if (typeof op?.operationId !== "string" || op.requestBody !== undefined) continue;
      if ((op.parameters ?? []).every(isUnconstrained)) out.add(op.operationId);
    }
  }
  return out;
}

function isUnconstrained(param: Record<string, any>): boolean {
  if (param.$ref !== undefined || param.content !== undefined) return false;
  if (param.in !== "path" && param.required === true) return false;
  const schema = param.schema ?? {};
  return Object.keys(schema).every((k) => k === "type") && (schema.type === undefined || schema.type === "string");
}
