/**
 * `GET /metrics`: the Prometheus exposition (src/metrics/). With keys.yaml listing keys it needs a
 * key with role admin, unless UNDERSTUDY_METRICS_PUBLIC=1 (scrapers then need no key at all).
 */
import type { Request, Response, NextFunction } from "express";
import { AdminRequiredError } from "../core/errors.js";
import type { PrometheusMetrics } from "../metrics/prometheus.js";
import type { Services } from "../services.js";
import { apiKeyOf } from "./auth.js";
import { sendError } from "./respond.js";
import { DEFAULT_SURFACE } from "../surfaces/index.js";

export const METRICS_PATH = "/metrics";

/** UNDERSTUDY_METRICS_PUBLIC=1: /metrics is served without a key even when keys.yaml lists keys. Read once at start. */
export const metricsArePublic = (env: NodeJS.ProcessEnv = process.env): boolean => env.UNDERSTUDY_METRICS_PUBLIC === "1";

/** Whether the request is for /metrics (query ignored). */
export function isMetricsUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(METRICS_PATH)) return false;
  return url.length === METRICS_PATH.length || url.charCodeAt(METRICS_PATH.length) === 63; /* ? */
}

export function metricsRoute(metrics: PrometheusMetrics, services: Services, isPublic: boolean) {
  return (_req: Request, res: Response, next: NextFunction) => {
    // The listener let the request in with a valid key (or none: an open server, or public metrics).
    if (!isPublic && services.config.current().config.keys !== undefined && apiKeyOf(res)?.role !== "admin") {
      return sendError(res, DEFAULT_SURFACE, new AdminRequiredError("GET /metrics"));
    }
    metrics.scrape().then(({ contentType, text }) => {
      res.setHeader("Content-Type", contentType);
      res.end(text);
    }, next);
  };
}
