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

/** A container being walked: its keys (undefined for an array: its indices), the next to look at, where it sits. */
interface Frame {
  value: Plain | unknown[];
  keys: string[] | undefined;
  next: number;
  key: string | number | undefined;
  parent: Frame | undefined;
}

const frameOf = (value: Plain | unknown[], key: string | number | undefined, parent: Frame | undefined): Frame => ({
  value,
  keys: Array.isArray(value) ? undefined : Object.keys(value),
  next: 0,
  key,
  parent,
});

/** `a.b[2].c`, built only for a hit: building it per node would cost O(depth) each. */
function pathOf(frame: Frame, last: string): string {
  const steps: (string | number)[] = [last];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) steps.push(f.key);
  return steps.reverse().reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), "");
}

/**
 * The path of the first forbidden key anywhere in a value, e.g. `x-localai-extensions.__proto__`.
 * Iterative (an explicit stack of the objects and arrays being walked, depth-first in key order):
 * hostile bodies nest thousands deep. Only containers get a frame: this walk runs on every request.
 */
export function findForbiddenKey(value: unknown): string | undefined {
  let frame = typeof value === "object" && value !== null ? frameOf(value as Plain, undefined, undefined) : undefined;
  while (frame !== undefined) {
    const { value: container, keys } = frame;
    if (frame.next === (keys ?? (container as unknown[])).length) {
      frame = frame.parent;
      continue;
    }
    const i = frame.next++;
    const key = keys === undefined ? i : keys[i];
    if (typeof key === "string" && FORBIDDEN_KEYS.has(key)) return pathOf(frame, key);
    const child = keys === undefined ? (container as unknown[])[i] : (container as Plain)[key];
    if (typeof child === "object" && child !== null) frame = frameOf(child as Plain, key, frame);
  }
  return undefined;
}

export function rejectForbiddenKeys(body: unknown): void {
  const hit = findForbiddenKey(body);
  // The path is made of the client's own keys: echoed clipped, like every other echo.
  if (hit)
    throw new InvalidRequestError(`The key '${hit.split(".").pop()}' is not allowed in a request body (at '${clipEcho(hit)}')`, clipEcho(hit), "forbidden_key");
}

/**
 * Merges `layer` into `target`; iterative, so a deep client object cannot overflow the stack. Every
 * object it creates (a copy of an object two layers both set) is added to `created`.
 */
function mergeInto(target: Plain, layer: Plain | undefined, nullIsUnset: boolean, created: Plain[]): Plain {
  const work: [Plain, Plain][] = layer ? [[target, layer]] : [];
  while (work.length > 0) {
    const [into, from] = work.pop()!;
    for (const key of Object.keys(from)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      const value = from[key];
      if (value === undefined || (nullIsUnset && value === null)) continue;
      // No copies of the layers: the client's are this request's own parses and the registration's
      // are frozen; only objects merged from both are new (and only those are written to).
      const existing = into[key];
      if (isPlain(value) && isPlain(existing)) {
        const merged = { ...existing };
        created.push(merged);
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

/**
 * Whether merged requests are frozen whole. jest sets NODE_ENV=test, and there every object a backend
 * is given is frozen, so a backend that writes into the request (the client's messages included)
 * fails the suite with a TypeError. A server freezes only what the merge created (see mergeRequest).
 */
const FREEZE_WHOLE_REQUEST = process.env.NODE_ENV === "test";

/**
 * The merged request, which no backend may change. The objects the merge created are frozen; the
 * registration's were frozen when the config loaded; the client's are this request's own parse,
 * frozen whole only under the tests (`deep`): walking every message of every request to freeze it
 * cost about 3 µs of CPU per proxied request, and it only ever guards against our own code.
 */
export function mergeRequest(layers: MergeLayers, deep = FREEZE_WHOLE_REQUEST): Readonly<Plain> {
  const created: Plain[] = [];
  const merged = mergeInto({}, layers.defaults, false, created);
  mergeInto(merged, layers.client, true, created);
  mergeInto(merged, layers.overrides, false, created);
  if (deep) return deepFreeze(merged);
  for (const object of created) Object.freeze(object);
  return Object.freeze(merged);
}
