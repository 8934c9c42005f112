/**
 * One route table, one matcher (issue 10, item 1): every operation of the generated table, and
 * each fixed-query variant, reaches its own operationId; and a server with `Compactconversation`
 * implemented (a test handler: no surface serves it) still sends `POST /v1/responses/compact?beta=true`
 * to `beta_Compactconversation`.
 */
import { routes, type RouteSpec } from "../src/generated/routes.js";
import { createRouteMatcher } from "../src/http/route-matcher.js";
import { ApiError } from "../src/core/errors.js";
import { handlers } from "../src/surfaces/index.js";
import type { Handler } from "../src/handlers/types.js";
import { postJson, startTestServer, type TestServer } from "./helpers/server.js";

const match = createRouteMatcher(routes);

/** A sample value per parameter name: distinct, and never equal to a fixed segment of any path. */
const sample = (name: string) => `sample-${name}`;

/** A concrete path for the route: its parameters replaced by samples, without a query. */
function concretePath(route: RouteSpec): string {
  return `${route.basePath ?? "/v1"}${route.expressPath.replace(/:(\w+)/g, (_, name: string) => sample(name))}`;
}

function queryOf(fixed: Record<string, string>): string {
  const text = new URLSearchParams(fixed).toString();
  return text === "" ? "" : `?${text}`;
}

const withQuery = routes.filter((r) => Object.keys(r.fixedQuery).length > 0);

