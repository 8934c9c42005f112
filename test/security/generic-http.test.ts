/**
 * The HTTP layer lied to: content types that do not match the body, Content-Length and chunked
 * framing that do not match what is sent, header injection, huge and many headers, garbage request
 * lines. Where node's own HTTP parser refuses the bytes it answers a bare 400/431 (`shape: "none"`)
 * and closes; everything that reaches Understudy is answered in OpenAI's error shape. RSS must
 * come back to its baseline afterwards.
 */
import { gzipSync } from "node:zlib";
import {
  CHAT,
  COMPLETIONS,
  EMBEDDINGS,
  chatBody,
  demoCategoryConfig,
  hostileCategory,
  httpRequest,
  inGroup,
  postRaw,
  raw,
  type Answer,
  type HostileCase,
  type RawOptions,
  type Target,
} from "./harness.js";

const JSON_BODY = JSON.stringify(chatBody());
const XML = '<?xml version="1.0"?><request><model>demo</model></request>';
const MULTIPART = `--x\r\nContent-Disposition: form-data; name="model"\r\n\r\ndemo\r\n--x--\r\n`;

/** A chat POST over a socket with exactly these headers (Content-Length added unless given). */
function chatWith(headers: Record<string, string | number>, body: string | Buffer = JSON_BODY, opts?: RawOptions) {
  return (t: Target) => raw(t, httpRequest("POST", CHAT, { "Content-Length": Buffer.byteLength(body), ...headers }, body), opts);
}

const JSON_TYPE = { "Content-Type": "application/json" };
/** node's own parser refuses the bytes: a bare 400, not Understudy's error shape. */
const NODE_400 = { status: 400, shape: "none" } as const;
const notTimedOut = (a: Answer) => expect(a.timedOut).toBe(false);

/** A chat POST whose headers are exactly these lines (duplicates allowed) after Host and Connection. */
function rawChat(lines: string[], body = "", opts?: RawOptions) {
  const head = [`POST ${CHAT} HTTP/1.1`, "Host: x", "Connection: close", ...lines].join("\r\n");
  return (t: Target) => raw(t, Buffer.from(`${head}\r\n\r\n${body}`, "latin1"), opts);
}
const chunked = (body: string, opts?: RawOptions) => rawChat(["Content-Type: application/json", "Transfer-Encoding: chunked"], body, opts);
const getModelsWith = (headers: Record<string, string | number>, body: string) => (t: Target) =>
  raw(t, httpRequest("GET", "/v1/models", { ...JSON_TYPE, "Content-Length": body.length, ...headers }, body));

const CONTENT_TYPES: HostileCase[] = [
  { name: "JSON sent as text/plain", send: chatWith({ "Content-Type": "text/plain" }), status: 415, code: "unsupported_media_type" },
  {
    name: "JSON sent as form-urlencoded",
    send: chatWith({ "Content-Type": "application/x-www-form-urlencoded" }),
    status: 415,
    code: "unsupported_media_type",
  },
  { name: "a form-urlencoded body", send: chatWith({ "Content-Type": "application/x-www-form-urlencoded" }, "model=demo&messages=hi"), status: 415 },
  { name: "a multipart body", send: chatWith({ "Content-Type": "multipart/form-data; boundary=x" }, MULTIPART), status: 415 },
  { name: "JSON declared as multipart", send: chatWith({ "Content-Type": "multipart/form-data; boundary=x" }), status: 415 },
  { name: "JSON with no content type", send: chatWith({}), status: 415 },
  { name: "an empty content type", send: chatWith({ "Content-Type": "" }), status: 415 },
  { name: "application/jsonp", send: chatWith({ "Content-Type": "application/jsonp" }), status: 415 },
  { name: "a content type list", send: chatWith({ "Content-Type": "application/json, text/plain" }), status: [400, 415] },
  { name: "XML as application/xml", send: chatWith({ "Content-Type": "application/xml" }, XML), status: 415 },
  { name: "XML as text/xml", send: chatWith({ "Content-Type": "text/xml" }, XML), status: 415 },
  { name: "XML declared as JSON", send: chatWith(JSON_TYPE, XML), status: 400, code: "invalid_json" },
  { name: "plain text declared as JSON", send: chatWith(JSON_TYPE, "hello"), status: 400, code: "invalid_json" },
  { name: "a form body declared as JSON", send: chatWith(JSON_TYPE, "model=demo"), status: 400, code: "invalid_json" },
  { name: "charset=utf-8", send: chatWith({ "Content-Type": "application/json; charset=utf-8" }), status: 200 },
  { name: "upper-case media type", send: chatWith({ "Content-Type": "APPLICATION/JSON" }), status: 200 },
  { name: "charset=latin1 (ASCII body)", send: chatWith({ "Content-Type": "application/json; charset=latin1" }), status: [200, 415] },
  { name: "charset=utf-16 with a UTF-8 body", send: chatWith({ "Content-Type": "application/json; charset=utf-16" }), status: [400, 415] },
  {
    name: "charset=utf-16 with a UTF-16 body",
    send: chatWith({ "Content-Type": "application/json; charset=utf-16" }, Buffer.from(JSON_BODY, "utf16le")),
    status: [200, 400, 415],
  },
  { name: "a garbage charset", send: chatWith({ "Content-Type": 'application/json; charset="x\\"y"' }), status: [200, 400, 415] },
  {
    name: "two content types (JSON first)",
    send: rawChat(["Content-Type: application/json", "Content-Type: text/plain", `Content-Length: ${JSON_BODY.length}`], JSON_BODY),
    status: [200, 400, 415],
  },
  { name: "gzip garbage on chat", send: chatWith({ ...JSON_TYPE, "Content-Encoding": "gzip" }, "garbage"), status: [400, 415] },
  { name: "a valid gzip body on chat", send: chatWith({ ...JSON_TYPE, "Content-Encoding": "gzip" }, gzipSync(JSON_BODY)), status: [200, 400, 415] },
  { name: "an unknown content encoding", send: chatWith({ ...JSON_TYPE, "Content-Encoding": "x-banana" }), status: [200, 415] },
  // Issue 9 item 12: express's body parser tags a bad gzip stream 400; it must not become a 500.
  { name: "gzip garbage on an express route (GET /v1/models)", send: getModelsWith({ "Content-Encoding": "gzip" }, "garbage"), status: [400, 415] },
  { name: "deflate garbage on an express route", send: getModelsWith({ "Content-Encoding": "deflate" }, "\x00\x01\x02\x03"), status: [200, 400, 415] },
];

