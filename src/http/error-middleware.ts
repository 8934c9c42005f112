import { STATUS_CODES } from "node:http";
import type { ErrorRequestHandler } from "express";
import { sendError } from "./respond.js";
import type { Logger } from "pino";
import { ApiError, clipEcho, InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError, internalError } from "../core/errors.js";
import { isValidatorError, translateValidatorError } from "./validation-errors.js";
import type { SurfaceLookup } from "../surfaces/index.js";
import { routedOperationId } from "./express-dispatch.js";

/** An error a framework tagged with an HTTP status (body-parser, http-errors, express's router...). */
interface TaggedError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  limit?: unknown;
  message?: unknown;
}

/** The 4xx status a framework put on the error, if any. */
function clientStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { status, statusCode } = err as TaggedError;
  const value = typeof status === "number" ? status : statusCode;
  return typeof value === "number" && Number.isInteger(value) && value >= 400 && value < 500 ? value : undefined;
}

/** Codes for the statuses frameworks use, in OpenAI's snake_case style. */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_request",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  411: "length_required",
  413: "request_too_large",
  414: "uri_too_long",
  415: "unsupported_media_type",
  431: "headers_too_large",
};

/**
 * A framework's 4xx in our shape, with its own status. body-parser's types get OpenAI's wording;
 * otherwise the message is the framework's when it marks it safe to show (`expose`), cut to an
 * echo's length (it may quote the request), else the status's name.
 */
function fromFramework(err: TaggedError, status: number): ApiError {
  switch (err.type) {
    case "entity.parse.failed":
      return new InvalidRequestError(
        "We could not parse the JSON body of your request. The body must be valid JSON (see https://www.json.org).",
        null,
        "invalid_json",
      );
    case "entity.too.large":
      return new PayloadTooLargeError(typeof err.limit === "number" ? err.limit : 0);
    case "encoding.unsupported":
    case "charset.unsupported":
      return new UnsupportedMediaTypeError(undefined, ["application/json; charset=utf-8"]);
    case "request.aborted":
      return new InvalidRequestError("The request body was not received completely", null, "request_aborted");
  }
  if (err instanceof URIError) return new InvalidRequestError("The URL has malformed percent-encoding.", null, "invalid_url_encoding");
  const message =
    err.expose === true && typeof err.message === "string" && err.message !== "" ? clipEcho(err.message, 256) : (STATUS_CODES[status] ?? "Invalid request");
  return new ApiError(status, "invalid_request_error", message, null, Object.hasOwn(CODE_BY_STATUS, status) ? CODE_BY_STATUS[status] : "invalid_request");
}

/** Turns anything thrown into the ApiError the client should see. */
export function toApiError(err: unknown, requestId: string, log: Logger, body?: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // The validator's own 400s and 415s; its other statuses (404, 405) are mapped like any framework's.
  if (isValidatorError(err) && (err.status === 400 || err.status === 415)) return translateValidatorError(err, body);
  const status = clientStatus(err);
  if (status !== undefined) return fromFramework(err as TaggedError, status);
  log.error({ err, requestId }, "unexpected error");
  return internalError(requestId);
}

/** Errors on express's side, in the shape of the matched operation's surface. */
export function errorMiddleware(log: Logger, surfaceFor: SurfaceLookup): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.locals.requestId ?? "unknown");
    const error = toApiError(err, requestId, log, req.body);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, surfaceFor(routedOperationId(req)), error);
  };
}
