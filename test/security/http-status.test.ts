/**
 * The HTTP layer's answers to client mistakes: a 4xx in OpenAI's shape, never a 500 (issue 9,
 * items 11, 12 and the validator's range errors). The same answers on the fast path (chat,
 * completions, embeddings) and on the express routes (GET /v1/models with a body, /v1/models/{id}).
 */
import { pino } from "pino";
import { toApiError } from "../../src/http/error-middleware.js";
import { jsonNestsDeeperThan } from "../../src/core/json-depth.js";
import { chatBody, demoCategoryConfig, hostileCategory, httpRequest, post, postRaw, raw, request, type Answer, type HostileCase } from "./harness.js";

const CHAT = "/v1/chat/completions";
const error = (a: Answer) => JSON.parse(a.body).error as { message: string; type: string; param: string | null; code: string | null };
const expectSmall = (max: number) => (a: Answer) => expect(a.body.length).toBeLessThan(max);

/** `depth` nested arrays: `[[[...]]]`. */
const arrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
/** A chat body (as text) with `value` (raw JSON text) at `tools[0].function.parameters.x`: 6 levels above it. */
const chatWithParameter = (value: string) =>
  `{"model":"demo","max_tokens":2,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"x":${value}}}}]}`;
/** A chat body whose `metadata` is `value` (raw JSON text): 1 level above it. */
const chatWithMetadata = (value: string) => `{"model":"demo","max_tokens":2,"messages":[{"role":"user","content":"hi"}],"metadata":${value}}`;

const emptyBody = (target: string): HostileCase => ({
  name: `an empty body (Content-Length: 0) on ${target}`,
  send: (t) => postRaw(t, target, ""),
  status: 400,
  code: "missing_required_parameter",
});

