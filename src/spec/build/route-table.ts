/** Reads every operation of an OpenAPI document into the shape of src/generated/routes.ts. */
import type { HttpMethod, RouteSpec } from "../route-spec.js";

export type { HttpMethod, RouteSpec };

const METHODS: HttpMethod[] = ["get", "post", "put", "patch", "delete"];

type Json = Record<string, any>;

export function buildRouteTable(doc: Json): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const [specPath, item] of Object.entries(doc.paths as Json)) {
    for (const method of METHODS) {
      const op = (item as Json)[method];
      if (!op) continue;
      const [pathPart, query = ""] = specPath.split("?");
      const content = op.requestBody?.content ?? {};
      const ref: unknown = content["application/json"]?.schema?.$ref;
      routes.push({
        operationId: op.operationId,
        method,
        specPath,
        expressPath: pathPart.replace(/\{([^}]+)\}/g, ":$1"),
        ...basePathOf(item as Json),
        fixedQuery: Object.fromEntries(new URLSearchParams(query)),
        requestBodySchema: typeof ref === "string" ? ref.replace("#/components/schemas/", "") : null,
        requestBodyRequired: op.requestBody?.required === true,
        requestContentTypes: Object.keys(content),
      });
    }
  }
  return routes.sort(compareRoutes);
}

/** A path item's own server (OpenAPI's path-level `servers`): its path prefix, without a trailing slash. */
function basePathOf(item: Json): { basePath?: string } {
  const url: unknown = item.servers?.[0]?.url;
  return typeof url === "string" ? { basePath: url.replace(/\/+$/, "") } : {};
}

/**
 * A readable, stable order: fixed segments before parameters in the same place
 * (`/responses/compact` before `/responses/:response_id`), a fixed query before the bare path.
 * Matching does not depend on it (src/http/route-matcher.ts ranks routes itself).
 */
function compareRoutes(a: RouteSpec, b: RouteSpec): number {
  const sa = a.expressPath.split("/");
  const sb = b.expressPath.split("/");
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const pa = sa[i].startsWith(":");
    const pb = sb[i].startsWith(":");
    if (pa !== pb) return pa ? 1 : -1;
    if (!pa && sa[i] !== sb[i]) return sa[i] < sb[i] ? -1 : 1;
  }
  if (sa.length !== sb.length) return sa.length - sb.length;
  const qa = Object.keys(a.fixedQuery).length;
  const qb = Object.keys(b.fixedQuery).length;
  if (qa !== qb) return qb - qa;
  return a.method < b.method ? -1 : a.method > b.method ? 1 : a.operationId < b.operationId ? -1 : 1;
}

export function renderRoutesModule(routes: RouteSpec[], header: string): string {
  const lines = routes.map((r) => `  ${JSON.stringify(r)},`);
  return `${header}import type { RouteSpec } from "../spec/route-spec.js";

export type { HttpMethod, RouteSpec } from "../spec/route-spec.js";

export const routes: readonly RouteSpec[] = [
${lines.join("\n")}
];
`;
}
