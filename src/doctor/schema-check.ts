/**
 * Checks a response against the extended spec's response schemas (openapi/extended.json, read from
 * the package root so the doctor checks what this package publishes). Ajv compiles the components
 * once per process; each schema is compiled on its first use.
 */
import fs from "node:fs";
import path from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { projectRoot } from "../core/paths.js";
import { CheckFailure } from "./check-types.js";

const SPEC_ID = "understudy-extended.json";
let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

function validator(name: string): ValidateFunction {
  const known = compiled.get(name);
  if (known) return known;
  if (!ajv) {
    const spec = JSON.parse(fs.readFileSync(path.join(projectRoot(), "openapi", "extended.json"), "utf8"));
    // Formats such as `unixtime` are OpenAI's annotations, not constraints Ajv knows.
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
    ajv.addSchema({ $id: SPEC_ID, components: spec.components });
  }
  const validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
  if (!validate) throw new Error(`the spec has no schema ${name}`);
  compiled.set(name, validate);
  return validate;
}

/** At most this many schema errors are quoted in a failure (the first ones say the most). */
const MAX_QUOTED_ERRORS = 3;

/** Throws a CheckFailure naming the JSON path and the rule when `value` does not match the named schema. */
export function expectSchema(name: string, value: unknown, what = name): void {
  const validate = validator(name);
  if (validate(value)) return;
  const errors = (validate.errors ?? [])
    .slice(0, MAX_QUOTED_ERRORS)
    .map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}${describeParams(e.params)}`);
  throw new CheckFailure(`${what} does not match ${name}: ${errors.join("; ")}`);
}

function describeParams(params: Record<string, unknown>): string {
  if (Array.isArray(params.allowedValues)) return ` (${params.allowedValues.join(", ")})`;
  if (typeof params.additionalProperty === "string") return ` (${params.additionalProperty})`;
  return "";
}
