/**
 * Runs the doctor's matrix against a running server: the server checks once, then every check on
 * every model it can see (or was given), one at a time (a local server serves one request per slot),
 * each bounded by the per-check timeout and all by the total one.
 */
import OpenAI from "openai";
import { CheckFailure, type Check, type CheckContext, type CheckResult, type ModelEntry, type Surface } from "./check-types.js";
import { OPENAI_MODEL_CHECKS } from "./openai-checks.js";
import { probeSurface, SERVER_CHECKS, SURFACE_CHECKS } from "./surface-checks.js";
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_MAX_MODELS, DEFAULT_TOTAL_TIMEOUT_MS, DEFAULT_URL } from "./defaults.js";

export const MODEL_CHECKS: Check[] = [...OPENAI_MODEL_CHECKS, ...SURFACE_CHECKS];

export interface DoctorOptions {
  url?: string;
  key?: string;
  /** Check these models instead of every one /v1/models lists. */
  models?: string[];
  checkTimeoutMs?: number;
  totalTimeoutMs?: number;
  maxModels?: number;
  /** Called after each check (the progress bar or lines). */
  onResult?: (progress: Progress) => void;
}

export interface Progress {
  done: number;
  total: number;
  model: string | null;
  check: string;
  result: CheckResult;
}

export interface DoctorReport {
  url: string;
  ok: boolean;
  ms: number;
  server: Record<string, CheckResult>;
  /** Whether the server offers each optional surface (probed with a request no server can serve). */
  surfaces: Record<Surface, boolean>;
  models: string[];
  /** Models the server lists past maxModels, not checked. */
  unchecked: string[];
  /** model → check → result. */
  matrix: Record<string, Record<string, CheckResult>>;
}

/** The server's root URL: what the user gave, without a trailing slash or /v1. */
export const rootUrl = (url: string) => url.replace(/\/+$/, "").replace(/\/v1$/, "");

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = Date.now();
  const root = rootUrl(options.url ?? DEFAULT_URL);
  const key = options.key ?? "unused";
  const checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const deadline = started + (options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS);
  const client = new OpenAI({ baseURL: `${root}/v1`, apiKey: key, maxRetries: 0, timeout: checkTimeoutMs });
  const base = { client, root, key };

  const listed = await listModels(client, root, checkTimeoutMs);
  const named = options.models?.length ? options.models.map((id) => listed.find((m) => m.id === id) ?? { id }) : listed;
  const wanted = [...new Map(named.map((m) => [m.id, m])).values()];
  const maxModels = options.maxModels ?? DEFAULT_MAX_MODELS;
  const entries = wanted.slice(0, maxModels);
  const surfaces = { messages: await probe(base, "messages", checkTimeoutMs), sourcegraph: await probe(base, "sourcegraph", checkTimeoutMs) };

  const total = SERVER_CHECKS.length + entries.length * MODEL_CHECKS.length;
  let done = 0;
  const runOne = async (check: Check, entry: ModelEntry | null): Promise<CheckResult> => {
    const result = await runCheck(check, entry, surfaces, { ...base, model: entry?.id ?? "" }, Math.min(checkTimeoutMs, deadline - Date.now()));
    options.onResult?.({ done: ++done, total, model: entry?.id ?? null, check: check.name, result });
    return result;
  };
  const server: Record<string, CheckResult> = {};
  for (const check of SERVER_CHECKS) server[check.name] = await runOne(check, null);
  // Keyed by the server's model ids: no prototype, so any id is just a key.
  const matrix: DoctorReport["matrix"] = Object.create(null);
  for (const entry of entries) {
    matrix[entry.id] = {};
    for (const check of MODEL_CHECKS) matrix[entry.id][check.name] = await runOne(check, entry);
  }
  const all = [...Object.values(server), ...Object.values(matrix).flatMap((row) => Object.values(row))];
  return {
    url: root,
    ok: all.every((r) => r.status !== "fail"),
    ms: Date.now() - started,
    server,
    surfaces,
    models: entries.map((e) => e.id),
    unchecked: wanted.slice(maxModels).map((e) => e.id),
    matrix,
  };
}

/** /v1/models' entries (id and, where the server lists them, capabilities); an unreachable server is an error. */
async function listModels(client: OpenAI, root: string, timeoutMs: number): Promise<ModelEntry[]> {
  try {
    const page = await client.models.list({ timeout: timeoutMs });
    return page.data.map((m) => {
      const caps = (m as { capabilities?: unknown }).capabilities;
      return Array.isArray(caps) ? { id: m.id, capabilities: caps.filter((c): c is string => typeof c === "string") } : { id: m.id };
    });
  } catch (err) {
    // The models.list check reports the details; without a list there are no models to check.
    if (err instanceof OpenAI.APIError && err.status !== undefined) return [];
    throw new Error(`cannot reach ${root}: ${(err as Error).message}`);
  }
}

async function probe(base: Pick<CheckContext, "root" | "key">, surface: Surface, timeoutMs: number): Promise<boolean> {
  try {
    return await probeSurface({ ...base, signal: AbortSignal.timeout(timeoutMs) }, surface);
  } catch {
    return false;
  }
}

/** The code by which a server says (with a 4xx) that the model does not serve what was asked. */
const NOT_SERVED_CODE = "model_not_supported";

async function runCheck(
  check: Check,
  entry: ModelEntry | null,
  surfaces: Record<Surface, boolean>,
  base: Omit<CheckContext, "signal" | "timeoutMs">,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = Date.now();
  const finish = (status: CheckResult["status"], reason?: string): CheckResult => ({ status, ...(reason ? { reason } : {}), ms: Date.now() - started });
  if (check.surface && !surfaces[check.surface]) return finish("skip", `the server does not offer the ${check.surface} API`);
  if (check.needs && entry?.capabilities && !entry.capabilities.includes(check.needs))
    return finish("skip", `the model does not list the ${check.needs} capability`);
  if (timeoutMs <= 0) return finish("fail", "not run: the total timeout passed");
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new CheckFailure(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const note = await Promise.race([check.run({ ...base, signal: controller.signal, timeoutMs }), timedOut]);
    return finish("pass", note || undefined);
  } catch (err) {
    return classify(err, finish);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function classify(err: unknown, finish: (status: CheckResult["status"], reason?: string) => CheckResult): CheckResult {
  if (err instanceof CheckFailure) return finish("fail", err.message);
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    const code = (err.error as { code?: unknown } | undefined)?.code;
    // 501: the server does not implement the operation at all.
    if ((err.status < 500 && code === NOT_SERVED_CODE) || err.status === 501) return finish("skip", `the server says: ${err.message}`);
    return finish("fail", `HTTP ${err.status}: ${err.message}`);
  }
  return finish("fail", (err as Error).message ?? String(err));
}
