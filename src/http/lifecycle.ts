/**
 * The server's life after start-up: the server-wide concurrency cap, readiness (`GET /ready`) and
 * the drain on SIGTERM/SIGINT (stop accepting, let in-flight work finish within a grace period,
 * end the rest with each surface's in-band error, release models and stores, exit 0).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { ServerBusyError, ServerShuttingDownError } from "../core/errors.js";
import { positiveIntegerSetting } from "../core/env-limit.js";
import type { Services } from "../services.js";
import type { Limiter } from "../limits/limiter.js";
import type { Surface } from "../surfaces/types.js";
import { newRequestId } from "./request-id.js";
import { sendError } from "./respond.js";

/**
 * Implemented operations in flight at once, server-wide; over it a 503 `server_busy` with
 * Retry-After before any work. Above the default connection bound (1,024) and the soak bench's
 * 1,000 concurrent streams: set it lower to shed load earlier. `UNDERSTUDY_MAX_CONCURRENT_REQUESTS`.
 */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 2_048;
/** How long in-flight work may finish after SIGTERM/SIGINT before it is ended. `UNDERSTUDY_DRAIN_GRACE_MS` or `serve --drain-grace-ms`. */
export const DEFAULT_DRAIN_GRACE_MS = 30_000;
/** After the grace, how long the streams ended in band have to flush before every connection is closed. */
const CUTOFF_FLUSH_MS = 1_000;
/** The Retry-After of a busy or draining refusal, in seconds. */
const RETRY_AFTER_S = 1;
/** How long the drain waits for the models' release before it exits anyway. */
const MODEL_RELEASE_WAIT_MS = 5_000;

/** A readiness check of a shared store that takes longer than this fails. */
const READY_CHECK_TIMEOUT_MS = 2_000;

type Env = Readonly<Record<string, string | undefined>>;

export interface LifecycleSettings {
  maxConcurrentRequests: number;
  drainGraceMs: number;
}

/** The settings from the environment; a bad value throws an Error naming its variable (the server refuses to start). */
export function lifecycleSettingsFromEnv(env: Env = process.env): LifecycleSettings {
  const read = (name: string, fallback: number) => (env[name] === undefined || env[name] === "" ? fallback : positiveIntegerSetting(name, env[name]!));
  return {
    maxConcurrentRequests: read("UNDERSTUDY_MAX_CONCURRENT_REQUESTS", DEFAULT_MAX_CONCURRENT_REQUESTS),
    drainGraceMs: read("UNDERSTUDY_DRAIN_GRACE_MS", DEFAULT_DRAIN_GRACE_MS),
  };
}

/** Shared by the request listener, the operation runner and the SSE writer: one counter, one flag, the open streams' cut-offs. */
export class Lifecycle {
  draining = false;
  private inFlight = 0;
  private readonly cutoffs = new Set<() => void>();
  private idle?: () => void;

  constructor(readonly maxConcurrent: number = DEFAULT_MAX_CONCURRENT_REQUESTS) {}

  /** Takes a slot for an operation, or throws a 503 (busy, or shutting down); `leave` gives it back. */
  enter(): void {
    if (this.draining) throw new ServerShuttingDownError(RETRY_AFTER_S);
    if (this.inFlight >= this.maxConcurrent)
      throw new ServerBusyError(
        `The server is at its limit of ${this.maxConcurrent} requests at once (UNDERSTUDY_MAX_CONCURRENT_REQUESTS); retry shortly`,
        RETRY_AFTER_S,
      );
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.idle?.();
  }

  get active(): number {
    return this.inFlight;
  }

  /** A stream registers how to end itself in band at the end of the grace; the returned function unregisters it. */
  onCutoff(cut: () => void): () => void {
    this.cutoffs.add(cut);
    return () => void this.cutoffs.delete(cut);
  }

