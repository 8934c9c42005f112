/**
 * Bytes and code points that break naive text handling: invalid UTF-8 and overlong encodings in a
 * raw body, lone surrogates (as JSON escapes and as raw CESU-8 bytes), NUL (escaped and raw) in
 * content, model names, keys, grammars and tool names. Text the server can decode (with U+FFFD for
 * bad bytes, as body parsers do) may be served; everything else is a 400. Nothing may crash the
 * native tokenizer or grammar parser, and a 200 must still be well-formed JSON.
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
} from "./harness.js";

const EITHER = [200, 400];

/** A 200 must be parseable JSON (a lone surrogate in generated text must not break the encoder). */
const wellFormed = (a: Answer) => {
  if (a.status === 200) JSON.parse(a.body);
};

/** The JSON text of `body` with each `@@` replaced by raw bytes. */
function bytesWith(body: unknown, bytes: number[] | string): Buffer {
  const middle = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes);
  const parts = JSON.stringify(body)
    .split("@@")
    .map((p) => Buffer.from(p, "utf8"));
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [middle, p])));
}

/** Invalid or overlong UTF-8 sequences, by name. */
const BAD_UTF8: Record<string, number[]> = {
  "a lone 0xff": [0xff],
  "a lone continuation byte": [0x80],
  "a truncated 3-byte sequence": [0xe2, 0x82],
  "an overlong '/' (C0 AF)": [0xc0, 0xaf],
  "an overlong '/' (E0 80 AF)": [0xe0, 0x80, 0xaf],
  "an overlong quote (C0 A2)": [0xc0, 0xa2],
  "an overlong NUL (C0 80)": [0xc0, 0x80],
  "a surrogate as CESU-8 (ED A0 80)": [0xed, 0xa0, 0x80],
  "a 5-byte sequence": [0xf8, 0x88, 0x80, 0x80, 0x80],
  "a code point above U+10FFFF (F4 90 80 80)": [0xf4, 0x90, 0x80, 0x80],
};

const INVALID_UTF8: HostileCase[] = Object.entries(BAD_UTF8).flatMap(([what, bytes]) => [
  postCase(`chat content with ${what}`, CHAT, bytesWith(chatBody({ messages: [{ role: "user", content: "hi@@" }] }), bytes), EITHER, { check: wellFormed }),
  postCase(`chat model name with ${what}`, CHAT, bytesWith(chatBody({ model: "demo@@" }), bytes), 404, { code: "model_not_found" }),
]);

const MORE_BYTES: HostileCase[] = [
  postCase("an overlong '../' in the model name", CHAT, bytesWith(chatBody({ model: "..@@..@@etc@@passwd" }), [0xc0, 0xaf]), 404, { code: "model_not_found" }),
  postCase("0xff in a key", CHAT, bytesWith({ ...chatBody(), "x-localai-extensions": { "top@@k": 1 } }, [0xff]), 400),
  postCase("0xff between tokens", CHAT, Buffer.concat([Buffer.from([0x7b, 0xff]), Buffer.from(JSON.stringify(chatBody()).slice(1))]), 400, {
    code: "invalid_json",
  }),
  postCase("a UTF-8 byte order mark before the JSON", CHAT, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(chatBody()))]), EITHER),
  postCase("the body in UTF-16LE", CHAT, Buffer.from(JSON.stringify(chatBody()), "utf16le"), 400),
  postCase("completions prompt with 0xff", COMPLETIONS, bytesWith(completionBody({ prompt: "a@@b" }), [0xff]), EITHER, { check: wellFormed }),
  postCase("embeddings input with a CESU-8 surrogate", EMBEDDINGS, bytesWith(embeddingBody({ input: "a@@b" }), [0xed, 0xb0, 0x80]), EITHER, {
    check: wellFormed,
  }),
  postCase("a grammar with an overlong quote", CHAT, bytesWith(chatBody({ "x-localai-extensions": { grammar: 'root ::= "a@@"' } }), [0xc0, 0xa2]), EITHER, {
    check: wellFormed,
  }),
];

/** Lone and mismatched surrogates as JSON escapes: JSON.parse keeps them as they are. */
const SURROGATES = ["\ud800", "\udfff", "\ud800\ud800", "\udc00\ud800", "a\ud83d"];

