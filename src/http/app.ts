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
import { requestIdOf } from "./request-id.js";
import { beginRequest, quietActivity, type RequestObserver } from "./request-log.js";
import { isMetricsUrl, METRICS_PATH, metricsArePublic, metricsRoute } from "./metrics-route.js";
import { prometheusMetrics } from "../metrics/prometheus.js";
import { setTelemetry } from "../core/telemetry.js";
import { createRouteMatcher, type RouteMatcher } from "./route-matcher.js";
import { dispatchRouted, setRouted, type Routed } from "./express-dispatch.js";
import { bodyRequired, requireJsonContentType } from "./json-content.js";
import { allowedConfig, catalogue, stableJson } from "../config/catalogue.js";
import type { KeyTable } from "../config/keys.js";
import { apiKeyOf, authenticate, keepApiKey } from "./auth.js";
import type { Limiter } from "../limits/limiter.js";
import { sourcegraphCatalogue } from "../config/sourcegraph-catalogue.js";
import { readiness, refuseWhileDraining, type Lifecycle } from "./lifecycle.js";
import { AdminActivity } from "./admin/activity.js";
import { ADMIN_PATH, mountAdmin } from "./admin/admin-routes.js";

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
  /**
   * The server must not be open (it listens beyond loopback and was not started with
   * --allow-unauthenticated): should keys.yaml come to list no key, every request is refused.
   */
  requireKeys?: boolean;
  /** Per-key limits (src/limits/); absent: keys' rpm, tpm and max_concurrent are not applied. */
  limiter?: Limiter;
  /** The server-wide concurrency cap, `/ready` and the drain (lifecycle.ts); absent: no cap, never draining. */
  lifecycle?: Lifecycle;
  /** The admin page's built files (default: dist/admin; tests give their own). */
  adminDir?: string;
  /** Aborted when the server closes: background work not yet begun (the validator's warm-up) is called off. */
  closed?: AbortSignal;
}

/** What both layers share: the limits, the body budget, the operation runner's options, each operation's surface. */
interface Shared {
  reading: BodyReading;
  run: RunOptions;
  surfaceFor: SurfaceLookup;
  /** The admin page's traffic and recent requests, fed by the request log. */
  activity: AdminActivity;
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
    run: { writeStallMs: limits.writeStallMs, limiter: options.limiter, lifecycle: options.lifecycle },
    surfaceFor,
    activity: new AdminActivity(() => options.services.config.current().config),
  };
  const matchRoute = createRouteMatcher(routes);
  const validator = createRequestValidator(new Set(routes.filter((r) => handlers[r.operationId]).map((r) => r.operationId)));
  const app = createApp(options, handlers, shared, validator);
  // Soon after the caller's listen, once the first requests (health checks, model lists: nothing to
  // validate) had their chance: setting the validator up holds the event loop for ~300 ms with the
  // three surfaces' schemas, which a first GET /v1/models used to wait behind (bench/startup.mjs).
  // A request that needs validation before then sets it up itself.
  // A server closed sooner (a short test) never imports it: jest refuses imports after its teardown.
  const warming = setTimeout(() => validator.warm(), VALIDATOR_WARM_DELAY_MS).unref();
  options.closed?.addEventListener("abort", () => clearTimeout(warming), { once: true });
  const fastPath = createFastPath({
    app,
    routes: fastPathRoutes(routes, handlers),
    served: (route) => served(route, handlers, surfaceFor)!,
    validator,
    services: options.services,
    log: options.log,
    ...shared,
  });
  const config = options.services.config;
  const requireKeys = options.requireKeys === true;
  // Metrics: backends and config report to the process's Prometheus registry; each request is recorded at its end (request-log.ts).
  const metrics = prometheusMetrics();
  setTelemetry(metrics);
  const observer: RequestObserver = { log: options.log, metrics, index: () => config.current().index, activity: shared.activity };
  const publicMetrics = metricsArePublic();
  // Sourcegraph's service routes (/.api/modelconfig/...) are no operation; their clients read Sourcegraph's errors.
  const rootSurface = surfaces.find((s) => s.name === "sourcegraph") ?? DEFAULT_SURFACE;
  const refusalSurface = (routed: Routed, url: string | undefined) =>
    operationOf(routed) === undefined && url?.startsWith("/.api/") ? rootSurface : surfaceFor(operationOf(routed));
  return (req, res) => {
    beginRequest(req, res, observer);
    const routed = matchRequest(matchRoute, req);
    // Draining (SIGTERM): a request on a connection opened before is refused with Connection: close (lifecycle.ts).
    if (options.lifecycle?.draining) return refuseWhileDraining(req, res, refusalSurface(routed, req.url));
    // An announced body over the limit is refused before anything reads it, on every route.
    if (declaresTooLarge(req.headers, limits.bodyLimitBytes)) return refuseTooLarge(res, surfaceFor(operationOf(routed)), limits.bodyLimitBytes);
    // An open server (no keys, on loopback) pays this one branch; the snapshot is read each time so a reload's keys apply at once.
    const keys = config.current().config.keys;
    if ((keys !== undefined || requireKeys) && !(publicMetrics && isMetricsUrl(req.url)) && !checkKey(keys, req, res, () => refusalSurface(routed, req.url)))
      return;
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

/** Lets the request in (keeping its key for the operation runner), or answers 401 in the surface's shape and answers false. */
function checkKey(keys: KeyTable | undefined, req: IncomingMessage, res: ServerResponse, surface: () => Surface): boolean {
  const key = authenticate(keys, req.headers, req.url);
  if (key === null) return true;
  if (key instanceof ApiError) {
    // The admin page's own calls stay out of its traffic and table, refused ones too (its login polls).
    if (req.url?.startsWith(ADMIN_PATH) === true) quietActivity(res);
    res.setHeader("x-request-id", requestIdOf(res));
    sendError(res, surface(), key);
    return false;
  }
  keepApiKey(res, key);
  return true;
}

function refuseTooLarge(res: ServerResponse, surface: Surface, limitBytes: number): void {
  res.setHeader("x-request-id", requestIdOf(res));
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
  // Readiness (config, shared store, eager models), apart from liveness (/health): lifecycle.ts.
  app.get("/ready", (_req, res, next) => {
    readiness(services, options.lifecycle, options.limiter).then(({ status, body }) => void res.status(status).json(body), next);
  });
  // A key with an allow-list sees only its models in every catalogue.
  app.get("/v1/models.json", (_req, res) => {
    res.type("application/json").send(stableJson(catalogue(allowedConfig(services.config.current().config, apiKeyOf(res)))));
  });
  // What a Sourcegraph instance serves its Cody clients: the same catalogue in Sourcegraph's shape.
  app.get("/.api/modelconfig/supported-models.json", (_req, res) => {
    res.type("application/json").send(stableJson(sourcegraphCatalogue(allowedConfig(services.config.current().config, apiKeyOf(res)))));
  });
  mountSpecRoutes(app);
  app.get(METRICS_PATH, metricsRoute(prometheusMetrics(), services, metricsArePublic()));
  mountAdmin(app, { services, activity: shared.activity, dir: options.adminDir });

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
  const id = requestIdOf(res);
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
