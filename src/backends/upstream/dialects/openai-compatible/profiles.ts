/**
 * What each kind of upstream server can carry of `x-localai-extensions`, and whether it takes
 * top-level fields the spec does not declare. An extension the profile has no field for is a 400
 * naming it: sending it anyway would be silently ignored by most servers, and dropping it would
 * silently change the sampling the client asked for. The same goes for an unknown top-level field.
 */
import { UnsupportedFieldError } from "../../../../core/errors.js";

export const EXTENSIONS_KEY = "x-localai-extensions";

export interface Profile {
  /** Extension field -> upstream top-level field (a dotted path nests, e.g. `structured_outputs.grammar`). */
  extensions: Readonly<Record<string, string>>;
  /** The upstream is an Understudy: `x-localai-extensions` passes through as it is. */
  passThrough?: boolean;
  /** Shown in the 400 when an extension cannot be carried. */
  why: string;
  /**
   * The default of the provider key `extra_fields`: `pass` sends top-level fields the spec does not
   * declare upstream unchanged (servers that take extra sampling fields, as `extra_body` clients
   * send them); `reject` answers them with a 400 `unknown_parameter`.
   */
  extraFields: ExtraFields;
}

export const EXTRA_FIELDS = ["pass", "reject"] as const;
export type ExtraFields = (typeof EXTRA_FIELDS)[number];

const sameName = (fields: string[]) => Object.fromEntries(fields.map((f) => [f, f]));

export const PROFILES = {
  /** OpenAI itself, or any server of unknown dialect: standard fields only. */
  openai: { extensions: {}, why: "plain OpenAI-compatible upstreams take no sampling extensions", extraFields: "reject" },
  /** vLLM's OpenAI server (extra sampling params; structured outputs API of vLLM >= 0.11). */
  vllm: {
    extensions: {
      top_k: "top_k",
      min_p: "min_p",
      repeat_penalty: "repetition_penalty",
      ignore_eos: "ignore_eos",
      grammar: "structured_outputs.grammar",
    },
    why: "vLLM has no equivalent parameter",
    // vLLM's extra sampling parameters (top_k, min_p, repetition_penalty, guided_json...) at top level.
    extraFields: "pass",
  },
  /** llama.cpp's llama-server: its native sampling parameters are accepted on /v1 under the same names. */
  "llamacpp-server": {
    extensions: sameName([
      "top_k",
      "min_p",
      "typical_p",
      "repeat_penalty",
      "repeat_last_n",
      "grammar",
      "ignore_eos",
      "n_keep",
      "mirostat",
      "mirostat_tau",
      "mirostat_eta",
    ]),
    why: "llama-server has no such parameter",
    extraFields: "pass",
  },
  /** Ollama's /v1 endpoints accept only OpenAI's fields (its `options` live on the native /api). */
  ollama: { extensions: {}, why: "Ollama's OpenAI-compatible API ignores sampling extensions", extraFields: "reject" },
  /** Another Understudy: extensions and extra fields pass through unchanged (it decides about them). */
  understudy: { extensions: {}, passThrough: true, why: "", extraFields: "pass" },
  /** Hugging Face TGI's Messages API: OpenAI's fields only (top_k & co. exist only on /generate). */
  tgi: { extensions: {}, why: "TGI's Messages API takes no sampling extensions", extraFields: "reject" },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
/** Profiles a providers.yaml `profile:` may name (`tgi` comes with the huggingface-tgi type). */
export const PROVIDER_PROFILES = ["openai", "vllm", "llamacpp-server", "ollama", "understudy"] as const;

export const isProfileName = (v: unknown): v is ProfileName => typeof v === "string" && Object.hasOwn(PROFILES, v);

type Body = Record<string, unknown>;

function setPath(body: Body, path: string, value: unknown): void {
  const dot = path.indexOf(".");
  if (dot < 0) {
    body[path] = value;
    return;
  }
  const head = path.slice(0, dot);
  const inner = typeof body[head] === "object" && body[head] !== null ? { ...(body[head] as Body) } : {};
  setPath(inner, path.slice(dot + 1), value);
  body[head] = inner;
}

/**
 * The body sent upstream: the merged request with `model` replaced and the extensions translated
 * for the profile. `backendLabel` names the backend and provider in the 400.
 */
export function upstreamBody(request: Readonly<Body>, model: string, profile: Profile, backendLabel: string): Body {
  const { [EXTENSIONS_KEY]: ext, ...rest } = request;
  const body: Body = rest;
  body.model = model;
  if (ext === undefined || ext === null) return body;
  if (profile.passThrough) {
    body[EXTENSIONS_KEY] = ext;
    return body;
  }
  for (const [field, value] of Object.entries(ext as Body)) {
    const target = profile.extensions[field];
    if (target === undefined) throw new UnsupportedFieldError(`${EXTENSIONS_KEY}.${field}`, backendLabel, profile.why);
    setPath(body, target, value);
  }
  return body;
}