const LONE_SURROGATES: HostileCase[] = SURROGATES.flatMap((s) => {
  const label = JSON.stringify(s).replace(/\\/g, "\\\\");
  return [
    postCase(`chat content ${label}`, CHAT, chatBody({ messages: [{ role: "user", content: `hi${s}` }] }), EITHER, { check: wellFormed }),
    postCase(`chat model name ${label}`, CHAT, chatBody({ model: `demo${s}` }), 404, { code: "model_not_found" }),
  ];
}).concat([
  postCase("a lone surrogate in a stop sequence", CHAT, chatBody({ stop: ["\ud800"] }), EITHER, { check: wellFormed }),
  postCase("a lone surrogate in a grammar", CHAT, chatBody({ "x-localai-extensions": { grammar: 'root ::= "\ud800"' } }), EITHER, { check: wellFormed }),
  postCase(
    "a lone surrogate in a json_schema enum",
    CHAT,
    chatBody({ response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "string", enum: ["\ud800", "b"] } } } }),
    EITHER,
    { check: wellFormed },
  ),
  postCase("a lone surrogate as an extensions key", CHAT, chatBody({ "x-localai-extensions": { "\ud800": 1 } }), 400),
  postCase("a lone surrogate as a logit_bias key", CHAT, chatBody({ logit_bias: { "\ud800": 1 } }), 400),
  postCase("a lone surrogate in a tool name", CHAT, chatBody({ tools: [{ type: "function", function: { name: "f\ud800" } }] }), 400),
  postCase("a lone surrogate in a completions prompt", COMPLETIONS, completionBody({ prompt: "\udfffa" }), EITHER, { check: wellFormed }),
  postCase("a lone surrogate in an embeddings input", EMBEDDINGS, embeddingBody({ input: ["\ud800", "ok"] }), EITHER, { check: wellFormed }),
]);

const NULS: HostileCase[] = [
  postCase("NUL in the content", CHAT, chatBody({ messages: [{ role: "user", content: "a\u0000b" }] }), 200, { check: wellFormed }),
  postCase("content that is only NULs", CHAT, chatBody({ messages: [{ role: "user", content: "\u0000".repeat(64) }] }), EITHER, { check: wellFormed }),
  postCase("NUL after the model name", CHAT, chatBody({ model: "demo\u0000" }), 404, { code: "model_not_found" }),
  postCase("a model name that is a NUL", CHAT, chatBody({ model: "\u0000" }), 404, { code: "model_not_found" }),
  postCase("NUL in a top-level key (model missing)", CHAT, { ...chatBody({ model: undefined }), "model\u0000": "demo" }, 400),
  postCase("NUL in an extensions key", CHAT, chatBody({ "x-localai-extensions": { "top_k\u0000": 1 } }), 400),
  postCase("NUL in a grammar", CHAT, chatBody({ "x-localai-extensions": { grammar: 'root ::= "a\u0000b"' } }), EITHER, { check: wellFormed }),
  postCase("a grammar cut short by a NUL", CHAT, chatBody({ "x-localai-extensions": { grammar: 'root ::= "a\u0000' } }), 400),
  postCase("NUL in a stop sequence", CHAT, chatBody({ stop: ["\u0000"] }), EITHER, { check: wellFormed }),
  postCase("NUL in a tool name", CHAT, chatBody({ tools: [{ type: "function", function: { name: "f\u0000" } }] }), 400),
  postCase("NUL in a role", CHAT, chatBody({ messages: [{ role: "user\u0000", content: "hi" }] }), 400),
  postCase("NUL in a completions prompt", COMPLETIONS, completionBody({ prompt: "\u0000\u0000" }), EITHER, { check: wellFormed }),
  postCase("NUL in an embeddings input", EMBEDDINGS, embeddingBody({ input: "a\u0000" }), 200, { check: wellFormed }),
  postCase("a raw 0x00 byte inside a JSON string", CHAT, bytesWith(chatBody({ messages: [{ role: "user", content: "a@@b" }] }), [0x00]), 400, {
    code: "invalid_json",
  }),
  postCase("a raw 0x00 byte between JSON tokens", CHAT, Buffer.from(`{"model":"demo",\u0000"messages":[{"role":"user","content":"hi"}]}`, "latin1"), 400, {
    code: "invalid_json",
  }),
  postCase("a raw 0x01 control byte inside a JSON string", CHAT, bytesWith(chatBody({ messages: [{ role: "user", content: "a@@b" }] }), [0x01]), 400, {
    code: "invalid_json",
  }),
  postCase("a raw newline inside a JSON string", CHAT, bytesWith(chatBody({ messages: [{ role: "user", content: "a@@b" }] }), "\n"), 400, {
    code: "invalid_json",
  }),
  postCase("a body that is one 0x00 byte", CHAT, Buffer.from([0]), 400, { code: "invalid_json" }),
  {
    name: "a raw 0x00 byte in a header value (node's parser answers)",
    send: (t) => raw(t, httpRequest("POST", CHAT, { "Content-Type": "application/json", "X-Note": "a\u0000b", "Content-Length": 2 }, "{}")),
    status: 400,
    shape: "none",
  },
  {
    name: "a raw 0x00 byte in the request target (node's parser answers)",
    send: (t) => raw(t, httpRequest("GET", "/v1/models/de\u0000mo")),
    status: 400,
    shape: "none",
  },
  { name: "a percent-encoded NUL in GET /v1/models/{model}", send: (t) => request(t, "GET", "/v1/models/demo%00"), status: 404 },
];

const setup = async () => ({ configDir: await demoCategoryConfig() });

hostileCategory("generic: invalid UTF-8, lone surrogates, NUL bytes", setup, [
  ...inGroup("UTF-8", [...INVALID_UTF8, ...MORE_BYTES]),
  ...inGroup("surrogates", LONE_SURROGATES),
  ...inGroup("NUL", NULS),
]);
