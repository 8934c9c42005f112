/**
 * One pipeline (issue 10, item 2): the same malformed, empty, non-JSON, oversized and too-deep
 * bodies get the same answer (status, type, code, param, message) from operations express serves
 * and from one the node:http fast path serves. Two operations are implemented here by test
 * handlers: `modifyAssistant` (POST /v1/assistants/{assistant_id}, its body a named schema) and
 * `updateChatCompletion` (POST /v1/chat/completions/{completion_id}, its body an inline schema,
 * required by the spec). The fast path does not take operations with path parameters, so express
 * serves both. Chat completions is the fast path's own.
 */
import { gzipSync } from "node:zlib";
import { handlers } from "../src/surfaces/index.js";
import type { Handler } from "../src/handlers/types.js";
import { httpRequest, raw, type Answer, type Target } from "./security/harness.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const LIMIT = 2048;
const EXPRESS_ROUTES = ["/v1/assistants/asst_1", "/v1/chat/completions/chatcmpl_1"];
const FAST_ROUTE = "/v1/chat/completions";

/** Raw request bytes for a target: exactly these headers (Host, Connection added) and body. */
type Build = (target: string) => Buffer | Buffer[];

const post =
  (headers: Record<string, string | number>, body: string | Buffer = ""): Build =>
  (target) =>
    httpRequest("POST", target, headers, body);
/** A JSON POST with a correct Content-Length. */
const json = (body: string | Buffer, headers: Record<string, string | number> = {}): Build =>
  post({ "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...headers }, body);
/** A chunked JSON POST: the size is only known once the body is read. */
const chunked =
  (body: string): Build =>
  (target) => [
    httpRequest("POST", target, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" }),
    Buffer.from(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
  ];

const deep = (n: number) => `{"a":${"[".repeat(n)}${"]".repeat(n)}}`;

interface Case {
  name: string;
  build: Build;
  status: number;
  code?: string;
}

const CASES: Case[] = [
  { name: "malformed JSON", build: json('{"model": "demo",'), status: 400, code: "invalid_json" },
  { name: "plain text declared as JSON", build: json("hello"), status: 400, code: "invalid_json" },
  { name: "an empty body (Content-Length: 0)", build: json(""), status: 400, code: "missing_required_parameter" },
  { name: "no body and no Content-Length", build: post({ "Content-Type": "application/json" }), status: 400, code: "missing_required_parameter" },
  { name: "an empty body with no content type", build: post({ "Content-Length": 0 }), status: 400, code: "missing_required_parameter" },
  { name: "JSON sent as text/plain", build: json("{}", { "Content-Type": "text/plain" }), status: 415, code: "unsupported_media_type" },
  { name: "JSON with no content type", build: post({ "Content-Length": 2 }, "{}"), status: 415, code: "unsupported_media_type" },
  { name: "an empty content type", build: json("{}", { "Content-Type": "" }), status: 415, code: "unsupported_media_type" },
  { name: "a form body", build: json("a=1", { "Content-Type": "application/x-www-form-urlencoded" }), status: 415, code: "unsupported_media_type" },
  { name: "application/jsonp", build: json("{}", { "Content-Type": "application/jsonp" }), status: 415, code: "unsupported_media_type" },
  { name: "a +json media type", build: json("{}", { "Content-Type": "application/vnd.api+json" }), status: 415, code: "unsupported_media_type" },
  { name: "a content type list", build: json("{}", { "Content-Type": "application/json, text/plain" }), status: 415, code: "unsupported_media_type" },
  {
    name: "upper-case JSON media type, malformed body",
    build: json("{", { "Content-Type": "APPLICATION/JSON; charset=UTF-8" }),
    status: 400,
    code: "invalid_json",
  },
  {
    name: "JSON with spaces before its parameters, malformed body",
    build: json("{", { "Content-Type": "application/json ; charset=utf-8" }),
    status: 400,
    code: "invalid_json",
  },
  { name: "a UTF-16 charset", build: json("{}", { "Content-Type": "application/json; charset=utf-16" }), status: 415, code: "unsupported_media_type" },
  { name: "a gzip-encoded body", build: json(gzipSync("{}"), { "Content-Encoding": "gzip" }), status: 415, code: "unsupported_content_encoding" },
  { name: "a declared body over the limit", build: json("x".repeat(LIMIT + 1)), status: 413, code: "request_too_large" },
  { name: "a chunked body over the limit", build: chunked(`{"a":"${"x".repeat(LIMIT)}"}`), status: 413, code: "request_too_large" },
  { name: "nesting past the depth limit", build: json(deep(200)), status: 400, code: "nesting_too_deep" },
  { name: "a JSON array", build: json("[]"), status: 400 },
  { name: "a JSON string", build: json('"hi"'), status: 400 },
  { name: "JSON null", build: json("null"), status: 400 },
];

const answerOf = (a: Answer) => {
  const error = a.body === "" ? undefined : JSON.parse(a.body).error;
  return { status: a.status, type: error?.type, code: error?.code, param: error?.param, message: error?.message };
};

const modifyAssistant: Handler = async (call) => ({ kind: "json", body: { id: call.params.assistant_id, object: "assistant" } });
const updateChatCompletion: Handler = async (call) => ({ kind: "json", body: { id: call.params.completion_id } });

let server: TestServer;
let target: Target;
beforeAll(async () => {
  server = await startTestServer({ handlers: { ...handlers, modifyAssistant, updateChatCompletion }, limits: { bodyLimitBytes: LIMIT } });
  const { hostname, port } = new URL(server.url);
  target = { host: hostname, port: Number(port) } as Target;
});
afterAll(() => server.close());

describe("an express-served operation and a fast-path operation answer alike", () => {
  it("the express routes are implemented and reachable (a valid body reaches the handler)", async () => {
    expect(answerOf(await raw(target, json('{"name":"x"}')(EXPRESS_ROUTES[0]))).status).toBe(200);
    expect(answerOf(await raw(target, json('{"metadata":{"k":"v"}}')(EXPRESS_ROUTES[1]))).status).toBe(200);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const viaFastPath = answerOf(await raw(target, c.build(FAST_ROUTE)));
    for (const route of EXPRESS_ROUTES) {
      expect({ route, ...answerOf(await raw(target, c.build(route))) }).toEqual({ route, ...viaFastPath });
    }
    expect(viaFastPath.status).toBe(c.status);
    if (c.code !== undefined) expect(viaFastPath.code).toBe(c.code);
    expect(viaFastPath.type).toBe("invalid_request_error");
  });
});
