/**
 * The backend of every upstream dialect: `upstreamBackend(dialect)` is a BackendModule whose kind,
 * served endpoints, provider keys and checks come from the dialect, and whose calls go through the
 * shared transport (URL set, failover, timeouts, limits, debug log) with the dialect's codec.
 */
import { ENDPOINTS, endpoint, type BackendMethod } from "../../core/operations.js";
import type { BackendInstance, BackendModule, CreateContext } from "../types.js";
import type { Dialect } from "./dialect.js";
import { resolveOptions, UPSTREAM_PROVIDER_PROPERTIES } from "./options.js";
import { checkUpstreamSettings, upstreamSettingsSchema } from "./settings.js";
import { UpstreamClient } from "./upstream-client.js";
import { acquireUrlSet } from "./url-set.js";

function createUpstream(dialect: Dialect, ctx: CreateContext): BackendInstance {
  const provider = ctx.provider;
  // checkSettings guarantees this at load time; reaching here without one is a programming error.
  if (!provider) throw new Error(`the ${dialect.kind} backend was created without a provider`);
  const options = resolveOptions(provider);
  const codec = dialect.codec(provider, ctx);
  const { set, release } = acquireUrlSet(provider, options);
  const upstreamModel = String(ctx.settings.upstream_model);
  const native = { ...dialect.nativePaths, ...dialect.nativePathsOf?.(provider) };
  const paths = { ...dialect.paths, ...native };
  const client = new UpstreamClient({ provider, options, codec, paths, upstreamModel, urls: set, log: ctx.log });
  // Loads nothing (loaded: null); its URLs' health is shared with every registration of the provider.
  const instance: BackendInstance = { passesExtraFields: codec.passesExtraFields, release, status: () => ({ loaded: null, urls: set.statuses() }) };
  // The decoded answers are the internal (OpenAI) shapes: typed loosely here, checked by tests.
  if (dialect.paths.chat) instance.chat = (req, call) => client.generate("chat", req, call) as Promise<never>;
  if (dialect.paths.completion) instance.completion = (req, call) => client.generate("completion", req, call) as Promise<never>;
  if (dialect.paths.embeddings) instance.embeddings = (req, call) => client.json("embeddings", req, call) as Promise<never>;
  // Native calls: the request and answer stay in the upstream's own protocol (see Dialect.nativePaths).
  if (native.messages) instance.messages = (req, call) => client.generate("messages", req, call) as Promise<never>;
  if (native.countMessageTokens) instance.countMessageTokens = (req, call) => client.json("countMessageTokens", req, call) as Promise<never>;
  if (native.responses) instance.responses = (req, call) => client.generate("responses", req, call) as Promise<never>;
  return instance;
}

/** Problems with a provider's URLs, reported at their place in `endpoints:` (e.g. a path the dialect cannot use). */
function checkUrls(dialect: Dialect) {
  const check = dialect.checkUrl;
  if (!check) return undefined;
  return (provider: { endpoints: readonly { url: string }[] }, problem: (path: (string | number)[], message: string) => void): void => {
    provider.endpoints.forEach((configured, i) => {
      const message = URL.canParse(configured.url) ? check(new URL(configured.url)) : undefined;
      if (message) problem(["endpoints", i, "url"], message);
    });
  };
}

export function upstreamBackend(dialect: Dialect): BackendModule {
  const served = (m: BackendMethod) => dialect.paths[m] !== undefined;
  return {
    kind: dialect.kind,
    settingsSchema: upstreamSettingsSchema(dialect.defaultUpstreamModel === undefined, dialect.settingsProperties),
    defaultEndpoints: ENDPOINTS.filter((id) => served(endpoint(id).backendMethod)),
    usesProvider: true,
    defaultProviderEndpoint: dialect.defaultEndpoint,
    providerProperties: { ...UPSTREAM_PROVIDER_PROPERTIES, ...dialect.providerProperties },
    checkSettings: checkUpstreamSettings(dialect),
    checkProvider: checkUrls(dialect),
    create: (ctx) => createUpstream(dialect, ctx),
  };
}
