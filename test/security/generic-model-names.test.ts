/**
 * Traversal and injection through model names, in request bodies and in GET /v1/models/{model}:
 * path traversal (plain, percent-encoded, backslashed), CRLF header injection, markup, shell and
 * format strings, environment references, prototype names, model-ref and legacy-ref tricks, and
 * names of 12 KB to 1 MB. Each is a 404 `model_not_found` (or a 400 for malformed input) in
 * OpenAI's shape, with a JSON content type, no injected header, no resolved file or variable,
 * and a short message that echoes at most a truncated name (issue 9 item 11).
 */
import {
  CHAT,
  COMPLETIONS,
  EMBEDDINGS,
  chatBody,
  completionBody,
  demoCategoryConfig,
  embeddingBody,
  hostileCategory,
  httpRequest,
  inGroup,
  postCase,
  raw,
  request,
  type Answer,
  type HostileCase,
  type Target,
} from "./harness.js";

/** Longest error body a hostile name may produce: the echo is truncated, not the whole name. */
const MAX_ECHO_BODY = 2048;

function safeAnswer(a: Answer): void {
  expect(a.headers["x-injected"]).toBeUndefined();
  if (a.status >= 400 && a.headers["content-type"] !== undefined) expect(a.headers["content-type"]).toMatch(/^application\/json/);
  if (a.status >= 400) expect(a.body.length).toBeLessThan(MAX_ECHO_BODY);
}

const HOSTILE_NAMES = [
  "../../etc/passwd",
  "../../../../../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "/etc/passwd",
  "./demo",
  "demo/../demo",
  "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
  "..%c0%af..%c0%afetc",
  "demo.gguf",
  "demo.yaml",
  "file:///etc/passwd",
  "http://127.0.0.1:1/",
  "demo\r\nX-Injected: 1",
  "demo\nX-Injected: 1",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "$(id)",
  "`id`",
  "demo; rm -rf /",
  "demo && cat /etc/passwd",
  "${HOSTILE_TEST_KEY}",
  "$HOSTILE_TEST_KEY",
  "{{HOSTILE_TEST_KEY}}",
  "%s%s%s%n",
  "' OR 1=1 --",
  "demo::../x",
  "understudy/../../x",
  "understudy::v1::../demo",
  "understudy::v1::demo::extra",
  "understudy::../::demo",
  "::",
  "::::",
  "/",
  "understudy/",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "understudy::v1::__proto__",
  "understudy/constructor",
  " demo",
  "demo\t",
  "DEMO",
  "ｄｅｍｏ",
  "de\u200bmo",
];

const BODY_NAMES: HostileCase[] = HOSTILE_NAMES.map((name) =>
  postCase(`chat: model ${JSON.stringify(name)}`, CHAT, chatBody({ model: name }), 404, { code: "model_not_found", check: safeAnswer }),
);

const OTHER_ENDPOINTS: HostileCase[] = ["../../etc/passwd", "demo\r\nX-Injected: 1", "${HOSTILE_TEST_KEY}", "__proto__", "demo.gguf"].flatMap((name) => [
  postCase(`completions: model ${JSON.stringify(name)}`, COMPLETIONS, completionBody({ model: name }), 404, { code: "model_not_found", check: safeAnswer }),
  postCase(`embeddings: model ${JSON.stringify(name)}`, EMBEDDINGS, embeddingBody({ model: name }), 404, { code: "model_not_found", check: safeAnswer }),
]);

const LONG_NAMES: HostileCase[] = [
  ...[12 * 1024, 100 * 1024, 1024 * 1024].map((size) =>
    postCase(`chat: a ${size / 1024} KB model name (truncated echo)`, CHAT, chatBody({ model: "m".repeat(size) }), [400, 404], { check: safeAnswer }),
  ),
  postCase("embeddings: a 1 MB model name (truncated echo)", EMBEDDINGS, embeddingBody({ model: "m".repeat(1024 * 1024) }), [400, 404], { check: safeAnswer }),
  postCase("chat: a 100 KB name of multi-byte characters", CHAT, chatBody({ model: "é".repeat(50 * 1024) }), [400, 404], { check: safeAnswer }),
  postCase("chat: a 100 KB name of CRLFs", CHAT, chatBody({ model: "\r\nX-Injected: 1".repeat(7000) }), [400, 404], { check: safeAnswer }),
];

const get = (target: string) => (t: Target) => raw(t, httpRequest("GET", target));

/** GET /v1/models/{model} with the target written as is (fetch would normalize dots and slashes). */
const PATHS: HostileCase[] = [
  ...[
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e",
    "..",
    "%2e%2e%2f%2e%2e%2fpackage.json",
    "demo%2f..%2f..%2fetc",
    "..%5c..%5cwin.ini",
    "demo%0d%0aX-Injected:%201",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "$(id)",
    "%24%7BHOSTILE_TEST_KEY%7D",
    "demo::..%2fx",
    "understudy%2f..%2f..%2fx",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    `${"m".repeat(12 * 1024)}`,
  ].map((name): HostileCase => ({ name: `GET /v1/models/${name.slice(0, 60)}`, send: get(`/v1/models/${name}`), status: 404, check: safeAnswer })),
  // Issue 9 item 12: a malformed percent-encoding is the client's mistake.
  ...["%ZZ", "%", "demo%", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%FF"].map((name): HostileCase => ({
    name: `GET /v1/models/${name} (bad percent-encoding)`,
    send: get(`/v1/models/${name}`),
    status: 400,
    check: safeAnswer,
  })),
  ...[
    "/v1/models/../../etc/passwd",
    "/v1/models/..\\..\\x",
    "/health/../../etc/passwd",
    "/openapi.json/../../package.json",
    "//v1/models/demo/../../../etc/passwd",
    "/v1/models/demo/extra",
  ].map((target): HostileCase => ({ name: `GET ${target}`, send: get(target), status: 404, check: safeAnswer })),
  {
    name: "POST /v1/chat/completions/../../../etc/passwd",
    send: (t) => raw(t, httpRequest("POST", `${CHAT}/../../../etc/passwd`, { "Content-Type": "application/json", "Content-Length": 2 }, "{}")),
    status: 404,
    check: safeAnswer,
  },
  {
    name: "POST /v1/chat/completions%2F..%2F",
    send: (t) => raw(t, httpRequest("POST", "/v1/chat/completions%2F..%2F", { "Content-Type": "application/json", "Content-Length": 2 }, "{}")),
    status: 404,
    check: safeAnswer,
  },
  { name: "GET /v1/models/understudy::v1::demo (a model ref still works)", send: (t) => request(t, "GET", "/v1/models/understudy::v1::demo"), status: 200 },
  {
    name: "GET /v1/models/demo?model=../../x (the query is not the model)",
    send: get("/v1/models/demo?model=../../x"),
    status: 200,
    check: (a) => expect(JSON.parse(a.body).id).toBe("demo"),
  },
];

const setup = async () => ({ configDir: await demoCategoryConfig(), rss: true });

hostileCategory("generic: traversal and injection in model names", setup, [
  ...inGroup("body", [...BODY_NAMES, ...OTHER_ENDPOINTS, ...LONG_NAMES]),
  ...inGroup("path", PATHS),
]);