const cases: HostileCase[] = [
  emptyBody(CHAT),
  emptyBody("/v1/completions"),
  emptyBody("/v1/embeddings"),
  {
    name: "a POST with no body at all",
    send: (t) => raw(t, httpRequest("POST", CHAT, { "Content-Type": "application/json" })),
    status: 400,
    code: "missing_required_parameter",
  },

  // Nesting: 3,000 levels overflowed a recursive walk (500); anything past 64 is refused before any walk.
  { name: "3,000 nested arrays in a tool's parameters", send: (t) => postRaw(t, CHAT, chatWithParameter(arrays(3000))), status: 400, code: "nesting_too_deep" },
  {
    name: "3,000 nested objects in a tool's parameters",
    send: (t) => postRaw(t, CHAT, chatWithParameter('{"a":'.repeat(3000) + "1" + "}".repeat(3000))),
    status: 400,
    code: "nesting_too_deep",
  },
  { name: "100,000 nested arrays in metadata", send: (t) => postRaw(t, CHAT, chatWithMetadata(arrays(100_000))), status: 400, code: "nesting_too_deep" },
  { name: "65 levels in all is over the limit", send: (t) => postRaw(t, CHAT, chatWithMetadata(arrays(64))), status: 400, code: "nesting_too_deep" },
  {
    name: "64 levels in all is within it (the validator answers instead)",
    send: (t) => postRaw(t, CHAT, chatWithMetadata(arrays(63))),
    status: 400,
    code: "invalid_type",
  },
  {
    name: "brackets and escaped quotes inside strings do not count as nesting",
    send: (t) => post(t, CHAT, chatBody({ messages: [{ role: "user", content: `${"[{".repeat(200)}\\"[[[\\\\"${"{".repeat(100)}` }] })),
    status: 200,
  },
  {
    name: "nesting past the limit on an express route (a body on GET /v1/models)",
    send: (t) => raw(t, httpRequest("GET", "/v1/models", { "Content-Type": "application/json", "Content-Length": 2000 }, arrays(1000))),
    status: 400,
    code: "nesting_too_deep",
  },

  // Malformed percent-encoding in a path parameter (express's router throws a URIError tagged 400).
  { name: "GET /v1/models/%ZZ", send: (t) => raw(t, httpRequest("GET", "/v1/models/%ZZ")), status: 400, code: "invalid_url_encoding" },
  {
    name: "GET /v1/models/%E0%A4%A (truncated UTF-8 escape)",
    send: (t) => raw(t, httpRequest("GET", "/v1/models/%E0%A4%A")),
    status: 400,
    code: "invalid_url_encoding",
  },

  // Content-Encoding: refused with 415 on both layers (no inflating, so no zip bomb).
  {
    name: "a garbage gzip body on an express route",
    send: (t) => raw(t, httpRequest("GET", "/v1/models", { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": 7 }, "garbage")),
    status: 415,
    code: "unsupported_content_encoding",
  },
  {
    name: "a garbage gzip body on chat",
    send: (t) => postRaw(t, CHAT, "garbage", { "Content-Encoding": "gzip" }),
    status: 415,
    code: "unsupported_content_encoding",
  },
  {
    name: "a deflate body on embeddings",
    send: (t) => postRaw(t, "/v1/embeddings", Buffer.from([0x78, 0x9c, 0x03, 0x00]), { "Content-Encoding": "deflate" }),
    status: 415,
    code: "unsupported_content_encoding",
  },
  {
    name: "Content-Encoding: identity is accepted",
    send: (t) => postRaw(t, CHAT, JSON.stringify(chatBody()), { "Content-Encoding": "identity" }),
    status: 200,
  },
  {
    name: "a charset other than UTF-8",
    send: (t) => postRaw(t, CHAT, JSON.stringify(chatBody()), { "Content-Type": "application/json; charset=utf-16" }),
    status: 415,
    code: "unsupported_media_type",
  },

  // Echoes of client input are cut: a 1 MB name must not make a 1 MB error.
  {
    name: "a 1 MB unknown model name",
    send: (t) => post(t, CHAT, chatBody({ model: "m".repeat(1024 * 1024) })),
    status: 404,
    code: "model_not_found",
    check: (a) => {
      expectSmall(1024)(a);
      expect(error(a).message).toMatch(/characters\)/);
    },
  },
  {
    name: "a 10 KB model name on /v1/models/{model}",
    send: (t) => request(t, "GET", `/v1/models/${"m".repeat(10_000)}`),
    status: 404,
    code: "model_not_found",
    check: expectSmall(1024),
  },
  {
    name: "a 100 KB unknown field name",
    send: (t) => post(t, CHAT, chatBody({ "x-localai-extensions": { ["k".repeat(100_000)]: 1 } })),
    status: 400,
    code: "unknown_parameter",
    check: expectSmall(1024),
  },
  {
    name: "a 100 KB invalid enum value",
    send: (t) => post(t, CHAT, chatBody({ messages: [{ role: "r".repeat(100_000), content: "hi" }] })),
    status: 400,
    check: expectSmall(1024),
  },
  {
    name: "a 100 KB value failing a pattern or range",
    send: (t) => post(t, CHAT, chatBody({ stop: ["s".repeat(100_000)], n: 1, temperature: 9 })),
    status: 400,
    check: expectSmall(1024),
  },
  {
    name: "a 10 KB Content-Type",
    send: (t) => postRaw(t, CHAT, "{}", { "Content-Type": `text/${"x".repeat(10_000)}` }),
    status: 415,
    check: expectSmall(1024),
  },
  { name: "a 10 KB unknown URL", send: (t) => raw(t, httpRequest("GET", `/v1/${"u".repeat(10_000)}`)), status: 404, check: expectSmall(1024) },

  // Range errors in OpenAI's words.
  ...[
    {
      field: { max_tokens: 0 },
      param: "max_tokens",
      code: "integer_below_min_value",
      message: "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
    },
    { field: { max_completion_tokens: -5 }, param: "max_completion_tokens", code: "integer_below_min_value" },
    { field: { n: 0 }, param: "n", code: "integer_below_min_value" },
    {
      field: { temperature: 3 },
      param: "temperature",
      code: "decimal_above_max_value",
      message: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
    },
    { field: { top_p: -0.5 }, param: "top_p", code: "decimal_below_min_value" },
    { field: { messages: [] }, param: "messages", code: "empty_array" },
  ].map(({ field, param, code, message }): HostileCase => ({
    name: `range: ${JSON.stringify(field)}`,
    send: (t) => post(t, CHAT, chatBody(field)),
    status: 400,
    code,
    check: (a) => {
      expect(error(a).param).toBe(param);
      if (message) expect(error(a).message).toBe(message);
    },
  })),
  {
    name: "range on completions: max_tokens 0",
    send: (t) => post(t, "/v1/completions", { model: "demo", prompt: "hi", max_tokens: 0 }),
    status: 400,
    code: "integer_below_min_value",
  },

  // Names the client controls are looked up in own properties only.
  ...["constructor", "__proto__", "toString", "hasOwnProperty"].map((name): HostileCase => ({
    name: `GET /v1/models/${name}`,
    send: (t) => request(t, "GET", `/v1/models/${name}`),
    status: 404,
    code: "model_not_found",
  })),
  { name: "model 'constructor' on chat", send: (t) => post(t, CHAT, chatBody({ model: "constructor" })), status: 404, code: "model_not_found" },
];

hostileCategory("http: client mistakes are 4xx", async () => ({ configDir: await demoCategoryConfig() }), cases);

/** An error as http-errors (used by body-parser, express, send) makes it: status, statusCode, expose. */
function createError(status: number, message = "", extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: status < 500, ...extra });
}

