/**
 * The JSON operations (chat, completions, embeddings) served on plain node:http: Express's
 * per-request machinery costs about as much as a whole proxy hop, and these are the hot paths of a
 * gateway. The same validator (express-openapi-validator, over the same extended spec), the same
 * errors and the same operation runner as the express routes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Express, RequestHandler } from "express";
import type { Logger } from "pino";
import type { Handler } from "../handlers/types.js";
import type { RouteSpec } from "../generated/routes.js";
import { UnsupportedMediaTypeError } from "../errors.js";
import type { Services } from "../services.js";
import { toApiError } from "./error-middleware.js";
import { sendError } from "./respond.js";
import { runOperation, type RunOptions } from "./run-operation.js";
import { hasBody, readJsonBody, type BodyReading } from "./request-body.js";

export const newRequestId = () => `req_${randomUUID().replace(/-/g, "")}`;

/** Implemented POST operations with a JSON body and a fixed path: the fast path takes these. */
export function fastPathRoutes(routes: readonly RouteSpec[], handlers: Readonly<Record<string, Handler>>): RouteSpec[] {
  return routes.filter(
    (r) => handlers[r.operationId] && r.method === "post" && r.requestContentTypes.includes("application/json") && !r.expressPath.includes(":") && Object.keys(r.fixedQuery).length === 0,
  );
}

interface FastPathOptions {
  app: Express;
  routes: RouteSpec[];
  handlers: Readonly<Record<string, Handler>>;
  validator: RequestHandler[];
  services: Services;
  log: Logger;
  reading: BodyReading;
  run: RunOptions;
}

const isJson = (type: string | undefined) => type !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type);

/**
 * express-openapi-validator's middlewares, run on a request object with express's prototype. Its
 * route lookup compiles a path regexp for every route on every request; the fast path already knows
 * the route, so after the first full run it keeps the lookup's result (`req.openapi`) per path and
 * runs only the request-validation middleware.
 */
class RouteValidator {
  private meta?: unknown;
  private readonly requestOnly?: RequestHandler;

  constructor(
    private readonly app: Express,
    private readonly chain: RequestHandler[],
  ) {
    this.requestOnly = chain.find((m) => m.name === "requestMiddleware");
  }

  validate(req: IncomingMessage, path: string, body: unknown): Promise<unknown> {
    const fake = Object.create(this.app.request);
    Object.assign(fake, { app: this.app, method: "POST", url: path, originalUrl: path, headers: req.headers, body, params: {}, cookies: {} });
    Object.defineProperty(fake, "query", { value: {}, writable: true });
    const cached = this.meta !== undefined && this.requestOnly !== undefined;
    if (cached) fake.openapi = this.meta;
    const chain = cached ? [this.requestOnly!] : this.chain;
    return new Promise((resolve, reject) => {
      let i = 0;
      const next = (err?: unknown) => {
        if (err) return reject(err);
        if (i === chain.length) {
          if (!cached && fake.openapi) this.meta = fake.openapi;
          return resolve(fake.body);
        }
        chain[i++](fake, {} as never, next);
      };
      next();
    });
  }
}

async function serve(opts: FastPathOptions, route: RouteSpec, validator: RouteValidator, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = newRequestId();
  res.setHeader("x-request-id", requestId);
  let parsed: unknown;
  try {
    if (hasBody(req.headers) && !isJson(req.headers["content-type"])) throw new UnsupportedMediaTypeError(req.headers["content-type"], ["application/json"]);
    const { text, parsed: clientBody } = (await readJsonBody(req, opts.reading, true))!;
    parsed = clientBody;
    // Two parses: the validator writes the spec's defaults into its copy; the merge needs the client's.
    const body = await validator.validate(req, path, JSON.parse(text));
    const handler = opts.handlers[route.operationId];
    await runOperation(handler, { operationId: route.operationId, body, clientBody: parsed, params: {}, query: {}, requestId }, res, opts.services, opts.log, opts.run);
  } catch (err) {
    if (res.headersSent) return void res.end();
    sendError(res, toApiError(err, requestId, opts.log, parsed));
  }
}

/** Returns a listener that takes the fast-path requests and answers false for everything else. */
export function createFastPath(opts: FastPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const table = new Map(opts.routes.map((r) => [`/v1${r.expressPath}`, { route: r, validator: new RouteValidator(opts.app, opts.validator) }]));
  return (req, res) => {
    if (req.method !== "POST" || !req.url) return false;
    const q = req.url.indexOf("?");
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const entry = table.get(path);
    if (!entry) return false;
    void serve(opts, entry.route, entry.validator, path, req, res);
    return true;
  };
}
