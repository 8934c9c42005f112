/**
 * GET /admin/api/overview: the config's state and every registration with its backend's live
 * status. Read from the snapshot and the backends' optional `status()` (backends/types.ts): the
 * admin code never asks which kind a backend is.
 */
import type { BackendInstance, BackendStatus, UpstreamUrlStatus } from "../../backends/types.js";
import type { ConfigSnapshot } from "../../config/store.js";
import type { ConfigProblem } from "../../config/problems.js";
import type { Registration } from "../../config/registration.js";
import type { Services } from "../../services.js";
import type { ModelJson, OverviewJson, ProblemJson, UpstreamJson } from "./admin-json.js";

const iso = (epochMs: number | undefined) => (epochMs === undefined || epochMs <= 0 ? null : new Date(epochMs).toISOString());

export const problemJson = (p: ConfigProblem): ProblemJson => ({
  file: p.file,
  line: p.line > 0 ? p.line : null,
  field: p.field === "" ? null : p.field,
  message: p.message,
});

/** A backend with both a load and an unload: the page shows its buttons. */
export const canLoad = (backend: BackendInstance) => typeof backend.warm === "function" && typeof backend.unload === "function";

function upstreamJson(u: UpstreamUrlStatus): UpstreamJson {
  return {
    label: u.label,
    url: u.url,
    healthy: u.healthy,
    failures: u.failures,
    cooling_until: iso(u.coolingUntil),
    retry_after_until: iso(u.retryAfterUntil),
    last_error: u.lastError ?? null,
    last_error_at: iso(u.lastErrorAt),
  };
}

function statusWord(s: BackendStatus): ModelJson["status"] {
  if (s.loaded === true) return "ready";
  if (s.loading) return "loading";
  if (s.loadError !== undefined) return "error";
  if (s.loaded === false) return "unloaded";
  // Loads nothing: ready while any of its URLs is.
  return s.urls !== undefined && s.urls.length > 0 && !s.urls.some((u) => u.healthy) ? "error" : "ready";
}

export function modelJson(reg: Registration, backend: BackendInstance): ModelJson {
  const status: BackendStatus = backend.status?.() ?? { loaded: backend.loaded?.() ?? null };
  return {
    name: reg.model,
    aliases: [...reg.aliases],
    endpoints: [...reg.endpoints],
    backend: reg.backend,
    provider: reg.provider?.id ?? null,
    status: statusWord(status),
    capabilities: [...reg.capabilities],
    loaded: status.loaded,
    can_load: canLoad(backend),
    queue_depth: status.queueDepth ?? null,
    busy_sequences: status.busySequences ?? null,
    sequences: status.sequences ?? null,
    upstreams: (status.urls ?? []).map(upstreamJson),
  };
}

export function overview(services: Services): OverviewJson {
  const store = services.config;
  // One snapshot for the whole answer, read synchronously: a reload cannot retire it half-way.
  const snapshot: ConfigSnapshot = store.current();
  const problems = store.problems();
  const { loadedAt, lastReloadAt } = store.times();
  return {
    version: services.version,
    uptime_s: Math.round((Date.now() - services.startedAt) / 1000),
    config: {
      status: problems.length > 0 ? "error" : "ok",
      revision: snapshot.config.revision,
      loaded_at: loadedAt.toISOString(),
      last_reload_at: lastReloadAt?.toISOString() ?? null,
      problems: problems.map(problemJson),
    },
    models: snapshot.config.registrations.map((reg) => modelJson(reg, snapshot.backend(reg))),
  };
}