describe("toApiError maps framework-tagged 4xx errors to their own status", () => {
  const log = pino({ level: "silent" });
  it.each([
    [createError(404, "no such thing"), 404],
    [createError(405, "Method Not Allowed"), 405],
    [createError(413, "too big", { type: "entity.too.large", limit: 10 }), 413],
    [createError(431), 431],
    [Object.assign(new Error("x"), { statusCode: 408 }), 408],
    [Object.assign(new URIError("URI malformed"), { status: 400 }), 400],
    [{ status: 404, errors: [{ path: "/x", message: "not found" }] }, 404],
  ])("%p -> %p", (err, status) => {
    const mapped = toApiError(err, "req_1", log);
    expect(mapped.status).toBe(status);
    expect(mapped.toBody().error).toMatchObject({ type: "invalid_request_error", param: null });
    expect(typeof mapped.code).toBe("string");
  });

  it("keeps a 5xx (or an untagged error) an opaque 500", () => {
    expect(toApiError(createError(502, "upstream secret"), "req_1", log).status).toBe(500);
    expect(toApiError(new TypeError("boom"), "req_1", log).status).toBe(500);
  });

  it("cuts an exposed message that quotes the request", () => {
    const mapped = toApiError(createError(400, `bad ${"x".repeat(10_000)}`), "req_1", log);
    expect(mapped.message.length).toBeLessThan(400);
  });
});

describe("jsonNestsDeeperThan on request bodies", () => {
  const deeper = jsonNestsDeeperThan;
  it("counts arrays and objects outside strings only", () => {
    expect(deeper("[[[]]]", 3)).toBe(false);
    expect(deeper("[[[[]]]]", 3)).toBe(true);
    expect(deeper('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(deeper('{"a":{"b":[[1]]}}', 3)).toBe(true);
    expect(deeper('["[[[[[[", "\\"[[[[", "\\\\"]', 1)).toBe(false);
    expect(deeper('["\\\\", [[[]]]]', 3)).toBe(true);
  });
  it("is linear on a hostile string of backslashes and quotes", () => {
    const text = `["${'\\\\\\"'.repeat(500_000)}"]`;
    const started = performance.now();
    expect(deeper(text, 2)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
