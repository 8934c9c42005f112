import express, { type NextFunction, type Request, type Response } from "express";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { routes, type RouteSpec } from "../generated/routes.js";
import { handlers as defaultHandlers } from "../handlers/index.js";
import type { Handler, HandlerResult } from "../handlers/types.js";
import { NotFoundError, NotImplementedError, UnsupportedMediaTypeError } from "../errors.js";
import type { Services } from "../services.js";
import { extendedSpec } from "../spec/extended-spec.js";
import { errorMiddleware, sendError, toApiError } from "./error-middleware.js";
import { writeSse } from "./sse.js";
import { createRequestValidator } from "./validation.js";
import { mountSpecRoutes } from "./spec-routes.js";
import { catalogue, stableJson } from "../config/catalogue.js";

export interface AppOptions {
  services: Services;
  log: Logger;
  /** Largest accepted JSON body, in bytes (default 10 MB). */
  bodyLimitBytes?: number;
  handlers?: Readonly<Record<string, Handler>>;
}

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

export function createApp(options: AppOptions): express.Express {
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

  const implemented = routes.filter((r) => handlers[r.operationId]);
  const validator = createRequestValidator(extendedSpec(), new Set(implemented.map((r) => r.operationId)));
  const parseJson = express.json({ limit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT, type: () => true });

  for (const route of routes) {
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
  const id = `req_${randomUUID().replace(/-/g, "")}`;
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
    const length = req.headers["content-length"];
    const hasBody = (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
    if (!hasBody || !wantsJson || req.is("application/json")) return next();
    next(new UnsupportedMediaTypeError(req.headers["content-type"], ["application/json"]));
  };
}

/** The validator injects the spec's defaults into req.body; the merge needs what the client sent. */
function keepClientBody(req: Request, res: Response, next: NextFunction): void {
  res.locals.clientBody = req.body === undefined ? undefined : structuredClone(req.body);
  next();
}

function invoke(route: RouteSpec, handler: Handler, services: Services, log: Logger) {
  return async (req: Request, res: Response) => {
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const requestId = String(res.locals.requestId);
    const call = {
      operationId: route.operationId,
      body: req.body,
      clientBody: res.locals.clientBody,
      params: req.params as Record<string, string>,
      query: req.query as Record<string, unknown>,
      signal: controller.signal,
      requestId,
      services,
      log,
    };
    try {
      await send(res, await handler(call), call);
    } catch (err) {
      if (controller.signal.aborted) return void res.end();
      if (res.headersSent) return void res.end();
      sendError(res, toApiError(err, requestId, log));
    }
  };
}

async function send(res: Response, result: HandlerResult, call: { signal: AbortSignal; requestId: string; log: Logger }): Promise<void> {
  if (result.kind === "json") {
    res.status(result.status ?? 200);
    if (result.headers) res.set(result.headers);
    res.json(result.body);
    return;
  }
  await writeSse(res, result.events, { ...call, headers: result.headers });
}
