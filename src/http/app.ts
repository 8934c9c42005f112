import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "pino";
import { routes, type RouteSpec } from "../generated/routes.js";
import { handlers as defaultHandlers } from "../handlers/index.js";
import type { Handler } from "../handlers/types.js";
import { NotFoundError, NotImplementedError, UnsupportedMediaTypeError } from "../errors.js";
import type { Services } from "../services.js";
import { errorMiddleware } from "./error-middleware.js";
import { sendError } from "./respond.js";
import { runOperation } from "./run-operation.js";
import { createRequestValidator } from "./validation.js";
import { mountSpecRoutes } from "./spec-routes.js";
import { hasBody } from "./request-body.js";
import { createFastPath, fastPathRoutes, newRequestId } from "./fast-path.js";
import { catalogue, stableJson } from "../config/catalogue.js";

export interface AppOptions {
  services: Services;
  log: Logger;
  /** Largest accepted JSON body, in bytes (default 10 MB). */
  bodyLimitBytes?: number;
  handlers?: Readonly<Record<string, Handler>>;
}

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

/** The server's request listener: the JSON fast path first, express for everything else. */
export function createRequestListener(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const handlers = options.handlers ?? defaultHandlers;
  const fast = fastPathRoutes(routes, handlers);
  const validator = createRequestValidator(new Set(routes.filter((r) => handlers[r.operationId]).map((r) => r.operationId)));
  const app = createApp(options, validator, new Set(fast));
  const fastPath = createFastPath({ app, routes: fast, handlers, validator, services: options.services, log: options.log, bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT });
  return (req, res) => {
    if (!fastPath(req, res)) app(req, res);
  };
}

function createApp(options: AppOptions, validator: RequestHandler[], servedElsewhere: ReadonlySet<RouteSpec>): express.Express {
  const { services, log } = options;
  const handlers = options.handlers ?? defaultHandlers;
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

  const parseJson = express.json({ limit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT, type: () => true });

  for (const route of routes) {
    if (servedElsewhere.has(route)) continue;
    const handler = handlers[route.operationId];
    const chain = handler
      ? [requireJsonContentType(route), parseJson, keepClientBody, ...validator, invoke(route, handler, services, log)]
      : [notImplemented(route)];
    app[route.method](`/v1${route.expressPath}`, matchFixedQuery(route), ...chain);
  }

  app.use((req: Request, res: Response) => sendError(res, new NotFoundError(`Invalid URL (${req.method} ${req.path})`, null, "unknown_url")));
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
    const matches = entries.every(([k, v]) => req.query[k] === v);
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

/** The validator injects the spec's defaults into req.body; the merge needs what the client sent. */
function keepClientBody(req: Request, res: Response, next: NextFunction): void {
  res.locals.clientBody = req.body === undefined ? undefined : structuredClone(req.body);
  next();
}

function invoke(route: RouteSpec, handler: Handler, services: Services, log: Logger) {
  return (req: Request, res: Response) =>
    runOperation(handler, {
      operationId: route.operationId,
      body: req.body,
      clientBody: res.locals.clientBody,
      params: req.params as Record<string, string>,
      query: req.query as Record<string, unknown>,
      requestId: String(res.locals.requestId),
    }, res, services, log);
}