const CONTENT_LENGTH: HostileCase[] = [
  // The bytes past the announced length are parsed as a next request: node may answer that first.
  { name: "Content-Length shorter than the body", send: chatWith({ ...JSON_TYPE, "Content-Length": 10 }), ...NODE_400 },
  {
    name: "Content-Length longer than the body, then the client closes",
    send: chatWith({ ...JSON_TYPE, "Content-Length": JSON_BODY.length + 50 }, JSON_BODY, { end: true, timeoutMs: 5000 }),
    status: [0, 400],
    shape: "none",
    check: notTimedOut,
  },
  // Issue 9 item 12: an empty body is the client's mistake.
  { name: "Content-Length: 0 on chat", send: (t) => postRaw(t, CHAT, ""), status: 400 },
  { name: "Content-Length: 0 on completions", send: (t) => postRaw(t, COMPLETIONS, ""), status: 400 },
  { name: "Content-Length: 0 on embeddings", send: (t) => postRaw(t, EMBEDDINGS, ""), status: 400 },
  { name: "no body and no Content-Length on chat", send: rawChat(["Content-Type: application/json"]), status: 400 },
  // Issue 9 item 8: an announced body over the limit is refused before it is read.
  {
    name: "Content-Length of 100 GB announced",
    send: chatWith({ ...JSON_TYPE, "Content-Length": 100 * 1024 ** 3 }),
    status: 413,
    code: "request_too_large",
    timeoutMs: 10_000,
  },
  { name: "Content-Length past 2^64", send: chatWith({ ...JSON_TYPE, "Content-Length": "99999999999999999999999" }), status: [400, 413], shape: "none" },
  { name: "a negative Content-Length", send: chatWith({ ...JSON_TYPE, "Content-Length": -1 }), ...NODE_400 },
  { name: "a non-numeric Content-Length", send: chatWith({ ...JSON_TYPE, "Content-Length": "abc" }), ...NODE_400 },
  { name: "a Content-Length in exponent notation", send: chatWith({ ...JSON_TYPE, "Content-Length": "1e3" }), ...NODE_400 },
  {
    name: "two conflicting Content-Lengths",
    send: rawChat(["Content-Type: application/json", "Content-Length: 5", `Content-Length: ${JSON_BODY.length}`], JSON_BODY),
    ...NODE_400,
  },
  { name: "a Content-Length list", send: chatWith({ ...JSON_TYPE, "Content-Length": `${JSON_BODY.length}, 5` }), ...NODE_400 },
  {
    name: "Content-Length with Transfer-Encoding: chunked",
    send: rawChat(["Content-Type: application/json", "Content-Length: 4", "Transfer-Encoding: chunked"], "2\r\n{}\r\n0\r\n\r\n"),
    ...NODE_400,
  },
  { name: "a chunk size that is not hex", send: chunked("zz\r\n{}\r\n0\r\n\r\n"), ...NODE_400 },
  { name: "a chunk without its CRLF", send: chunked(`${JSON_BODY.length.toString(16)}\r\n${JSON_BODY}0\r\n\r\n`), ...NODE_400 },
  {
    name: "a chunk size larger than the data, then close",
    send: chunked(`ffff\r\n${JSON_BODY}`, { end: true, timeoutMs: 5000 }),
    status: [0, 400],
    shape: "none",
    check: notTimedOut,
  },
  { name: "a chunk size past 2^64", send: chunked("fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"), status: [400, 413], shape: "none" },
  { name: "a chunked body that is fine", send: chunked(`${JSON_BODY.length.toString(16)}\r\n${JSON_BODY}\r\n0\r\n\r\n`), status: 200 },
  {
    name: "Transfer-Encoding: gzip without chunked",
    send: rawChat(["Content-Type: application/json", "Transfer-Encoding: gzip"], "{}", { end: true, timeoutMs: 5000 }),
    status: [0, 400, 415, 501],
    shape: "none",
  },
];

