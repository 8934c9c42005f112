/**
 * The JSON operations (chat, completions, embeddings) served on plain node:http: Express's
 * per-request machinery costs about as much as a whole proxy hop, and these are the hot paths of a
 * gateway. The same validator (express-openapi-validator, over the same extended spec), the same
 * errors and the same operation runner as the express routes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Express, RequestHandler } from "express";
import type { Logger } from "pino";
import type { Handler } from "../handlers/types.js";
import type { RouteSpec } from "../generated/routes.js";
import type { Services } from "../services.js";
import { toApiError } from "./error-middleware.js";
import { sendError } from "./respond.js";
import { keepRequestId, requestIdOf } from "./request-id.js";
import { runOperation, type RunOptions, type Served } from "./run-operation.js";
import { readJsonBody, type BodyReading } from "./request-body.js";
import { bodyRequired, requireJsonContentType } from "./json-content.js";
import type { RouteMatch } from "./route-matcher.js";
import type { RequestValidator } from "./validation.js";

/**
 * Implemented POST operations with a required JSON body, a fixed path under /v1 and no fixed query: the fast
 * path takes these (the route matcher decides which operation a request is for).
 */
export function fastPathRoutes(routes: readonly RouteSpec[], handlers: Readonly<Record<string, Handler>>): RouteSpec[] {
  return routes.filter(
    (r) =>
      handlers[r.operationId] &&
      r.method === "post" &&
      r.requestContentTypes.includes("application/json") &&
      bodyRequired(r) &&
      !r.expressPath.includes(":") &&
      Object.keys(r.fixedQuery).length === 0 &&
      // The fast path reads no query; the operations at the server's root (Sourcegraph's) read `api-version`.
      r.basePath === undefined,
  );
}

interface FastPathOptions {
  app: Express;
  routes: RouteSpec[];
  /** The handler and surface of each of `routes`. */
  served: (route: RouteSpec) => Served;
  validator: RequestValidator;
  services: Services;
  log: Logger;
  reading: BodyReading;
  run: RunOptions;
}

/**
 * The request object eov's middlewares are run on: the fast path has no express request, and eov
 * reads express's getters (`path`, `app.enabled(...)`), so the prototype is express's. A class
 * rather than `Object.create` + `Object.assign` + `defineProperty` per request: one shape, built by
 * its constructor (about 3 µs less CPU per request).
 */
function eovRequestClass(app: Express) {
  class EovRequest {
    readonly app = app;
    readonly method = "POST";
    readonly url: string;
    readonly originalUrl: string;
    params = {};
    /** No cookies, as on the express routes (no cookie parser): eov then copies none per request. */
    cookies = undefined;
    openapi: unknown;
    constructor(
      path: string,
      readonly headers: IncomingMessage["headers"],
      public body: unknown,
      openapi: unknown,
    ) {
      this.url = path;
      this.originalUrl = path;
      this.openapi = openapi;
    }

    /**
     * The fast path reads no query. A getter, not an own field: eov makes `req.query` an own
     * writable property for each validation and restores the one it found afterwards, two
     * `defineProperty` calls where there is one (express's own getter would parse the URL).
     */
    get query(): Record<string, unknown> {
      return {};
    }
  }
  Object.setPrototypeOf(EovRequest.prototype, app.request);
  return EovRequest;
}

/** eov's middlewares never touch the response of a request they validate. */
const NO_RESPONSE = {} as never;

/**
 * express-openapi-validator's middlewares, run on an EovRequest: eov is the one validator (issue
 * 10). Its route lookup compiles a path regexp for every route on every request; the fast path
 * already knows the route, so after the first full run it keeps the lookup's result (`req.openapi`)
 * per path and runs only the request-validation middleware. The middlewares are the shared
 * lazily-created ones.
 */
class RouteValidator {
  private meta?: unknown;
  private requestOnly?: RequestHandler;
  private readonly EovRequest: ReturnType<typeof eovRequestClass>;

  constructor(
    app: Express,
    private readonly validator: RequestValidator,
  ) {
    this.EovRequest = eovRequestClass(app);
  }

  validate(req: IncomingMessage, path: string, body: unknown): Promise<unknown> {
    const ready = this.validator.ready;
    if (ready !== undefined) return this.run(ready, req, path, body);
    return this.validator.chain().then((chain) => this.run(chain, req, path, body));
  }

  private run(full: readonly RequestHandler[], req: IncomingMessage, path: string, body: unknown): Promise<unknown> {
    const requestOnly = this.requestOnly;
    if (requestOnly !== undefined) {
      const fake = new this.EovRequest(path, req.headers, body, this.meta);
      return new Promise((resolve, reject) => requestOnly(fake as never, NO_RESPONSE, (err?: unknown) => (err ? reject(err) : resolve(fake.body))));
    }
    const fake = new this.EovRequest(path, req.headers, body, undefined);
    return new Promise((resolve, reject) => {
      let i = 0;
      const next = (err?: unknown) => {
        if (err) return reject(err);
        if (i === full.length) {
          if (fake.openapi) this.keepLookup(fake.openapi, full);
          return resolve(fake.body);
        }
        full[i++](fake as never, NO_RESPONSE, next);
      };
      next();
    });
  }

  /** After a full run: its route lookup, and eov's request-validation middleware to run alone with it. */
  private keepLookup(meta: unknown, full: readonly RequestHandler[]): void {
    this.meta = meta;
    this.requestOnly = full.find((m) => m.name === "requestMiddleware");
  }
}

/** What the fast path keeps per route. */
interface FastRoute {
  route: RouteSpec;
  served: Served;
  validator: RouteValidator;
}

async function serve(opts: FastPathOptions, { route, served, validator }: FastRoute, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = requestIdOf(res);
  keepRequestId(res, requestId);
  let parsed: unknown;
  try {
    requireJsonContentType(route, req.headers);
    parsed = (await readJsonBody(req, opts.reading, true))!.parsed;
    // One parse: the validator adds nothing to what it checks (the validation subset has no `default`s).
    await validator.validate(req, path, parsed);
    await runOperation(
      served,
      { operationId: route.operationId, body: parsed, params: {}, query: {}, headers: req.headers, requestId },
      res,
      opts.services,
      opts.log,
      opts.run,
    );
  } catch (err) {
    if (res.headersSent) return void res.end();
    sendError(res, served.surface, toApiError(err, requestId, opts.log, parsed));
  }
}

/**
 * Returns a listener for requests the route matcher has matched: it serves those whose operation
 * the fast path takes, and answers false for everything else.
 */
export function createFastPath(opts: FastPathOptions): (req: IncomingMessage, res: ServerResponse, match: RouteMatch) => boolean {
  const fast = new Map(opts.routes.map((route) => [route, { route, served: opts.served(route), validator: new RouteValidator(opts.app, opts.validator) }]));
  return (req, res, match) => {
    const found = fast.get(match.route);
    if (found === undefined) return false;
    void serve(opts, found, match.path, req, res);
    return true;
  };
}
