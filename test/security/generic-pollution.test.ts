/**
 * Duplicate JSON keys and prototype-pollution payloads. Duplicates: the last one wins (as
 * JSON.parse has it) for the validator and the handler alike, escaped spellings included.
 * Pollution: `__proto__` and `prototype` keys anywhere (top level, messages, content parts,
 * x-localai-extensions, tool and response schemas, maps, escaped spellings) are a 400; a schema
 * property named `constructor` is a plain name (issue 9 item 13). After every case, requests that
 * would show a polluted Object.prototype (a missing `model` that would be found, a `debug` echo
 * that would appear, a marker in the merged request) behave normally.
 */
import {
  CHAT,
  COMPLETIONS,
  EMBEDDINGS,
  chatBody,
  completionBody,
  demoCategoryConfig,
  embeddingBody,
  errorOf,
  hostileCategory,
  inGroup,
  post,
  postCase,
  type Answer,
  type HostileCase,
  type Target,
} from "./harness.js";

const MARK = "polluted-5e1d";
/** What a successful pollution would put on Object.prototype. */
const PAYLOAD = { polluted: MARK, model: "demo", debug: true, role: "system", include_usage: true };
const json = (v: unknown) => JSON.stringify(v);
/** Chat JSON text with `extra` (JSON text) spliced in at the top level. */
const chatText = (extra: string) => `${json(chatBody()).slice(0, -1)},${extra}}`;

/** Requests that would behave differently if Object.prototype had been polluted. */
async function noPollution(t: Target): Promise<void> {
  const plain = await post(t, CHAT, chatBody());
  if (plain.status !== 200 || JSON.parse(plain.body).choices?.length !== 1)
    throw new Error(`a normal chat request failed after the case: ${plain.status} ${plain.body.slice(0, 300)}`);
  if (plain.body.includes("x-localai-debug") || plain.body.includes(MARK)) throw new Error(`a plain request shows pollution: ${plain.body.slice(0, 300)}`);
  const missing = await post(t, CHAT, { messages: [{ role: "user", content: "hi" }] });
  if (missing.status !== 400 || errorOf(missing).param !== "model")
    throw new Error(`a request without a model was not refused for it: ${missing.status} ${missing.body.slice(0, 300)}`);
  const debug = await post(t, CHAT, chatBody({ "x-localai-extensions": { debug: true } }));
  if (debug.status !== 200 || debug.body.includes(MARK)) throw new Error(`the merged request shows pollution: ${debug.status} ${debug.body.slice(0, 300)}`);
}

const debugShown = (shown: boolean) => (a: Answer) => expect(a.body.includes("x-localai-debug")).toBe(shown);
const modelIs = (model: string) => (a: Answer) => expect(JSON.parse(a.body).model).toBe(model);
const msgs = json([{ role: "user", content: "hi" }]);

