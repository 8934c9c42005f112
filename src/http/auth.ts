/**
 * API keys at the door: every request names a key of keys.yaml (config/keys.ts) unless it asks for
 * a public path. Runs in the request listener before either layer reads the body, and only when the
 * snapshot has keys (or the server must not be open): an open server pays one branch per request.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { ApiKey } from "../core/api-key.js";
import { InvalidApiKeyError } from "../core/errors.js";
import type { KeyTable } from "../config/keys.js";

/**
 * Paths served without a key: health checks (load balancers and kubelets hold no key), the
 * published spec (OpenAI's spec is public; ours adds nothing secret, and clients generate from it)
 * and the admin page's files.
 * Everything else, the model lists included, needs one.
 */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(["/health", "/ready", "/openapi.json", "/openapi.yaml", "/admin", "/admin/"]);
/** The admin page's built files (http/admin/admin-assets.ts): they hold no secrets; its data (/admin/api/*) needs an admin key. */
const PUBLIC_PREFIX = "/admin/assets/";

const BEARER = /^(?:bearer|token)[ \t]+(\S+)[ \t]*$/i;

const MISSING =
  "You didn't provide an API key. Send it as 'Authorization: Bearer <key>', 'x-api-key: <key>' or 'Authorization: token <key>' (keys are listed in keys.yaml; see understudy keys add).";
const WRONG = "Incorrect API key provided. Keys are listed, by their SHA-256 hash, in the server's keys.yaml.";
const EXPIRED = "The API key provided has expired.";
const NO_KEYS =
  "This server listens beyond loopback and its keys.yaml lists no key: every request is refused until keys are added (or the server is restarted with --allow-unauthenticated).";

/**
 * The key a client presents: `x-api-key` (Anthropic's clients), else `Authorization: Bearer <k>`
 * (OpenAI's) or `Authorization: token <k>` (Sourcegraph's). A header in another form presents none.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey !== "") return apiKey.trim();
  const authorization = headers.authorization;
  if (authorization === undefined) return undefined;
  return BEARER.exec(authorization)?.[1];
}

const isPublic = (url: string | undefined) => {
  if (url === undefined) return false;
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  return PUBLIC_PATHS.has(pathname) || pathname.startsWith(PUBLIC_PREFIX);
};

/**
 * The caller's key, or the 401 to answer. `keys` undefined (no keys listed) is reached only when
 * the server must not be open: every request but the public ones is refused then.
 */
export function authenticate(
  keys: KeyTable | undefined,
  headers: IncomingHttpHeaders,
  url: string | undefined,
  now = Date.now(),
): ApiKey | InvalidApiKeyError | null {
  if (isPublic(url)) return null;
  if (keys === undefined) return new InvalidApiKeyError(NO_KEYS);
  const presented = presentedKey(headers);
  if (presented === undefined) return new InvalidApiKeyError(MISSING);
  const key = keys.find(presented);
  if (key === undefined) return new InvalidApiKeyError(WRONG);
  if (key.expires !== undefined && now >= key.expires) return new InvalidApiKeyError(EXPIRED);
  return key;
}

const API_KEY = Symbol("understudy.apiKey");
type Tagged = ServerResponse & { [API_KEY]?: ApiKey };

/** Keeps the caller's key on the response: both layers hand the response to the operation runner. */
export function keepApiKey(res: ServerResponse, key: ApiKey): void {
  (res as Tagged)[API_KEY] = key;
}

/** The key the request was let in with; undefined on an open server and on public paths. */
export function apiKeyOf(res: ServerResponse): ApiKey | undefined {
  return (res as Tagged)[API_KEY];
}

/** Interfaces only this machine can reach: a server bound to one may run without keys. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}
