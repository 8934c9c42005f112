import type { ErrorRequestHandler } from "express";
import { sendError } from "./respond.js";
import type { Logger } from "pino";
import { ApiError, InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError, internalError } from "../errors.js";
import { isValidatorError, translateValidatorError } from "./validation-errors.js";

interface BodyParserError {
  type: string;
  limit?: number;
  status?: number;
}

const isBodyParserError = (err: unknown): err is BodyParserError =>
  typeof err === "object" && err !== null && typeof (err as BodyParserError).type === "string" && "status" in err;

/** Turns anything thrown into the ApiError the client should see. */
export function toApiError(err: unknown, requestId: string, log: Logger, body?: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isValidatorError(err)) return translateValidatorError(err, body);
  if (isBodyParserError(err)) {
    switch (err.type) {
      case "entity.parse.failed":
        return new InvalidRequestError(
          "We could not parse the JSON body of your request. The body must be valid JSON (see https://www.json.org).",
          null,
          "invalid_json",
        );
      case "entity.too.large":
        return new PayloadTooLargeError(err.limit ?? 0);
      case "encoding.unsupported":
      case "charset.unsupported":
        return new UnsupportedMediaTypeError(undefined, ["application/json; charset=utf-8"]);
      case "request.aborted":
        return new InvalidRequestError("The request body was not received completely", null, "request_aborted");
    }
  }
  log.error({ err, requestId }, "unexpected error");
  return internalError(requestId);
}

/** The one place where errors become HTTP responses. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.locals.requestId ?? "unknown");
    const error = toApiError(err, requestId, log, req.body);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, error);
  };
}
