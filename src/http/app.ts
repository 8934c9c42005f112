import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "pino";
import { routes, type RouteSpec } from "../generated/routes.js";
import { handlers as defaultHandlers } from "../handlers/index.js";
import type { Handler } from "../handlers/types.js";
import { clipEcho, NotFoundError, NotImplementedError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.js";
import type { Services } from "../services.js";
import { errorMiddleware } from "./error-middleware.js";
import { sendError } from "./respond.js";
import { runOperation, type RunOptions } from "./run-operation.js";
import { createRequestValidator } from "./validation.js";
import { mountSpecRoutes } from "./spec-routes.js";
import { BodyBudget, declaresTooLarge, hasBody, readJsonBody, type BodyReading } from "./request-body.js";
import { DEFAULT_HTTP_LIMITS, resolveHttpLimits, type HttpLimits } from "./limits.js";
import { createFastPath, fastPathRoutes, newRequestId } from "./fast-path.js";
import { catalogue, stableJson } from "../config/catalogue.js";

export interface AppOptions {
  services: Services;
  log: Logger;
  /** Largest accepted JSON body, in bytes (default 10 MB); wins over `limits.bodyLimitBytes`. */
  bodyLimitBytes?: number;
  /** The HTTP limits that differ from DEFAULT_HTTP_LIMITS. */
  limits?: Partial<HttpLimits>;
  handlers?: Readonly<Record<string, Handler>>;
}

export const DEFAULT_BODY_LIMIT = DEFAULT_HTTP_LIMITS.bodyLimitBytes;

/** The limits an app runs with: the defaults, `limits`, then `bodyLimitBytes`. */
export function appLimits(options: Pick<AppOptions, "bodyLimitBytes" | "limits">): HttpLimits {
  return resolveHttpLimits({ ...options.limits, bodyLimitBytes: options.bodyLimitBytes ?? options.limits?.bodyLimitBytes });
}

/** What both layers share: the limits, the body budget, the operation runner's options. */
interface Shared {
  reading: BodyReading;
  run: RunOptions;
}

/** The server's request listener: the JSON fast path first, express for everything else. */
export function createRequestListener(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const handlers = ownHandlers(options.handlers ?? defaultHandlers);
  const limits = appLimits(options);
  const shared: Shared = { reading: { limits, budget: new BodyBudget(limits.bodyBytesInFlight) }, run: { writeStallMs: limits.writeStallMs } };
  const fast = fastPathRoutes(routes, handlers);
  const validator = createRequestValidator(new Set(routes.filter((r) => handlers[r.operationId]).map((r) => r.operationId)));
  const app = createApp(options, handlers, shared, validator, new Set(fast));
  const fastPath = createFastPath({ app, routes: fast, handlers, validator, services: options.services, log: options.log, ...shared });
  return (req, res) => {
    // An announced body over the limit is refused before anything reads it, on every route.
    if (declaresTooLarge(req.headers, limits.bodyLimitBytes)) return refuseTooLarge(res, limits.bodyLimitBytes);
    if (!fastPath(req, res)) app(req, res);
  };
}

function refuseTooLarge(res: ServerResponse, limitBytes: number): void {
  res.setHeader("x-request-id", newRequestId());
  sendError(res, new PayloadTooLargeError(limitBytes));
}

/** The handler table with its own entries only: an operationId is never looked up through a prototype. */
function ownHandlers(table: Readonly<Record<string, Handler>>): Readonly<Record<string, Handler>> {
  return Object.assign(Object.create(null) as Record<string, Handler>, table);
}

function createApp(options: AppOptions, handlers: Readonly<Record<string, Handler>>, shared: Shared, validator: RequestHandler[], servedElsewhere: ReadonlySet<RouteSpec>): express.Express {
  const { services, log } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(assignRequestId);

  app.get("/health", (_req, res) => {
    const config = services.config.health();
    res.json({ status: config.status === "ok" ? "ok" : "degraded", version: services.version, uptime_s: Math.round((Date.now() - services.startedAt) / 1000), config });
  });
  app.get("/v1/models.json", (_req, res) => {
    res.type("application/json").send(stableJson(catalogue(services.config.current().config)));
  });
  mountSpecRoutes(app);

  for (const route of routes) {
    if (servedElsewhere.has(route)) continue;
    const handler = handlers[route.operationId];
    const chain = handler
      ? [requireJsonContentType(route), parseJsonBody(route, shared.reading), keepClientBody, ...validator, invoke(route, handler, services, log, shared.run)]
      : [notImplemented(route)];
    app[route.method](`/v1${route.expressPath}`, matchFixedQuery(route), ...chain);
  }

  app.use((req: Request, res: Response) => sendError(res, new NotFoundError(`Invalid URL (${req.method} ${clipEcho(req.path)})`, null, "unknown_url")));
  app.use(errorMiddleware(log));
  return app;
}

function assignRequestId(_req: Request, res: Response, next: NextFunction): void {
  const id = newRequestId();
  res.locals.requestId = id;
  res.setHeader("x-request-id", id);
  next();
}

/** `/responses?beta=true` and `/responses` share an express path; the fixed query picks the operation. */
function matchFixedQuery(route: RouteSpec) {
  const entries = Object.entries(route.fixedQuery);
  return (req: Request, _res: Response, next: NextFunction) => {
    const query = req.query as Record<string, unknown>;
    const matches = entries.every(([k, v]) => Object.hasOwn(query, k) && query[k] === v);
    next(matches ? undefined : "route");
  };
}

function notImplemented(route: RouteSpec) {
  return (_req: Request, _res: Response, next: NextFunction) => next(new NotImplementedError(route.operationId));
}

function requireJsonContentType(route: RouteSpec) {
  const wantsJson = route.requestContentTypes.includes("application/json");
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!hasBody(req.headers) || !wantsJson || req.is("application/json")) return next();
    next(new UnsupportedMediaTypeError(req.headers["content-type"], ["application/json"]));
  };
}

/** The same body reading as the fast path (limits, budget, depth, errors): express.json is not used. */
function parseJsonBody(route: RouteSpec, reading: BodyReading) {
  const required = route.requestBodySchema !== null;
  return (req: Request, _res: Response, next: NextFunction) => {
    readJsonBody(req, reading, required).then((body) => {
      req.body = body?.parsed;
      next();
    }, next);
  };
}

/** The validator injects the spec's defaults into req.body; the merge needs what the client sent. */
function keepClientBody(req: Request, res: Response, next: NextFunction): void {
  res.locals.clientBody = req.body === undefined ? undefined : structuredClone(req.body);
  next();
}

function invoke(route: RouteSpec, handler: Handler, services: Services, log: Logger, run: RunOptions) {
  return (req: Request, res: Response) =>
    runOperation(handler, {
      operationId: route.operationId,
      body: req.body,
      clientBody: res.locals.clientBody,
      params: req.params as Record<string, string>,
      query: req.query as Record<string, unknown>,
      requestId: String(res.locals.requestId),
    }, res, services, log, run);
}
