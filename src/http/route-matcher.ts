/**
 * The one route matcher: every request, whichever layer serves it (the node:http fast path or
 * express), is matched here on method, path and fixed query against the generated route table.
 * Two routers that each matched on their own disagreed (the fast path ignored `?beta=true`).
 *
 * Built once at start. Per request: for a parameterless path (all the hot operations), a lookup by
 * method then path whose match object is built ahead, so nothing is allocated; else a walk of the
 * few parametrized paths with that method and number of segments. No regexp runs per request.
 */
import type { RouteSpec } from "../generated/routes.js";
import { InvalidRequestError } from "../core/errors.js";

/** The spec's server URL: every operation's path starts with it. */
export const API_PREFIX = "/v1";

export interface RouteMatch {
  readonly route: RouteSpec;
  /** The path parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The request's path, without its query. */
  readonly path: string;
}

/**
 * The operation a request is for, or undefined when no operation has this method and path.
 * Throws a 400 `invalid_url_encoding` when a path parameter's percent-encoding is malformed.
 */
export type RouteMatcher = (method: string | undefined, url: string | undefined) => RouteMatch | undefined;

type FixedQuery = readonly (readonly [string, string])[];

interface Candidate {
  readonly route: RouteSpec;
  readonly query: FixedQuery;
}

interface FixedCandidate extends Candidate {
  readonly match: RouteMatch;
}

interface Pattern extends Candidate {
  /** One entry per segment after the prefix: the literal text, or null for a parameter. */
  readonly literals: readonly (string | null)[];
  /** The parameter's name at each null of `literals`. */
  readonly names: readonly string[];
}

/**
 * Upper-case method -> path -> the match itself when one operation has that method and path and no
 * fixed query (the common case, answered without a walk), else the candidates, best first.
 */
type FixedTable = Map<string, Map<string, RouteMatch | FixedCandidate[]>>;
/** Upper-case method -> segment count -> patterns, best first. */
type PatternTable = Map<string, Map<number, Pattern[]>>;

export function createRouteMatcher(routes: readonly RouteSpec[], prefix = API_PREFIX): RouteMatcher {
  const fixedLists = new Map<string, Map<string, FixedCandidate[]>>();
  const patterns: PatternTable = new Map();
  for (const route of routes) {
    const method = route.method.toUpperCase();
    const query: FixedQuery = Object.entries(route.fixedQuery);
    const segments = route.expressPath.slice(1).split("/");
    if (segments.every((s) => !s.includes(":"))) {
      const path = `${route.basePath ?? prefix}${route.expressPath}`;
      const match: RouteMatch = Object.freeze({ route, params: Object.freeze({}), path });
      bucket(
        bucket(fixedLists, method, () => new Map()),
        path,
        () => [],
      ).push({ route, query, match });
    } else {
      // Patterns are matched after the prefix; a path item with its own server has fixed paths only (Sourcegraph's).
      if (route.basePath !== undefined) throw new Error(`${route.operationId}: a path with its own server cannot have parameters`);
      bucket(
        bucket(patterns, method, () => new Map()),
        segments.length,
        () => [],
      ).push(patternOf(route, query, segments));
    }
  }
  const fixed = fixedTable(fixedLists);
  for (const byCount of patterns.values()) for (const list of byCount.values()) list.sort(bySpecificity);

  const pathStart = `${prefix}/`;
  return (method, url) => {
    if (method === undefined || url === undefined) return undefined;
    // express answered HEAD with the GET route (and node drops the body); so does this.
    const verb = method === "HEAD" ? "GET" : method;
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const exact = fixed.get(verb)?.get(path);
    if (exact !== undefined) {
      if (!Array.isArray(exact)) return exact;
      const hit = firstWithQuery(exact, url, q);
      if (hit !== undefined) return hit.match;
    }
    const byCount = patterns.get(verb);
    if (byCount === undefined || !path.startsWith(pathStart)) return undefined;
    const segments = path.slice(pathStart.length).split("/");
    const list = byCount.get(segments.length);
    return list === undefined ? undefined : matchPattern(list, segments, path, url, q);
  };
}

function bucket<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

function fixedTable(lists: Map<string, Map<string, FixedCandidate[]>>): FixedTable {
  const table: FixedTable = new Map();
  for (const [method, byPath] of lists) {
    const out = new Map<string, RouteMatch | FixedCandidate[]>();
    for (const [path, list] of byPath) {
      list.sort(byFixedQuery);
      out.set(path, list.length === 1 && list[0].query.length === 0 ? list[0].match : list);
    }
    table.set(method, out);
  }
  return table;
}

function patternOf(route: RouteSpec, query: FixedQuery, segments: string[]): Pattern {
  const names: string[] = [];
  const literals = segments.map((s) => {
    if (!s.includes(":")) return s;
    // The spec's parameters are whole segments; anything else would need a real pattern language.
    if (!/^:\w+$/.test(s)) throw new Error(`${route.operationId}: unsupported path segment '${s}'`);
    names.push(s.slice(1));
    return null;
  });
  return { route, query, literals, names };
}

/** Routes with a fixed query are tried before the bare path they share. */
function byFixedQuery(a: Candidate, b: Candidate): number {
  return b.query.length - a.query.length;
}

/** A fixed segment beats a parameter in the same place (`/responses/compact` before `/responses/{id}`). */
function bySpecificity(a: Pattern, b: Pattern): number {
  for (let i = 0; i < a.literals.length; i++) {
    const la = a.literals[i] !== null;
    if (la !== (b.literals[i] !== null)) return la ? -1 : 1;
  }
  return byFixedQuery(a, b);
}

/** The first candidate whose fixed query the URL carries (each key once, with that value). */
function firstWithQuery<C extends Candidate>(list: readonly C[], url: string, q: number): C | undefined {
  let search: URLSearchParams | undefined;
  for (const candidate of list) {
    if (candidate.query.length === 0) return candidate;
    search ??= new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
    if (hasQuery(search, candidate.query)) return candidate;
  }
  return undefined;
}

function hasQuery(search: URLSearchParams, query: FixedQuery): boolean {
  for (const [key, value] of query) {
    const values = search.getAll(key);
    if (values.length !== 1 || values[0] !== value) return false;
  }
  return true;
}

function matchPattern(list: readonly Pattern[], segments: readonly string[], path: string, url: string, q: number): RouteMatch | undefined {
  const fits = list.filter((p) => fitsSegments(p, segments));
  const best = fits.length === 0 ? undefined : firstWithQuery(fits, url, q);
  if (best === undefined) return undefined;
  const params: Record<string, string> = {};
  let n = 0;
  best.literals.forEach((literal, i) => {
    if (literal === null) params[best.names[n++]] = decodeParam(segments[i]);
  });
  return { route: best.route, params, path };
}

function fitsSegments(pattern: Pattern, segments: readonly string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const literal = pattern.literals[i];
    if (literal === null ? segments[i] === "" : literal !== segments[i]) return false;
  }
  return true;
}

function decodeParam(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidRequestError("The URL has malformed percent-encoding.", null, "invalid_url_encoding");
  }
}
