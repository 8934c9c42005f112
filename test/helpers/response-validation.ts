/**
 * Checks what the server under test answers against the extended spec (openapi/extended.json):
 * each JSON body and each server-sent event of an implemented operation or a service route, with
 * Ajv (JSON Schema 2020-12, as OpenAPI 3.1 defines it). test/setup-response-validation.ts installs
 * it around `fetch` for every test file; a mismatch fails the test that made the request, naming
 * the JSON path.
 *
 * Only our server's answers are checked (it sets `x-request-id: req_...`); fake upstreams are
 * separate servers without that header.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { IMPLEMENTED_OPERATIONS } from "../../src/core/operations.js";
import { extendedSpec } from "../../src/spec/extended-spec.js";

type Json = Record<string, any>;

/** ajv-formats is CommonJS: its default export arrives wrapped under ESM. */
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

const SPEC_ID = "urn:understudy:extended-spec";
const SERVICE_MARK = "x-understudy-service";

interface Operation {
  id: string;
  method: string;
  pattern: RegExp;
  responses: Json;
  surface: "openai" | "anthropic" | "sourcegraph";
}

/** Where a check found a mismatch: what was requested, which schema, and Ajv's errors with JSON paths. */
export interface Violation {
  request: string;
  /** The component's name, or "inline" for a schema written in place. */
  schema: string;
  where: string;
  errors: string[];
}

let operations: Operation[] | undefined;
let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();
const violations: Violation[] = [];
/** How many bodies and events were checked: lets a test prove the check ran. */
export const checked = { count: 0, tolerated: 0 };

const surfaceOf = (id: string): Operation["surface"] => (/Anthropic/.test(id) ? "anthropic" : /Sourcegraph/.test(id) ? "sourcegraph" : "openai");

/** The checked operations, read lazily from the spec: the implemented ones and the service routes. */
function operationTable(): Operation[] {
  if (operations) return operations;
  const doc = extendedSpec();
  operations = [];
  for (const [specPath, item] of Object.entries<Json>(doc.paths)) {
    if (specPath.includes("?")) continue;
    const base = String(item.servers?.[0]?.url ?? "/v1").replace(/\/+$/, "");
    for (const [method, op] of Object.entries<Json>(item)) {
      if (typeof op?.operationId !== "string") continue;
      if (!IMPLEMENTED_OPERATIONS.has(op.operationId) && op[SERVICE_MARK] !== true) continue;
      const source = (base + specPath).replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
      operations.push({
        id: op.operationId,
        method: method.toUpperCase(),
        pattern: new RegExp(`^${source}$`),
        responses: op.responses,
        surface: surfaceOf(op.operationId),
      });
    }
  }
  return operations;
}

export function findOperation(method: string, pathname: string): Operation | undefined {
  return operationTable().find((op) => op.method === method && op.pattern.test(pathname));
}

const inline = new WeakMap<Json, ValidateFunction>();

function specAjv(): Ajv2020 {
  if (!ajv) {
    // strict off: the spec carries annotations Ajv does not know (x-oaiMeta, discriminator, example).
    ajv = new Ajv2020({ strict: false, validateSchema: false, logger: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat("unixtime", true);
    ajv.addSchema({ $id: SPEC_ID, components: { schemas: extendedSpec().components.schemas } });
  }
  return ajv;
}

/** One validator per schema (a component's name, or a schema written in place), compiled on first use against the spec's components. */
function validatorFor(schema: string | Json): ValidateFunction {
  let validate = typeof schema === "string" ? compiled.get(schema) : inline.get(schema);
  if (validate) return validate;
  if (typeof schema === "string") {
    validate = specAjv().compile({ $ref: `${SPEC_ID}#/components/schemas/${schema}` });
    compiled.set(schema, validate);
  } else {
    validate = specAjv().compile({ $id: `${SPEC_ID}:inline:${inlineCount++}`, ...schema });
    inline.set(schema, validate);
  }
  return validate;
}

let inlineCount = 0;

const MAX_ERRORS = 5;

/** Ajv's errors for a value, each as "<JSON path> <message>", or [] when it matches. */
export function schemaErrors(schema: string | Json, value: unknown): string[] {
  const validate = validatorFor(schema);
  checked.count++;
  if (validate(value)) return [];
  return (validate.errors ?? []).slice(0, MAX_ERRORS).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"} (${e.schemaPath})`);
}

const refName = (ref: unknown) => (typeof ref === "string" ? ref.split("/").pop()! : undefined);

/** The spec's content map for a status (its own, `4XX`, `default`), or the surface's error shape when the spec lists none. */
function contentFor(op: Operation, status: number): Json | undefined {
  let response: Json | undefined = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
  if (response?.$ref) response = extendedSpec().components.responses[refName(response.$ref)!];
  if (response) return response.content ?? {};
  if (status < 400) return undefined;
  if (op.surface === "sourcegraph") return { "text/plain": { schema: { type: "string" } } };
  const schema = op.surface === "anthropic" ? "AnthropicErrorResponse" : "ErrorResponse";
  return { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } };
}

/**
 * Mismatches the server is known to have and that are not fixed yet, each with the place to fix it.
 * Deleting an entry makes the tests that meet it fail again. Listed in docs/conformance.md.
 */
const KNOWN_DEVIATIONS: readonly { schema: string; error: RegExp; why: string }[] = [];

const tolerated = (schema: string, error: string) => KNOWN_DEVIATIONS.some((k) => k.schema === schema && k.error.test(error));

const schemaName = (schema: string | Json) => (typeof schema === "string" ? schema : "inline");

function record(request: string, schema: string | Json, where: string, errors: string[]): void {
  const name = schemaName(schema);
  const left = errors.filter((e) => !tolerated(name, e));
  checked.tolerated += errors.length - left.length;
  if (left.length > 0) violations.push({ request, schema: name, where, errors: left });
}

function checkJson(request: string, schema: string | Json | undefined, text: string, where: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return record(request, schema ?? "JSON", where, [`not JSON: ${text.slice(0, 80)}`]);
  }
  if (schema) record(request, schema, where, schemaErrors(schema, value));
}

