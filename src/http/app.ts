import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "pino";
import { routes, type RouteSpec } from "../generated/routes.js";
import type { Handler } from "../handlers/types.js";
import { DEFAULT_SURFACE, handlerTable, SURFACES, surfaceLookup, type SurfaceLookup } from "../surfaces/index.js";
import type { Surface } from "../surfaces/types.js";
import { ApiError, clipEcho, NotFoundError, PayloadTooLargeError } from "../core/errors.js";
import type { Services } from "../services.js";
import { errorMiddleware } from "./error-middleware.js";
import { sendError } from "./respond.js";
import { runOperation, type RunOptions, type Served } from "./run-operation.js";
import { createRequestValidator, type RequestValidator } from "./validation.js";
import { mountSpecRoutes } from "./spec-routes.js";
import { BodyBudget, declaresTooLarge, readJsonBody, type BodyReading } from "./request-body.js";
import { resolveHttpLimits, type HttpLimits } from "./limits.js";
import { createFastPath, fastPathRoutes } from "./fast-path.js";
import { newRequestId } from "./request-id.js";
import { createRouteMatcher, type RouteMatcher } from "./route-matcher.js";
import { dispatchRouted, setRouted, type Routed } from "./express-dispatch.js";
import { bodyRequired, requireJsonContentType } from "./json-content.js";
import { catalogue, stableJson } from "../config/catalogue.js";
import { sourcegraphCatalogue } from "../config/sourcegraph-catalogue.js";

/** How long after start-up the request validator is set up in the background. */
const VALIDATOR_WARM_DELAY_MS = 250;

export interface AppOptions {
  services: Services;
  log: Logger;
  /** The HTTP limits that differ from DEFAULT_HTTP_LIMITS. */
  limits?: Partial<HttpLimits>;
  /** The protocol surfaces served (default: src/surfaces/index.ts's SURFACES). */
  surfaces?: readonly Surface[];
  /**
   * The handler table, instead of the surfaces' own (tests add or replace handlers). A handler
   * for an operation no surface claims answers errors and streams as the OpenAI surface does.
   */
  handlers?: Readonly<Record<string, Handler>>;
}

/** What both layers share: the limits, the body budget, the operation runner's options, each operation's surface. */
interface Shared {
  reading: BodyReading;
  run: RunOptions;
  surfaceFor: SurfaceLookup;
}

/**
 * The server's request listener. Each request is matched once, by the one route matcher; the
 * JSON fast path serves the operations it takes, express everything else.
 */
export function createRequestListener(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const surfaces = options.surfaces ?? SURFACES;
  const handlers = ownHandlers(options.handlers ?? handlerTable(surfaces));
  const limits = resolveHttpLimits(options.limits);
  const surfaceFor = surfaceLookup(surfaces);
  const shared: Shared = {
    reading: { limits, budget: new BodyBudget(limits.bodyBytesInFlight) },
    run: { writeStallMs: limits.writeStallMs },
    surfaceFor,
  };
  const matchRoute = createRouteMatcher(routes);
  const validator = createRequestValidator(new Set(routes.filter((r) => handlers[r.operationId]).map((r) => r.operationId)));
  const app = createApp(options, handlers, shared, validator);
  // Soon after the caller's listen, once the first requests (health checks, model lists: nothing to
  // validate) had their chance: setting the validator up holds the event loop for ~300 ms with the
  // three surfaces' schemas, which a first GET /v1/models used to wait behind (bench/startup.mjs).
  // A request that needs validation before then sets it up itself.
  setTimeout(() => validator.warm(), VALIDATOR_WARM_DELAY_MS).unref();
  const fastPath = createFastPath({
    app,
    routes: fastPathRoutes(routes, handlers),
    served: (route) => served(route, handlers, surfaceFor)!,
    validator,
    services: options.services,
    log: options.log,
    ...shared,
  });
  return (req, res) => {
    const routed = matchRequest(matchRoute, req);
    // An announced body over the limit is refused before anything reads it, on every route.
    if (declaresTooLarge(req.headers, limits.bodyLimitBytes)) return refuseTooLarge(res, surfaceFor(operationOf(routed)), limits.bodyLimitBytes);
    if (routed instanceof ApiError || routed === undefined || !fastPath(req, res, routed)) {
      setRouted(req, routed);
      app(req, res);
    }
  };
}