const line = (text: string) => (t: Target) => raw(t, Buffer.from(text, "latin1"));
/** A GET /health with these header lines written as given. */
const healthWith = (...lines: string[]) => line([`GET /health HTTP/1.1`, "Host: x", "Connection: close", ...lines, "", ""].join("\r\n"));
const manyHeaders = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, "v"]));
const noInjectedHeader = (a: Answer) => expect(a.headers["x-injected"]).toBeUndefined();

const HEADERS: HostileCase[] = [
  { name: "a bare CR inside a header value", send: healthWith("X-A: a\rX-Injected: 1"), ...NODE_400 },
  { name: "a bare LF inside a header value", send: healthWith("X-A: a\nX-Injected: 1"), status: [200, 400], shape: "none", check: noInjectedHeader },
  { name: "a header name with a space", send: healthWith("X A: 1"), ...NODE_400 },
  { name: "a header line without a colon", send: healthWith("nocolon"), ...NODE_400 },
  { name: "an obsolete folded header line", send: healthWith("X-A: a", "  folded"), status: [200, 400], shape: "none" },
  { name: "a header value with latin1 bytes", send: healthWith("X-A: \xff\xfe"), status: 200, shape: "none" },
  // node reads a request line without a version as HTTP/0.9; the injected line must not come back as a header.
  {
    name: "a CRLF in the request target",
    send: line(`GET /v1/models/demo\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\n\r\n`),
    status: [0, 200, 400],
    shape: "none",
    check: noInjectedHeader,
  },
  { name: "one 20 KB header", send: (t) => raw(t, httpRequest("GET", "/health", { "X-Big": "a".repeat(20_000) })), status: 431, shape: "none" },
  { name: "one 64 KB header on chat", send: chatWith({ ...JSON_TYPE, "X-Big": "a".repeat(65_536) }), status: 431, shape: "none" },
  { name: "a 20 KB request target", send: (t) => raw(t, httpRequest("GET", `/v1/models/${"a".repeat(20_000)}`)), status: [414, 431], shape: "none" },
  { name: "1,000 small headers", send: chatWith({ ...JSON_TYPE, ...manyHeaders(1000) }), status: 200 },
  { name: "3,000 small headers (past 16 KB)", send: (t) => raw(t, httpRequest("GET", "/health", manyHeaders(3000))), status: 431, shape: "none" },
  { name: "a huge Host header", send: (t) => raw(t, httpRequest("GET", "/health", { Host: "h".repeat(8000) })), status: 200, shape: "none" },
  { name: "a garbage request line", send: line("GARBAGE\r\n\r\n"), ...NODE_400 },
  { name: "an HTTP/0.9 request", send: line("GET /health\r\n\r\n"), status: [0, 200, 400], shape: "none" },
  { name: "an unknown method", send: line("BREW /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"), status: [400, 404, 405, 501], shape: "none" },
  { name: "an HTTP/2 preface on HTTP/1.1", send: line("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), status: [0, 400, 505], shape: "none" },
  { name: "HTTP/9.9", send: line("GET /health HTTP/9.9\r\nHost: x\r\n\r\n"), status: [0, 400, 505], shape: "none" },
  {
    name: "an absolute-form target to another host",
    send: (t) => raw(t, httpRequest("POST", `http://evil.example${CHAT}`, { ...JSON_TYPE, "Content-Length": JSON_BODY.length }, JSON_BODY)),
    status: [200, 400, 404],
  },
  { name: "an OPTIONS * request", send: line("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), status: [200, 204, 400, 404, 405], shape: "none" },
];

hostileCategory("generic: content-type lies, Content-Length and framing, headers", async () => ({ configDir: await demoCategoryConfig(), rss: true }), [
  ...inGroup("content-type", CONTENT_TYPES),
  ...inGroup("framing", CONTENT_LENGTH),
  ...inGroup("headers", HEADERS),
]);