const DUPLICATES: HostileCase[] = [
  postCase("model twice, an unknown one last", CHAT, `{"model":"demo","model":"other","messages":${msgs},"max_tokens":2}`, 404, { code: "model_not_found" }),
  postCase("model twice, the known one last", CHAT, `{"model":"other","model":"demo","messages":${msgs},"max_tokens":2}`, 200, { check: modelIs("demo") }),
  postCase("model twice, the last spelled with an escape", CHAT, `{"model":"other","mod\\u0065l":"demo","messages":${msgs},"max_tokens":2}`, 200, {
    check: modelIs("demo"),
  }),
  postCase(
    "model 1,000 times",
    CHAT,
    `{${Array.from({ length: 1000 }, (_, i) => `"model":"m${i}"`).join(",")},"model":"demo","messages":${msgs},"max_tokens":2}`,
    200,
  ),
  postCase("messages twice, a string last", CHAT, `{"model":"demo","messages":${msgs},"messages":"hi","max_tokens":2}`, 400, { code: "invalid_type" }),
  postCase("messages twice, a valid list last", CHAT, `{"model":"demo","messages":"hi","messages":${msgs},"max_tokens":2}`, 200),
  postCase("role twice in a message", CHAT, `{"model":"demo","messages":[{"role":"user","role":"banana","content":"hi"}],"max_tokens":2}`, 400),
  postCase("max_tokens twice, 0 last", CHAT, `{"model":"demo","messages":${msgs},"max_tokens":2,"max_tokens":0}`, 400),
  postCase("max_tokens twice, 1 last", CHAT, `{"model":"demo","messages":${msgs},"max_tokens":0,"max_tokens":1}`, 200, {
    check: (a) => expect(JSON.parse(a.body).usage.completion_tokens).toBeLessThanOrEqual(1),
  }),
  postCase("stream twice, false last", CHAT, `{"model":"demo","messages":${msgs},"max_tokens":2,"stream":true,"stream":false}`, 200, {
    check: (a) => expect(a.headers["content-type"]).toMatch(/json/),
  }),
  postCase("stream twice, true last", CHAT, `{"model":"demo","messages":${msgs},"max_tokens":2,"stream":false,"stream":true}`, 200, {
    check: (a) => expect(a.headers["content-type"]).toMatch(/event-stream/),
  }),
  postCase("debug twice, false last", CHAT, chatText(`"x-localai-extensions":{"debug":true,"debug":false}`), 200, { check: debugShown(false) }),
  postCase("debug twice, true last", CHAT, chatText(`"x-localai-extensions":{"debug":false,"debug":true}`), 200, { check: debugShown(true) }),
  postCase("x-localai-extensions twice, an invalid one last", CHAT, chatText(`"x-localai-extensions":{"top_k":1},"x-localai-extensions":{"top_k":"x"}`), 400),
  postCase("a key differing only in case", CHAT, chatText(`"MODEL":"other"`), [200, 400]),
  postCase("completions: prompt twice", COMPLETIONS, `{"model":"demo","prompt":1,"prompt":"hi","max_tokens":2}`, 200),
  postCase("embeddings: input twice, an invalid one last", EMBEDDINGS, `{"model":"demo","input":"hi","input":{}}`, 400),
];

const fnTool = (parameters: unknown, name = "f") => [{ type: "function", function: { name, parameters } }];
const objectSchema = (props: string) => `{"type":"object","properties":${props}}`;

/** [name, JSON text spliced into a chat body]. Each must be refused. */
const REFUSED: [string, string][] = [
  ["__proto__ at the top level", `"__proto__":${json(PAYLOAD)}`],
  ["__proto__ spelled with escapes", `"\\u005f_proto__":${json(PAYLOAD)}`],
  ["__proto__ spelled with a middle escape", `"__pro\\u0074o__":${json(PAYLOAD)}`],
  ["constructor.prototype at the top level", `"constructor":{"prototype":${json(PAYLOAD)}}`],
  ["prototype at the top level", `"prototype":${json(PAYLOAD)}`],
  ["__proto__ deep in an unknown field", `"extra":{"a":{"b":[{"__proto__":${json(PAYLOAD)}}]}}`],
  ["__proto__ in x-localai-extensions", `"x-localai-extensions":{"__proto__":{"debug":true}}`],
  ["constructor.prototype in x-localai-extensions", `"x-localai-extensions":{"constructor":{"prototype":{"debug":true}}}`],
  ["__proto__ in stream_options", `"stream":true,"stream_options":{"__proto__":{"include_usage":true}}`],
  ["__proto__ in metadata", `"metadata":{"__proto__":"x"}`],
  ["__proto__ in logit_bias", `"logit_bias":{"__proto__":1}`],
  ["a __proto__ tool schema property", `"tools":${json(fnTool(null)).replace("null", objectSchema(`{"__proto__":{"type":"string"}}`))}`],
  ["a prototype tool schema property", `"tools":${json(fnTool(null)).replace("null", objectSchema(`{"prototype":{"type":"string"}}`))}`],
  ["__proto__ as a tool schema keyword", `"tools":${json(fnTool(null)).replace("null", `{"type":"object","__proto__":{"type":"string"}}`)}`],
  [
    "__proto__ in a json_schema response format",
    `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${objectSchema(`{"__proto__":{"type":"string"}}`)}}}`,
  ],
  [
    "__proto__ in $defs of a json_schema",
    `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"$defs":{"__proto__":{"type":"string"}},"type":"string"}}}`,
  ],
];

