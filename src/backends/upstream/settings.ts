/** local_settings of the upstream backends, and the load-time checks against providers.yaml. */
import type { JsonSchema, SettingsCheckContext } from "../types.js";
import type { Dialect } from "./dialect.js";

export interface UpstreamSettings {
  provider: string;
  upstream_model: string;
}

export function upstreamSettingsSchema(upstreamModelRequired: boolean, dialectProperties: Readonly<Record<string, JsonSchema>> = {}): JsonSchema {
  return {
    type: "object",
    additionalProperties: false,
    required: upstreamModelRequired ? ["provider", "upstream_model"] : ["provider"],
    properties: {
      provider: { type: "string", minLength: 1, description: "The id of a provider in providers.yaml" },
      upstream_model: { type: "string", minLength: 1, description: "The model name sent upstream (clients keep seeing the registered name)" },
      ...dialectProperties,
    },
  };
}

/**
 * The provider must exist and be of this backend's type, and pass the dialect's own checks. The
 * dialect's defaultUpstreamModel fills in upstream_model when the server ignores it anyway.
 */
export function checkUpstreamSettings(dialect: Dialect) {
  const kind = dialect.kind;
  return (ctx: SettingsCheckContext): void => {
    const name = ctx.settings.provider;
    if (typeof name !== "string") return;
    const provider = ctx.providers.get(name);
    const ofKind = [...ctx.providers.values()].filter((p) => p.type === kind).map((p) => p.id);
    const known = ofKind.length > 0 ? `providers of type ${kind}: ${ofKind.join(", ")}` : `providers.yaml has no provider of type ${kind}`;
    if (!provider) return ctx.problem("provider", `unknown provider '${name}' (${known})`);
    if (provider.type !== kind)
      return ctx.problem("provider", `provider '${name}' has type '${provider.type}'; the ${kind} backend needs one of type '${kind}' (${known})`);
    dialect.checkProvider?.(provider, (message) => ctx.problem("provider", message));
    if (ctx.settings.upstream_model === undefined && dialect.defaultUpstreamModel) ctx.settings.upstream_model = dialect.defaultUpstreamModel;
  };
}
