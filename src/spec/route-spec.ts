/** One operation of the spec, as the generated route table lists it. */
export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

export interface RouteSpec {
  operationId: string;
  method: HttpMethod;
  /** The spec's path, as written (it may carry a fixed query such as `?beta=true`). */
  specPath: string;
  /** The express 5 path, relative to /v1 (or to `basePath`). */
  expressPath: string;
  /**
   * Present when the path item names its own server (`servers: [{url: "/"}]`): the prefix its
   * path is relative to instead of /v1 ("" for the server's root: Sourcegraph's `/.api/...`).
   */
  basePath?: string;
  /** Query parameters the spec path fixes (`/responses?beta=true`). */
  fixedQuery: Record<string, string>;
  /** The component schema name of the JSON request body, or null. */
  requestBodySchema: string | null;
  /** The spec marks the request body required: an empty body is refused before validation. */
  requestBodyRequired: boolean;
  requestContentTypes: string[];
}
