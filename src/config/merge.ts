/**
 * The defaults merge: request_overrides > what the client sent > request_defaults > the spec's
 * defaults. Plain objects merge key by key (so `x-localai-extensions` merges field by field); arrays
 * and scalars replace. 0, false and "" are values; a client `null` means "not set".
 */
import { InvalidRequestError } from "../errors.js";

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

/** The path of the first forbidden key anywhere in a value, e.g. `x-localai-extensions.__proto__`. */
export function findForbiddenKey(value: unknown, path = ""): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findForbiddenKey(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
  } else if (isPlain(value)) {
    for (const key of Object.keys(value)) {
      const here = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) return here;
      const hit = findForbiddenKey(value[key], here);
      if (hit) return hit;
    }
  }
  return undefined;
}

export function rejectForbiddenKeys(body: unknown): void {
  const hit = findForbiddenKey(body);
  if (hit) throw new InvalidRequestError(`The key '${hit.split(".").pop()}' is not allowed in a request body (at '${hit}')`, hit, "forbidden_key");
}

function mergeInto(target: Plain, layer: Plain | undefined, nullIsUnset: boolean): Plain {
  if (!layer) return target;
  for (const key of Object.keys(layer)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const value = layer[key];
    if (value === undefined || (nullIsUnset && value === null)) continue;
    // No copies: the client's layers are this request's own parses and the registration's are
    // frozen; the merged result is frozen as a whole.
    target[key] = isPlain(value) && isPlain(target[key]) ? mergeInto({ ...(target[key] as Plain) }, value, nullIsUnset) : value;
  }
  return target;
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export interface MergeLayers {
  /** The validated body: the client's fields plus the spec's defaults. */
  specDefaulted?: Plain;
  defaults?: Plain;
  client: Plain;
  overrides?: Plain;
}

export function mergeRequest(layers: MergeLayers): Readonly<Plain> {
  const merged = mergeInto({}, layers.specDefaulted, false);
  mergeInto(merged, layers.defaults, false);
  mergeInto(merged, layers.client, true);
  mergeInto(merged, layers.overrides, false);
  return deepFreeze(merged);
}
