/**
 * The defaults merge: request_overrides > what the client sent > request_defaults. The spec's
 * defaults are not a layer: they document what OpenAI does with an absent field, and what a backend
 * does with one is its own default (an upstream's per-model defaults included). Plain objects merge
 * key by key (so `x-localai-extensions` merges field by field); arrays and scalars replace. 0, false
 * and "" are values; a client `null` means "not set".
 */
import { clipEcho, InvalidRequestError } from "../core/errors.js";

/**
 * Keys refused anywhere in a body or a config file. `__proto__` and `prototype` are the pollution
 * vectors; `constructor` is not (the merge assigns own properties, which shadow the inherited
 * one), and it is a legitimate name, e.g. a tool schema property.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "prototype"]);

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

interface Visit {
  value: unknown;
  key: string | number | undefined;
  parent: Visit | undefined;
}

/** `a.b[2].c`, built only for a hit: building it per node would cost O(depth) each. */
function pathOf(visit: Visit): string {
  const steps: (string | number)[] = [];
  for (let v: Visit | undefined = visit; v?.key !== undefined; v = v.parent) steps.push(v.key);
  return steps.reverse().reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), "");
}

/**
 * The path of the first forbidden key anywhere in a value, e.g. `x-localai-extensions.__proto__`.
 * Iterative (an explicit stack, depth-first in key order): hostile bodies nest thousands deep.
 */
export function findForbiddenKey(value: unknown): string | undefined {
  const stack: Visit[] = [{ value, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if (typeof visit.key === "string" && FORBIDDEN_KEYS.has(visit.key)) return pathOf(visit);
    const v = visit.value;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: visit });
    } else if (isPlain(v)) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: v[keys[i]], key: keys[i], parent: visit });
    }
  }
  return undefined;
}

export function rejectForbiddenKeys(body: unknown): void {
  const hit = findForbiddenKey(body);
  // The path is made of the client's own keys: echoed clipped, like every other echo.
  if (hit)
    throw new InvalidRequestError(`The key '${hit.split(".").pop()}' is not allowed in a request body (at '${clipEcho(hit)}')`, clipEcho(hit), "forbidden_key");
}

/** Merges `layer` into `target`; iterative, so a deep client object cannot overflow the stack. */
function mergeInto(target: Plain, layer: Plain | undefined, nullIsUnset: boolean): Plain {
  const work: [Plain, Plain][] = layer ? [[target, layer]] : [];
  while (work.length > 0) {
    const [into, from] = work.pop()!;
    for (const key of Object.keys(from)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      const value = from[key];
      if (value === undefined || (nullIsUnset && value === null)) continue;
      // No copies of the layers: the client's are this request's own parses and the registration's
      // are frozen; only objects merged from both are new, and the result is frozen as a whole.
      const existing = into[key];
      if (isPlain(value) && isPlain(existing)) {
        const merged = { ...existing };
        into[key] = merged;
        work.push([merged, value]);
      } else into[key] = value;
    }
  }
  return target;
}

/** Freezes every object reachable from `value`; iterative, and each object once (shared ones too). */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object" || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const child of Object.values(v)) stack.push(child);
  }
  return value;
}

export interface MergeLayers {
  /** The registration's request_defaults for the endpoint. */
  defaults?: Plain;
  /** The client's body, exactly as sent (validated: the validator adds nothing). */
  client: Plain;
  /** The registration's request_overrides for the endpoint. */
  overrides?: Plain;
}

export function mergeRequest(layers: MergeLayers): Readonly<Plain> {
  const merged = mergeInto({}, layers.defaults, false);
  mergeInto(merged, layers.client, true);
  mergeInto(merged, layers.overrides, false);
  return deepFreeze(merged);
}
