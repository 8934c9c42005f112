/**
 * The JSON the admin API answers (/admin/api/*), in one place for both of its ends: the server's
 * routes build these, and the page (ui/admin/types.ts) imports them as types, so a field renamed
 * on one side fails the other's type-check. Types only, and no imports: the page's bundle and its
 * DOM-only type-check read this file too.
 */

/** GET /admin/api/whoami. */
export interface WhoAmIJson {
  key: string | null;
  role: "admin" | null;
  /** No keys in keys.yaml: the API and this page are open. */
  open: boolean;
}

export interface ProblemJson {
  /** Relative to the config directory, as /health shows it. */
  file: string;
  line: number | null;
  field: string | null;
  message: string;
}

export interface ConfigJson {
  status: "ok" | "error";
  revision: string;
  loaded_at: string;
  last_reload_at: string | null;
  problems: ProblemJson[];
}

export interface UpstreamJson {
  label: string;
  /** Without userinfo or query values, as logs show it. */
  url: string;
  healthy: boolean;
  /** Consecutive failures towards the next cooldown. */
  failures: number;
  cooling_until: string | null;
  retry_after_until: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export interface ModelJson {
  name: string;
  aliases: string[];
  /** Operation ids (createChatCompletion, ...). */
  endpoints: string[];
  backend: string;
  provider: string | null;
  status: "ready" | "loading" | "unloaded" | "error";
  capabilities: string[];
  /** null: the backend loads nothing (upstreams). */
  loaded: boolean | null;
  can_load: boolean;
  queue_depth: number | null;
  busy_sequences: number | null;
  sequences: number | null;
  upstreams: UpstreamJson[];
}

/** GET /admin/api/overview. */
export interface OverviewJson {
  version: string;
  uptime_s: number;
  config: ConfigJson;
  models: ModelJson[];
}

/** POST /admin/api/models/<name>/load and /unload. */
export interface LoadAnswerJson {
  name: string;
  loaded: boolean;
}

export interface TrafficModelJson {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  ttft_p50_ms: number | null;
  tokens_per_s: number;
}

export interface TrafficSampleJson {
  t: number;
  models: Record<string, TrafficModelJson>;
}

/** GET /admin/api/traffic. */
export interface TrafficJson {
  interval_ms: number;
  now: number;
  samples: TrafficSampleJson[];
}

export interface RecentRequestJson {
  time: string;
  request_id: string;
  key: string | null;
  model: string;
  backend: string | null;
  operation: string | null;
  status: number;
  latency_ms: number;
  ttft_ms: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  /** The client's body, cut to 8 KB: debug_connections providers only. */
  body?: string;
}

/** GET /admin/api/requests. */
export interface RecentRequestsJson {
  requests: RecentRequestJson[];
}