const IN_MESSAGES: HostileCase[] = [
  postCase("__proto__ in a message", CHAT, `{"model":"demo","messages":[{"role":"user","content":"hi","__proto__":{"role":"system"}}],"max_tokens":2}`, 400),
  postCase("a message that is only __proto__", CHAT, `{"model":"demo","messages":[{"__proto__":{"role":"user","content":"hi"}}],"max_tokens":2}`, 400),
  postCase(
    "__proto__ in a content part",
    CHAT,
    `{"model":"demo","messages":[{"role":"user","content":[{"type":"text","text":"hi","__proto__":{"type":"image_url"}}]}],"max_tokens":2}`,
    400,
  ),
  postCase("completions: __proto__ at the top level", COMPLETIONS, `${json(completionBody()).slice(0, -1)},"__proto__":${json(PAYLOAD)}}`, 400),
  postCase("embeddings: __proto__ at the top level", EMBEDDINGS, `${json(embeddingBody()).slice(0, -1)},"__proto__":${json(PAYLOAD)}}`, 400),
  postCase(
    "embeddings: constructor.prototype in x-localai-extensions",
    EMBEDDINGS,
    `${json(embeddingBody()).slice(0, -1)},"x-localai-extensions":{"constructor":{"prototype":{"debug":true}}}}`,
    400,
  ),
];

/** Names that live on Object.prototype (and one plain unknown name): lookups by name use own properties only (item 13). */
const PROTO_NAMES = ["nope", "toString", "constructor", "hasOwnProperty", "valueOf", "__proto__", "__defineGetter__"];
const TOOL_CHOICE: HostileCase[] = [
  ...PROTO_NAMES.map((name) =>
    postCase(
      `tool_choice names ${name} with only tool f`,
      CHAT,
      chatBody({ tools: fnTool({ type: "object", properties: {} }), tool_choice: { type: "function", function: { name } } }),
      400,
    ),
  ),
  postCase(
    "a tool named __proto__ can be chosen",
    CHAT,
    chatBody({
      max_tokens: 64,
      tools: fnTool({ type: "object", properties: {} }, "__proto__"),
      tool_choice: { type: "function", function: { name: "__proto__" } },
    }),
    200,
    {
      check: (a) => expect(JSON.parse(a.body).choices[0].message.tool_calls?.[0]?.function?.name).toBe("__proto__"),
    },
  ),
  // Item 13: `constructor` as a property name is a plain name, not pollution.
  postCase(
    "a tool schema property named constructor",
    CHAT,
    chatBody({ tools: fnTool({ type: "object", properties: { constructor: { type: "string" } } }) }),
    200,
  ),
  postCase(
    "a json_schema property named constructor",
    CHAT,
    chatBody({
      max_tokens: 64,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { constructor: { type: "string" } } } } },
    }),
    200,
  ),
  postCase("a metadata key named constructor", CHAT, chatBody({ metadata: { constructor: "x" } }), [200, 400]),
];

const setup = async () => ({ configDir: await demoCategoryConfig(), normal: noPollution });

hostileCategory("generic: duplicate JSON keys and prototype pollution", setup, [
  ...inGroup("duplicate keys", DUPLICATES),
  ...inGroup("pollution", [...REFUSED.map(([name, extra]) => postCase(name, CHAT, chatText(extra), 400)), ...IN_MESSAGES]),
  ...inGroup("name lookups", TOOL_CHOICE),
]);
