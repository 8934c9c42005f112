/** The shapes of /admin/api/* (the admin contract, issue 16). */

export interface WhoAmI {
  key: string | null;
  role: "admin" | null;
  open: boolean;
}

export interface ConfigProblem {
  file: string;
  line: number | null;
  field: string | null;
  message: string;
}

export interface ConfigState {
  status: "ok" | "error";
  revision: string;
  loaded_at: string;
  last_reload_at: string | null;
  problems: ConfigProblem[];
}

export interface UpstreamState {
  label: string;
  url: string;
  healthy: boolean;
  failures: number;
  cooling_until: string | null;
  retry_after_until: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export interface ModelState {
  name: string;
  aliases: string[];
  endpoints: string[];
  backend: string;
  provider: string | null;
  status: "ready" | "loading" | "unloaded" | "error";
  capabilities: string[];
  /** null: the backend loads nothing. */
  loaded: boolean | null;
  can_load: boolean;
  queue_depth: number | null;
  busy_sequences: number | null;
  sequences: number | null;
  upstreams: UpstreamState[];
}

export interface Overview {
  version: string;
  uptime_s: number;
  config: ConfigState;
  models: ModelState[];
}

export interface ModelTraffic {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  ttft_p50_ms: number | null;
  tokens_per_s: number;
}

export interface TrafficSample {
  t: number;
  models: Record<string, ModelTraffic>;
}

export interface Traffic {
  interval_ms: number;
  now: number;
  samples: TrafficSample[];
}

export interface RequestRow {
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
  body?: string;
}

export interface RequestLog {
  requests: RequestRow[];
}
