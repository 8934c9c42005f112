import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createRequestListener, type AppOptions } from "./app.js";

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
  const server = http.createServer({ keepAliveTimeout: 65_000 }, createRequestListener(options));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => resolve());
  });
  options.services.config.warmCurrent();
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return { server, url: `http://${host}:${port}`, close: () => closeServer(server, options.log) };
}

function closeServer(server: http.Server, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    log.debug("server closed");
  });
}