describe("the route matcher over the generated table", () => {
  it("the table has the 292 operations of the spec (288 of OpenAI, 2 of Anthropic, 2 of Sourcegraph), each once", () => {
    expect(routes).toHaveLength(292);
    expect(new Set(routes.map((r) => r.operationId)).size).toBe(292);
    expect(withQuery.length).toBeGreaterThan(0);
  });

  it.each(routes.map((r) => [`${r.method.toUpperCase()} ${r.specPath}`, r] as const))("%s reaches its own operation", (_, route) => {
    const url = concretePath(route) + queryOf(route.fixedQuery);
    const found = match(route.method.toUpperCase(), url);
    expect(found?.route.operationId).toBe(route.operationId);
    expect(found?.route).toBe(route);
    const names = [...route.expressPath.matchAll(/:(\w+)/g)].map((m) => m[1]);
    expect(found?.params).toEqual(Object.fromEntries(names.map((n) => [n, sample(n)])));
    expect(found?.path).toBe(concretePath(route));
  });

  describe.each(withQuery.map((r) => [`${r.method.toUpperCase()} ${r.specPath}`, r] as const))("fixed-query variant %s", (_, route) => {
    const method = route.method.toUpperCase();
    const path = concretePath(route);
    const bare = routes.find((r) => r.method === route.method && r.expressPath === route.expressPath && Object.keys(r.fixedQuery).length === 0);

    it("is reached with other query parameters around its own", () => {
      expect(match(method, `${path}?limit=3&${new URLSearchParams(route.fixedQuery)}&after=x`)?.route).toBe(route);
    });

    it("is not reached without its query, nor with another value, nor with its key twice", () => {
      const [[key, value]] = Object.entries(route.fixedQuery);
      for (const url of [path, `${path}?${key}=${value}x`, `${path}?${key}=${value}&${key}=${value}`, `${path}?other=${value}`]) {
        const found = match(method, url);
        expect(found?.route).not.toBe(route);
        expect(found?.route).toBe(bare);
      }
    });
  });

  it("decodes parameters once, and refuses malformed percent-encoding with a 400", () => {
    expect(match("GET", "/v1/models/org%2Fmodel%20x")?.params).toEqual({ model: "org/model x" });
    for (const bad of ["/v1/models/%ZZ", "/v1/models/%E0%A4%A"]) {
      let thrown: unknown;
      try {
        match("GET", bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ApiError);
      expect(thrown).toMatchObject({ status: 400, code: "invalid_url_encoding" });
    }
  });

  it("a fixed segment beats a parameter in the same place, whatever the method table holds", () => {
    expect(match("POST", "/v1/responses/compact")?.route.operationId).toBe("Compactconversation");
    // No GET /responses/compact exists: a GET of that path is getResponse with response_id "compact".
    expect(match("GET", "/v1/responses/compact")).toMatchObject({ route: { operationId: "getResponse" }, params: { response_id: "compact" } });
  });

  it("answers no match for unknown paths, methods, empty segments, trailing slashes and other prefixes", () => {
    for (const [method, url] of [
      ["GET", "/v1/no/such/thing"],
      ["PUT", "/v1/models"],
      ["BREW", "/v1/models"],
      ["GET", "/v1/models/"],
      ["GET", "/v1/models//x"],
      ["POST", "/v1/chat/completions/"],
      ["POST", "/v2/chat/completions"],
      ["POST", "/chat/completions"],
      ["POST", "/V1/CHAT/COMPLETIONS"],
      ["POST", "http://example.com/v1/chat/completions"],
      ["OPTIONS", "*"],
    ] as const) {
      expect(match(method, url)).toBeUndefined();
    }
    expect(match(undefined, "/v1/models")).toBeUndefined();
    expect(match("GET", undefined)).toBeUndefined();
  });

  it("HEAD is matched as GET, as express did", () => {
    expect(match("HEAD", "/v1/models")?.route.operationId).toBe("listModels");
  });

  it("a parameterless match is the same object every time (nothing allocated on the hot path)", () => {
    const a = match("POST", "/v1/chat/completions");
    expect(a?.route.operationId).toBe("createChatCompletion");
    expect(match("POST", "/v1/chat/completions")).toBe(a);
    expect(match("POST", "/v1/chat/completions?x=1")).toBe(a);
  });
});

describe("a server with Compactconversation implemented", () => {
  const Compactconversation: Handler = async (call) => ({ kind: "json", body: { served_by: call.operationId } });
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ handlers: { ...handlers, Compactconversation } });
  });
  afterAll(() => server.close());

  it("POST /v1/responses/compact?beta=true reaches beta_Compactconversation (501), not the Compactconversation handler", async () => {
    const res = await postJson(`${server.url}/v1/responses/compact?beta=true`, { model: "demo", input: "hi" });
    expect(res.status).toBe(501);
    expect(res.json.error).toMatchObject({ code: "not_implemented", message: "beta_Compactconversation is not implemented by this server" });
  });

  it("POST /v1/responses/compact reaches the Compactconversation handler", async () => {
    const res = await postJson(`${server.url}/v1/responses/compact`, { model: "demo", input: "hi" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ served_by: "Compactconversation" });
  });

  it("POST /v1/responses/compact?beta=false is not the beta operation", async () => {
    const res = await postJson(`${server.url}/v1/responses/compact?beta=false`, { model: "demo", input: "hi" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ served_by: "Compactconversation" });
  });

  it("POST /v1/responses?beta=true still reaches beta_createResponse (501), not the responses surface", async () => {
    const res = await postJson(`${server.url}/v1/responses?beta=true`, { model: "demo", input: "hi" });
    expect(res.status).toBe(501);
    expect(res.json.error).toMatchObject({ code: "not_implemented", message: "beta_createResponse is not implemented by this server" });
  });

  it("every unimplemented operation answers 501 naming itself, on its own URL", async () => {
    const sampled = routes
      .filter((r) => !Object.hasOwn(handlers, r.operationId) && r.operationId !== "Compactconversation" && r.method !== "post")
      .slice(0, 40);
    for (const route of sampled) {
      const res = await fetch(`${server.url}${concretePath(route)}${queryOf(route.fixedQuery)}`, { method: route.method.toUpperCase() });
      expect([route.operationId, res.status]).toEqual([route.operationId, 501]);
      expect((await res.json()).error.message).toBe(`${route.operationId} is not implemented by this server`);
    }
  });
});
