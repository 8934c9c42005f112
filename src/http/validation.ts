import type { RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { validationSpec } from "../spec/extended-spec.js";

/** express-openapi-validator over just the implemented operations (see validationSubset). */
export function createRequestValidator(operationIds: ReadonlySet<string>): RequestHandler[] {
  return OpenApiValidator.middleware({
    apiSpec: validationSpec(operationIds) as never,
    validateApiSpec: false,
    validateRequests: { allowUnknownQueryParameters: true, allErrors: false },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
    fileUploader: false,
    $refParser: { mode: "bundle" },
  }) as RequestHandler[];
}