  /** Resolves when no operation is in flight, or after `ms` (to false). */
  waitIdle(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Ends every open stream with its surface's in-band shutdown error. */
  cutStreams(): number {
    const cuts = [...this.cutoffs];
    this.cutoffs.clear();
    for (const cut of cuts) cut();
    return cuts.length;
  }
}

/**
 * A request arriving while draining (on a connection that was already open): `/health` and
 * `/ready` say so with a 503, anything else is a 503 `server_shutting_down` in the surface's shape;
 * every answer closes its connection.
 */
export function refuseWhileDraining(req: IncomingMessage, res: ServerResponse, surface: Surface): void {
  res.setHeader("Connection", "close");
  res.setHeader("x-request-id", newRequestId());
  const path = req.url?.split("?")[0];
  if (path === "/health" || path === "/ready") {
    res.writeHead(503, { "Content-Type": "application/json; charset=utf-8", "Retry-After": String(RETRY_AFTER_S) });
    res.end(JSON.stringify({ status: "draining" }));
    return;
  }
  sendError(res, surface, new ServerShuttingDownError(RETRY_AFTER_S));
}

export interface Readiness {
  status: "ready" | "not_ready" | "draining";
  checks: { config: string; store: string; limits: string; eager_models: string };
}

/** `/ready`: a snapshot serves, the shared stores answer (responses; the limits' Redis), and every `load: eager` model is in memory. */
export async function readiness(services: Services, lifecycle: Lifecycle | undefined, limiter?: Limiter): Promise<{ status: number; body: Readiness }> {
  const snapshot = services.config.current();
  const config = "ok";
  const [store, limits] = await Promise.all([
    withinCheckTime(services.responses.healthy?.bind(services.responses)),
    withinCheckTime(limiter && (() => limiter.healthy().then((ok) => assertReachable(ok)))),
  ]);
  const eager = snapshot.config.registrations.filter((r) => r.settings.load === "eager").map((r) => r.model);
  const loaded = new Set(snapshot.loadedModels());
  const missing = eager.filter((m) => !loaded.has(m) && snapshotLoads(snapshot, m));
  const eagerModels = missing.length === 0 ? "ok" : `not loaded: ${missing.join(", ")}`;
  const draining = lifecycle?.draining === true;
  const ok = store === "ok" && limits === "ok" && eagerModels === "ok" && !draining;
  return {
    status: ok ? 200 : 503,
    body: { status: draining ? "draining" : ok ? "ready" : "not_ready", checks: { config, store, limits, eager_models: eagerModels } },
  };
}

/** Whether a registration's backend holds a model in memory at all (llama-cpp); an upstream's is never "loaded". */
function snapshotLoads(snapshot: ReturnType<Services["config"]["current"]>, model: string): boolean {
  const reg = snapshot.config.registrations.find((r) => r.model === model);
  return reg !== undefined && typeof snapshot.backend(reg).loaded === "function";
}

const assertReachable = (ok: boolean): void => {
  if (!ok) throw new Error("Redis does not answer");
};

/** "ok", or what failed: a check that throws or takes longer than READY_CHECK_TIMEOUT_MS. None: "ok". */
async function withinCheckTime(check: (() => Promise<unknown>) | undefined): Promise<string> {
  if (check === undefined) return "ok";
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${READY_CHECK_TIMEOUT_MS} ms`)), READY_CHECK_TIMEOUT_MS)),
  );
  try {
    await Promise.race([check(), late]);
    return "ok";
  } catch (err) {
    return `unavailable: ${(err as Error).message.slice(0, 200)}`;
  } finally {
    clearTimeout(timer);
  }
}

export interface DrainTarget {
  server: Server;
  lifecycle: Lifecycle;
  services: Services;
  log: Logger;
  graceMs: number;
  /** Other resources to close after the server (the limiter). */
  closeAlso?: () => Promise<unknown>;
}

/**
 * The drain: stop listening and close idle connections, let in-flight operations finish within
 * the grace, then end the remaining streams in band and close every connection, release the
 * models and the stores. Resolves when all is closed (the caller exits 0).
 */
export async function drain(t: DrainTarget): Promise<void> {
  const { server, lifecycle, services, log } = t;
  lifecycle.draining = true;
  log.info({ inFlight: lifecycle.active, graceMs: t.graceMs }, "draining: no new connections; in-flight requests may finish");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  services.config.close();
  if (!(await lifecycle.waitIdle(t.graceMs))) {
    const cut = lifecycle.cutStreams();
    log.warn({ streams: cut, inFlight: lifecycle.active }, "drain grace over: open streams ended with a shutdown error");
    await lifecycle.waitIdle(CUTOFF_FLUSH_MS);
  }
  // Connections whose answers are all handed to the socket close now; one still flushing gets a moment.
  server.closeIdleConnections();
  await Promise.race([closed, sleep(CUTOFF_FLUSH_MS)]);
  server.closeAllConnections();
  await closed;
  // Models unloaded (bounded: a backend that hangs in its release does not keep the process).
  await Promise.race([services.config.current().retire(), sleep(MODEL_RELEASE_WAIT_MS)]);
  await Promise.allSettled([services.responses.close(), t.closeAlso?.()]);
  log.info("drained; exiting");
}

/**
 * SIGTERM and SIGINT start the drain, then exit 0; a second signal during the drain exits at once
 * with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports it.
 */
export function drainOnSignals(start: () => Promise<void>, log: Logger): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn({ signal }, "second signal during the drain: exiting now");
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    draining = true;
    start().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "drain failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
