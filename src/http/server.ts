import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createRequestListener, type AppOptions } from "./app.js";
import { resolveHttpLimits, type HttpLimits } from "./limits.js";
import { declaresTooLarge } from "./request-body.js";
import { releasingUnderLoad } from "./young-generation.js";

export interface RunningServer {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

export interface ListenOptions extends AppOptions {
  host?: string;
  port?: number;
}

/** Starts the app, then loads the `load: eager` registrations' models; port 0 picks a free port (tests). */
export async function startServer(options: ListenOptions): Promise<RunningServer> {
  const limits = resolveHttpLimits(options.limits);
  const closed = new AbortController();
  const listener = releasingUnderLoad(createRequestListener({ ...options, closed: closed.signal }));
  const server = http.createServer(serverOptions(limits), listener);
  server.once("close", () => closed.abort());
  server.maxConnections = limits.maxConnections;
  // A client that asks before sending its body (Expect: 100-continue) hears 413 before sending a
  // byte of a body over the limit (the listener answers it); any other is told to go on.
  server.on("checkContinue", (req, res) => {
    if (!declaresTooLarge(req.headers, limits.bodyLimitBytes)) res.writeContinue();
    listener(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => resolve());
  });
  options.services.config.warmCurrent();
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return { server, url: `http://${host}:${port}`, close: () => closeServer(server, options.log) };
}

/**
 * Node's timeouts for receiving requests. `requestTimeout` bounds receiving a request (headers and
 * body), never the response, so long streams are unaffected. Node checks them every
 * `connectionsCheckingInterval` (30 s by default), far too coarse for short settings.
 */
function serverOptions(limits: HttpLimits): http.ServerOptions {
  const requestTimeout = limits.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, requestTimeout);
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}

function closeServer(server: http.Server, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    log.debug("server closed");
  });
}
