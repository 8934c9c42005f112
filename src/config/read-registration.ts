import fs from "node:fs";
import path from "node:path";
import type { BackendModule, Provider } from "../backends/types.js";
import { ENDPOINTS, endpoint, type EndpointId } from "../core/operations.js";
import { deepFreeze } from "./merge.js";
import type { ProblemSink } from "./problems.js";
import type { Registration } from "./registration.js";
import { partialBodyValidator } from "./request-schema.js";
import { ajv } from "./config-ajv.js";

export interface ReadContext {
  root: string;
  file: string;
  rel: string;
  mtime: number;
  sink: ProblemSink;
  /** The registration's index in a file holding a list of them. */
  entry?: number;
  providers: ReadonlyMap<string, Provider>;
  backend(kind: string): BackendModule;
}

/** Roots a model file may live under: the config directory and UNDERSTUDY_MODELS. */
export function modelRoots(configRoot: string): string[] {
  const roots = [configRoot];
  if (process.env.UNDERSTUDY_MODELS)
    roots.push(
      ...process.env.UNDERSTUDY_MODELS.split(path.delimiter)
        .filter(Boolean)
        .map((r) => path.resolve(r)),
    );
  return roots.map((r) => (fs.existsSync(r) ? fs.realpathSync(r) : r));
}

/** Whether `target` is `root` or under it (both real paths). */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  // `..data/x` (a Kubernetes ConfigMap's files) is inside: only `..` itself as the first step leaves.
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function resolveModelPath(ctx: ReadContext, field: string, value: string): string | undefined {
  let resolved = path.resolve(path.dirname(ctx.file), value);
  if (fs.existsSync(resolved)) resolved = fs.realpathSync(resolved);
  const roots = modelRoots(ctx.root);
  if (!roots.some((root) => isInside(root, resolved))) {
    // Shown relative to the config directory (roots[0], real path), as the sink shows the roots: /health serves it.
    ctx.sink.add(
      ["local_settings", field],
      `path '${path.relative(roots[0], resolved)}' is outside the allowed model roots (${["the config directory", ...roots.slice(1)].join(", ")}; set UNDERSTUDY_MODELS to add one)`,
    );
    return undefined;
  }
  return resolved;
}

/** request_defaults / request_overrides: per endpoint (`createChatCompletion: {...}`) or flat. */
function readBodies(
  ctx: ReadContext,
  key: "request_defaults" | "request_overrides",
  raw: Record<string, unknown> | undefined,
  endpoints: readonly EndpointId[],
) {
  const out: Partial<Record<EndpointId, Record<string, unknown>>> = {};
  if (!raw) return out;
  const keys = Object.keys(raw);
  const perEndpoint = keys.length > 0 && keys.every((k) => (ENDPOINTS as readonly string[]).includes(k));
  if (perEndpoint) {
    for (const [endpoint, body] of Object.entries(raw) as [EndpointId, Record<string, unknown>][]) {
      if (!endpoints.includes(endpoint)) ctx.sink.add([key, endpoint], `this model does not serve ${endpoint}`);
      else out[endpoint] = body;
    }
  } else {
    const used = new Set<string>();
    const EXT = "x-localai-extensions";
    for (const endpoint of endpoints) {
      const { fields, extensionFields } = partialBodyValidator(endpoint);
      const picked: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([k]) => fields.has(k) && k !== EXT));
      const ext = raw[EXT];
      if (ext && typeof ext === "object" && !Array.isArray(ext)) {
        // An extension default applies to the endpoints whose extension object has that field.
        const sub = Object.fromEntries(Object.entries(ext).filter(([k]) => extensionFields.has(k)));
        if (Object.keys(sub).length > 0) picked[EXT] = sub;
        Object.keys(sub).forEach((k) => used.add(`${EXT}.${k}`));
      } else if (ext !== undefined && fields.has(EXT)) picked[EXT] = ext;
      Object.keys(picked)
        .filter((k) => k !== EXT)
        .forEach((k) => used.add(k));
      if (Object.keys(picked).length > 0) out[endpoint] = picked;
    }
    const offered = keys.flatMap((k) =>
      k === EXT && raw[EXT] && typeof raw[EXT] === "object" ? Object.keys(raw[EXT] as object).map((s) => `${EXT}.${s}`) : [k],
    );
    for (const k of offered.filter((k) => !used.has(k) && !(k === EXT))) {
      ctx.sink.add([key, ...k.split(/\.(?=[^.]+$)/)], `'${k}' is not a request field of any endpoint this model serves (${endpoints.join(", ")})`);
    }
  }
  for (const [endpoint, body] of Object.entries(out) as [EndpointId, Record<string, unknown>][]) {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      ctx.sink.add([key, endpoint], "must be a mapping of request fields");
      continue;
    }
    const errors = partialBodyValidator(endpoint).validate(body);
    const base = perEndpoint ? [key, endpoint] : [key];
    for (const e of errors) ctx.sink.addAjv([{ ...e, message: `${e.message} (${endpoint} request schema)` }], base);
  }
  return out;
}

export function readRegistration(entry: Record<string, any>, ctx: ReadContext): Registration | undefined {
  const before = ctx.sink.count;
  const r = entry.registration;
  const { backend: kind, ...rawSettings } = entry.local_settings as Record<string, unknown>;
  const module = ctx.backend(String(kind));
  const validate = ajv.compile(module.settingsSchema);
  if (!validate(rawSettings)) ctx.sink.addAjv(validate.errors ?? [], ["local_settings"]);
  const settings: Record<string, unknown> = { ...rawSettings };
  module.checkSettings?.({
    settings,
    providers: ctx.providers,
    resolvePath: (field, value) => resolveModelPath(ctx, field, value),
    problem: (field, message) => ctx.sink.add(["local_settings", ...field.split(".")], message),
  });
  const endpoints: EndpointId[] = r.endpoints ?? [...module.defaultEndpoints];
  const unsupported = endpoints.filter((e) => !module.defaultEndpoints.includes(e));
  if (unsupported.length > 0) ctx.sink.add(["registration", "endpoints"], `the ${kind} backend does not serve ${unsupported.join(", ")}`);
  const defaults = readBodies(ctx, "request_defaults", entry.request_defaults, endpoints);
  const overrides = readBodies(ctx, "request_overrides", entry.request_overrides, endpoints);
  if (ctx.sink.count > before) return undefined;
  const provider = typeof settings.provider === "string" ? ctx.providers.get(settings.provider) : undefined;
  return deepFreeze({
    model: r.model,
    endpoints,
    aliases: r.aliases ?? [],
    display_name: r.display_name ?? r.model,
    context_window: r.context_window,
    max_output_tokens: r.max_output_tokens,
    // Several endpoints imply the same capability (chat and Anthropic's messages: chat).
    capabilities: r.capabilities ?? [...new Set(endpoints.map((e) => endpoint(e).capability))],
    status: r.status ?? "stable",
    category: r.category ?? "balanced",
    allow_debug: r.allow_debug === true,
    backend: String(kind),
    settings,
    provider,
    upstream_model: typeof settings.upstream_model === "string" ? settings.upstream_model : undefined,
    model_ref: `${provider?.id ?? "understudy"}::${provider?.api_version ?? "v1"}::${r.model}`,
    owned_by: provider?.id ?? "understudy",
    defaults,
    overrides,
    client_side_config: entry.client_side_config,
    file: ctx.rel,
    entry: ctx.entry,
    created: ctx.mtime,
  });
}