/** The matcher's answer; a refusal (malformed percent-encoding) is answered by express's error path. */
function matchRequest(matchRoute: RouteMatcher, req: IncomingMessage): Routed {
  try {
    return matchRoute(req.method, req.url);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
}

const operationOf = (routed: Routed) => (routed === undefined || routed instanceof ApiError ? undefined : routed.route.operationId);

function refuseTooLarge(res: ServerResponse, surface: Surface, limitBytes: number): void {
  res.setHeader("x-request-id", newRequestId());
  sendError(res, surface, new PayloadTooLargeError(limitBytes));
}

/** The route's handler and surface, if the route is implemented. */
function served(route: RouteSpec, handlers: Readonly<Record<string, Handler>>, surfaceFor: SurfaceLookup): Served | undefined {
  const handler: Handler | undefined = handlers[route.operationId];
  return handler === undefined ? undefined : { handler, surface: surfaceFor(route.operationId) };
}

/** The handler table with its own entries only: an operationId is never looked up through a prototype. */
function ownHandlers(table: Readonly<Record<string, Handler>>): Readonly<Record<string, Handler>> {
  return Object.assign(Object.create(null) as Record<string, Handler>, table);
}

function createApp(options: AppOptions, handlers: Readonly<Record<string, Handler>>, shared: Shared, validator: RequestValidator): express.Express {
  const { services, log } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(assignRequestId);

  app.get("/health", (_req, res) => {
    const config = services.config.health();
    res.json({
      status: config.status === "ok" ? "ok" : "degraded",
      version: services.version,
      uptime_s: Math.round((Date.now() - services.startedAt) / 1000),
      config,
    });
  });
  app.get("/v1/models.json", (_req, res) => {
    res.type("application/json").send(stableJson(catalogue(services.config.current().config)));
  });
  // What a Sourcegraph instance serves its Cody clients: the same catalogue in Sourcegraph's shape.
  app.get("/.api/modelconfig/supported-models.json", (_req, res) => {
    res.type("application/json").send(stableJson(sourcegraphCatalogue(services.config.current().config)));
  });
  mountSpecRoutes(app);

  // One chain per implemented operation; the matched one runs (express-dispatch.ts), others are 501.
  const chains = new Map<RouteSpec, RequestHandler[]>();
  for (const route of routes) {
    const op = served(route, handlers, shared.surfaceFor);
    if (op)
      chains.set(route, [
        checkContentType(route),
        parseJsonBody(route, shared.reading),
        ...validator.forOperation(route.operationId),
        invoke(route, op, services, log, shared.run),
      ]);
  }
  app.use(dispatchRouted(chains));

  app.use((req: Request, res: Response) =>
    sendError(res, DEFAULT_SURFACE, new NotFoundError(`Invalid URL (${req.method} ${clipEcho(req.path)})`, null, "unknown_url")),
  );
  app.use(errorMiddleware(log, shared.surfaceFor));
  return app;
}

function assignRequestId(_req: Request, res: Response, next: NextFunction): void {
  const id = newRequestId();
  res.locals.requestId = id;
  res.setHeader("x-request-id", id);
  next();
}

/** The content-type rule the fast path applies too (json-content.ts). */
function checkContentType(route: RouteSpec) {
  return (req: Request, _res: Response, next: NextFunction) => {
    requireJsonContentType(route, req.headers);
    next();
  };
}

/** The same body reading as the fast path (limits, budget, depth, errors): express.json is not used. */
function parseJsonBody(route: RouteSpec, reading: BodyReading) {
  const required = bodyRequired(route);
  return (req: Request, _res: Response, next: NextFunction) => {
    readJsonBody(req, reading, required).then((body) => {
      req.body = body?.parsed;
      next();
    }, next);
  };
}

function invoke(route: RouteSpec, op: Served, services: Services, log: Logger, run: RunOptions) {
  return (req: Request, res: Response) =>
    runOperation(
      op,
      {
        operationId: route.operationId,
        body: req.body,
        params: req.params as Record<string, string>,
        query: req.query as Record<string, unknown>,
        headers: req.headers,
        requestId: String(res.locals.requestId),
      },
      res,
      services,
      log,
      run,
    );
}
