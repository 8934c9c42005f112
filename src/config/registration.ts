/** The loaded, validated, immutable form of one registration. */
import type { Provider } from "../backends/types.js";
import type { EndpointId } from "../core/operations.js";
import type { ClientSideConfig } from "./client-side-config.js";

export interface Registration {
  model: string;
  endpoints: readonly EndpointId[];
  aliases: readonly string[];
  display_name: string;
  context_window?: number;
  max_output_tokens?: number;
  capabilities: readonly string[];
  status: "stable" | "beta" | "deprecated";
  allow_debug: boolean;
  backend: string;
  /** local_settings without `backend`, paths resolved. */
  settings: Readonly<Record<string, unknown>>;
  provider?: Provider;
  upstream_model?: string;
  /** `provider::api_version::model` */
  model_ref: string;
  owned_by: string;
  /** Per endpoint, already validated against the endpoint's request schema. */
  defaults: Readonly<Partial<Record<EndpointId, Readonly<Record<string, unknown>>>>>;
  overrides: Readonly<Partial<Record<EndpointId, Readonly<Record<string, unknown>>>>>;
  /** Sourcegraph's client-side knobs for Cody (the preset's, overridden by the registration's own). */
  client_side_config?: ClientSideConfig;
  /** Sourcegraph's model category. */
  category: "balanced" | "speed" | "accuracy";
  /** Path relative to the config directory, the index in a file holding a list, and the unix time of the file's last change. */
  file: string;
  entry?: number;
  created: number;
}

/** Each value as configured: a name, alias, model ref or legacy `provider/model`. */
export interface DefaultModels {
  chat?: string;
  fast_chat?: string;
  code_completion?: string;
}