/** One server-sent event: `[DONE]` ends OpenAI's streams; an OpenAI stream reports a late error as `{"error": ...}`. */
function checkEvent(request: string, op: Operation, schema: string, event: EventSourceMessage, n: number): void {
  const where = `event ${n}${event.event ? ` (${event.event})` : ""}`;
  if (op.surface === "openai" && event.data === "[DONE]") return;
  let value: Json;
  try {
    value = JSON.parse(event.data);
  } catch {
    return record(request, schema, where, [`data is not JSON: ${event.data.slice(0, 80)}`]);
  }
  if (op.surface === "openai" && value && typeof value === "object" && "error" in value)
    return record(request, "ErrorResponse", where, schemaErrors("ErrorResponse", value));
  if (op.surface === "anthropic" && event.event && value?.type !== event.event)
    record(request, schema, where, [`/type is ${value?.type}, the event is named ${event.event}`]);
  record(request, schema, where, schemaErrors(schema, value));
}

/** A pass-through of the body that checks each event as the consumer reads it (a cancel still reaches the server). */
function checkedStream(request: string, op: Operation, schema: string, body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let n = 0;
  const parser = createParser({ onEvent: (event) => checkEvent(request, op, schema, event, n++) });
  const decoder = new TextDecoder();
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
    }),
  );
}

const pending = new Set<Promise<void>>();

/** Checks a response of our server; returns the response to hand to the caller (a checked copy for a stream). */
export function checkResponse(method: string, url: URL, response: Response): Response {
  const op = findOperation(method, url.pathname);
  if (!op || !response.headers.get("x-request-id")?.startsWith("req_")) return response;
  const request = `${method} ${url.pathname} -> ${response.status}`;
  const content = contentFor(op, response.status);
  if (!content) return response;
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  const media = content[type];
  if (!media) {
    record(request, "content type", "headers", [
      `content-type ${type || "(none)"} is not one of the spec's: ${Object.keys(content).join(", ") || "(no body)"}`,
    ]);
    return response;
  }
  const schema: string | Json | undefined = refName(media.schema?.$ref) ?? media.schema;
  if (type === "text/event-stream" && response.body && typeof schema === "string") {
    const checked = new Response(checkedStream(request, op, schema, response.body), response);
    Object.defineProperty(checked, "url", { value: response.url });
    return checked;
  }
  if (type === "application/json" && response.body) {
    const done = response
      .clone()
      .text()
      .then((text) => checkJson(request, schema, text, "body"))
      .catch(() => undefined)
      .finally(() => pending.delete(done));
    pending.add(done);
  }
  return response;
}

const SETTLE_MS = 5000;

/** The violations so far (and forgets them), once the bodies being read are checked. */
export async function takeViolations(): Promise<Violation[]> {
  if (pending.size > 0) await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, SETTLE_MS).unref())]);
  return violations.splice(0);
}

export function formatViolations(found: readonly Violation[]): string {
  return found.map((v) => `${v.request}: ${v.where} does not match ${v.schema}:\n    ${v.errors.join("\n    ")}`).join("\n");
}
