/**
 * Express's side of the one route matcher: the request listener matches each request once
 * (route-matcher.ts) and hands what it found to express with the request; one middleware then
 * runs that operation's chain. Express no longer mounts a route per operation (288 path regexps
 * walked per request, each honouring the fixed query in its own way).
 */
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { RouteSpec } from "../generated/routes.js";
import { ApiError, NotImplementedError } from "../core/errors.js";
import type { RouteMatch } from "./route-matcher.js";

/** What the matcher found: the operation, none (404), or a refusal (malformed percent-encoding). */
export type Routed = RouteMatch | ApiError | undefined;

const ROUTED = Symbol("understudy.routed");

interface RoutedRequest extends IncomingMessage {
  [ROUTED]?: Routed;
}

export function setRouted(req: IncomingMessage, routed: Routed): void {
  (req as RoutedRequest)[ROUTED] = routed;
}

/** The matched operation's id, if the matcher found one (its surface shapes the request's errors). */
export function routedOperationId(req: IncomingMessage): string | undefined {
  const routed = (req as RoutedRequest)[ROUTED];
  return routed === undefined || routed instanceof ApiError ? undefined : routed.route.operationId;
}

/**
 * Runs the matched operation's chain (implemented), or answers 501 (not implemented); with no
 * match, passes on (to the 404). Mounted after the service routes (/health, /v1/models.json...),
 * which therefore win over an operation's parameter (`/v1/models/{model}`).
 */
export function dispatchRouted(chains: ReadonlyMap<RouteSpec, readonly RequestHandler[]>): RequestHandler {
  return (req, res, next) => {
    const routed = (req as RoutedRequest)[ROUTED];
    if (routed === undefined) return next();
    if (routed instanceof ApiError) return next(routed);
    const chain = chains.get(routed.route);
    if (chain === undefined) return next(new NotImplementedError(routed.route.operationId));
    // A copy: the validator and handlers may write to req.params; the match is shared.
    req.params = { ...routed.params };
    runChain(chain, req, res, next);
  };
}

/** Middlewares in order, as express runs a route's: a throw or a rejected promise goes to `done`. */
export function runChain(chain: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let i = 0;
  const next = (err?: unknown): void => {
    if (err !== undefined && err !== null) return done(err);
    if (i === chain.length) return done();
    const middleware = chain[i++];
    try {
      const ret: unknown = middleware(req, res, next);
      if (ret instanceof Promise) ret.catch((e: unknown) => next(e ?? new Error("Rejected promise")));
    } catch (e) {
      next(e ?? new Error("Thrown undefined"));
    }
  };
  next();
}
