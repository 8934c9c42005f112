/**
 * The body rules of a JSON operation, one function each, for both layers (express and the fast
 * path): they used to differ (`req.is` on one, a regexp on the other; an empty body refused for a
 * named body schema on one, always on the other).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { RouteSpec } from "../generated/routes.js";
import { UnsupportedMediaTypeError } from "../core/errors.js";
import { hasBody } from "./request-body.js";

/**
 * `application/json`, any case, with or without parameters. Only the media type the spec
 * declares: `+json` types are refused (the validator refused them too, with a vaguer message).
 */
const JSON_MEDIA_TYPE = /^application\/json[ \t]*(?:;|$)/i;

export function isJsonContentType(type: string | undefined): boolean {
  return type !== undefined && JSON_MEDIA_TYPE.test(type);
}

/** A 415 for a body that does not say it is JSON, on an operation whose spec takes a JSON body. */
export function requireJsonContentType(route: RouteSpec, headers: IncomingHttpHeaders): void {
  if (!hasBody(headers) || isJsonContentType(headers["content-type"]) || !route.requestContentTypes.includes("application/json")) return;
  throw new UnsupportedMediaTypeError(headers["content-type"], ["application/json"]);
}

/** Whether an empty body is refused (400 `missing_required_parameter`): the spec marks the body required. */
export const bodyRequired = (route: RouteSpec): boolean => route.requestBodyRequired;
