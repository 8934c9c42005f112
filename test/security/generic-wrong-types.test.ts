/**
 * Wrong JSON types, at the top level and inside requests. Top level: every field of chat,
 * completions and embeddings requests gets every JSON kind its schema does not accept (a string
 * for a number, an object for an array, an array for a string, null where it is not nullable,
 * booleans, a fraction for an integer). Inside: messages, roles, content parts, tools and their
 * functions, tool_choice, response_format, stop, logit_bias, metadata and every
 * `x-localai-extensions` field. Each must be a 400 whose `param` names the place, never a 500 or a
 * 200 that silently ignores it.
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
  inGroup,
  paramNames,
  postCase,
  withValue,
  type HostileCase,
} from "./harness.js";

type Kind = "string" | "integer" | "float" | "boolean" | "object" | "array" | "null";

/** One value of each JSON kind. The string is not a member of any enum in the spec. */
const SAMPLES: Record<Kind, unknown> = { string: "1", integer: 7, float: 0.5, boolean: true, object: {}, array: [], null: null };

/**
 * What each field's schema accepts (from openapi/extended.json): `number` takes integers and
 * fractions; `enum` means a string is accepted only from a fixed list, so "1" is wrong too.
 */
const CHAT_FIELDS: Record<string, string> = {
  model: "string",
  messages: "array",
  metadata: "object|null",
  top_logprobs: "integer|null",
  temperature: "number|null",
  top_p: "number|null",
  user: "string",
  safety_identifier: "string|null",
  prompt_cache_key: "string|null",
  prompt_cache_retention: "enum|null",
  prompt_cache_options: "object",
  service_tier: "enum|null",
  modalities: "array|null",
  verbosity: "enum|null",
  reasoning_effort: "enum|null",
  max_completion_tokens: "integer|null",
  frequency_penalty: "number|null",
  presence_penalty: "number|null",
  web_search_options: "object",
  response_format: "object",
  audio: "object|null",
  store: "boolean|null",
  moderation: "object|null",
  stream: "boolean|null",
  stop: "string|array|null",
  logit_bias: "object|null",
  logprobs: "boolean|null",
  max_tokens: "integer|null",
  n: "integer|null",
  prediction: "object|null",
  seed: "integer|null",
  stream_options: "object|null",
  tools: "array",
  tool_choice: "enum|object",
  parallel_tool_calls: "boolean",
  function_call: "enum|object",
  functions: "array",
  "x-localai-extensions": "object",
};

const COMPLETION_FIELDS: Record<string, string> = {
  model: "string",
  prompt: "string|array|null",
  best_of: "integer|null",
  echo: "boolean|null",
  frequency_penalty: "number|null",
  logit_bias: "object|null",
  logprobs: "integer|null",
  max_tokens: "integer|null",
  n: "integer|null",
  presence_penalty: "number|null",
  seed: "integer|null",
  stop: "string|array|null",
  stream: "boolean|null",
  stream_options: "object|null",
  suffix: "string|null",
  temperature: "number|null",
  top_p: "number|null",
  user: "string",
  "x-localai-extensions": "object",
};

const EMBEDDING_FIELDS: Record<string, string> = {
  model: "string",
  input: "string|array",
  encoding_format: "enum",
  dimensions: "integer",
  user: "string",
  "x-localai-extensions": "object",
};

function rejectedKinds(accepted: string): Kind[] {
  const ok = new Set(accepted.split("|"));
  const takes = (k: Kind) => ok.has(k) || ((k === "integer" || k === "float") && ok.has("number"));
  return (Object.keys(SAMPLES) as Kind[]).filter((k) => !takes(k));
}

function wrongTypeCases(label: string, target: string, base: Record<string, unknown>, fields: Record<string, string>): HostileCase[] {
  return Object.entries(fields).flatMap(([field, accepted]) =>
    rejectedKinds(accepted).map((kind) =>
      postCase(`${label}: ${field} = ${JSON.stringify(SAMPLES[kind])} (${kind})`, target, { ...base, [field]: SAMPLES[kind] }, 400, {
        check: paramNames(field),
      }),
    ),
  );
}

const tool = (fn: unknown) => [{ type: "function", function: fn }];
const fn = (extra: Record<string, unknown>) => ({ name: "f", parameters: { type: "object", properties: {} }, ...extra });

/** [name, path in the chat body, value, param the error must name]. */
type Nested = [string, (string | number)[], unknown, string];

const MESSAGES: Nested[] = [
  ...[
    ["a string", "hi"],
    ["a number", 7],
    ["null", null],
    ["an array", []],
    ["a boolean", true],
    ["an empty object", {}],
  ].map(([what, v]): Nested => [`messages[0] is ${what}`, ["messages", 0], v, "messages[0]"]),
  ...[7, null, {}, [], true, "hacker", "", "USER"].map((v): Nested => [`messages[0].role = ${JSON.stringify(v)}`, ["messages", 0, "role"], v, "messages[0]"]),
  ...[7, true, {}, null].map((v): Nested => [`user content = ${JSON.stringify(v)}`, ["messages", 0, "content"], v, "messages[0]"]),
  ...[7, {}, [], null].map((v): Nested => [`messages[0].name = ${JSON.stringify(v)}`, ["messages", 0, "name"], v, "messages[0]"]),
  ["a second message without a role", ["messages", 1], { content: "x" }, "messages[1]"],
  ["a system message with a number content", ["messages", 1], { role: "system", content: 7 }, "messages[1]"],
  ["an assistant message with tool_calls a string", ["messages", 1], { role: "assistant", tool_calls: "x" }, "messages[1]"],
  [
    "an assistant tool call with a numeric id",
    ["messages", 1],
    { role: "assistant", tool_calls: [{ id: 1, type: "function", function: { name: "f", arguments: "{}" } }] },
    "messages[1]",
  ],
  [
    "an assistant tool call with object arguments",
    ["messages", 1],
    { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: {} } }] },
    "messages[1]",
  ],
  ["a tool message without tool_call_id", ["messages", 1], { role: "tool", content: "x" }, "messages[1]"],
  ["a tool message with a numeric tool_call_id", ["messages", 1], { role: "tool", content: "x", tool_call_id: 7 }, "messages[1]"],
];

const PARTS: Nested[] = [
  [1],
  ["hi"],
  [null],
  [[]],
  [{}],
  [{ type: "text" }],
  [{ type: "text", text: 7 }],
  [{ type: "text", text: null }],
  [{ type: 7, text: "hi" }],
  [{ type: "banana", text: "hi" }],
  [{ type: "image_url", image_url: 7 }],
  [{ type: "image_url", image_url: { url: 7 } }],
  [{ type: "text", text: "a" }, 7],
].map((parts): Nested => [`content parts ${JSON.stringify(parts)}`, ["messages", 0, "content"], parts, "messages[0]"]);

const TOOLS: Nested[] = [
  ...[[1], [null], ["f"], [[]], [{}], [{ type: "function" }], [{ type: "banana", function: fn({}) }]].map((v): Nested => [
    `tools = ${JSON.stringify(v)}`,
    ["tools"],
    v,
    "tools[0]",
  ]),
  ...(
    [
      ["function is a string", "f"],
      ["function is an array", []],
      ["function without a name", { parameters: {} }],
      ["function.name is a number", fn({ name: 7 })],
      ["function.name is null", fn({ name: null })],
      ["function.parameters is a string", fn({ parameters: "x" })],
      ["function.parameters is an array", fn({ parameters: [] })],
      ["function.parameters is a number", fn({ parameters: 7 })],
      ["function.strict is a string", fn({ strict: "yes" })],
      ["function.description is an object", fn({ description: {} })],
    ] as const
  ).map(([what, v]): Nested => [`tools[0].${what}`, ["tools"], tool(v), "tools[0]"]),
  ...[
    7,
    [],
    true,
    { type: "function" },
    { type: "function", function: "f" },
    { type: "function", function: { name: 7 } },
    { type: 7, function: { name: "f" } },
  ].map((v): Nested => [`tool_choice = ${JSON.stringify(v)}`, ["tool_choice"], v, "tool_choice"]),
];

const FORMATS: Nested[] = [
  ...[
    "json",
    7,
    [],
    { type: 7 },
    { type: "banana" },
    { type: "json_schema" },
    { type: "json_schema", json_schema: "x" },
    { type: "json_schema", json_schema: { name: 7, schema: {} } },
    { type: "json_schema", json_schema: { name: "x", schema: "x" } },
    { type: "json_schema", json_schema: { name: "x", schema: [] } },
    { type: "json_schema", json_schema: { name: "x", strict: "yes", schema: {} } },
  ].map((v): Nested => [`response_format = ${JSON.stringify(v)}`, ["response_format"], v, "response_format"]),
  ...["x", 7, [], { include_usage: "yes" }, { include_usage: null }].map((v): Nested => [
    `stream_options = ${JSON.stringify(v)} (streaming)`,
    ["stream_options"],
    v,
    "stream_options",
  ]),
  ...[7, {}, [7], [null], [[]], ["a", 7], true].map((v): Nested => [`stop = ${JSON.stringify(v)}`, ["stop"], v, "stop"]),
  ...[{ 1: "x" }, { 1: 0.5 }, { 1: null }, { 1: {} }, { 1: [] }, { x: 1 }, { "-1": 1 }, []].map((v): Nested => [
    `logit_bias = ${JSON.stringify(v)}`,
    ["logit_bias"],
    v,
    "logit_bias",
  ]),
  ...[{ k: 7 }, { k: null }, { k: {} }, { k: [] }, []].map((v): Nested => [`metadata = ${JSON.stringify(v)}`, ["metadata"], v, "metadata"]),
];

/** x-localai-extensions fields and what they accept (see patches/001-localai-extensions.yaml). */
const EXTENSIONS: Record<string, unknown[]> = {
  top_k: ["1", 0.5, true, {}, null],
  min_p: ["0.1", true, [], null],
  typical_p: ["1", {}, null],
  repeat_penalty: ["1", false, [], null],
  repeat_last_n: ["64", 1.5, {}, null],
  grammar: [7, true, {}, ['root ::= "a"'], null],
  ignore_eos: ["true", 1, {}, null],
  n_keep: ["1", 0.5, null],
  mirostat: ["2", 3, 1.5, null],
  mirostat_tau: ["5", [], null],
  mirostat_eta: ["0.1", {}, null],
  debug: ["true", 1, null],
};

const EXTENSION_CASES: Nested[] = [
  ...Object.entries(EXTENSIONS).flatMap(([field, values]) =>
    values.map((v): Nested => [`x-localai-extensions.${field} = ${JSON.stringify(v)}`, ["x-localai-extensions", field], v, `x-localai-extensions.${field}`]),
  ),
  ["an unknown x-localai-extensions field", ["x-localai-extensions", "banana"], 1, "x-localai-extensions.banana"],
];

function nestedCases(label: string, rows: Nested[]): HostileCase[] {
  return rows.map(([name, at, value, param]) => {
    const base = at[0] === "stream_options" ? chatBody({ stream: true }) : chatBody();
    return postCase(`${label}: ${name}`, CHAT, withValue(base, at, value), 400, { check: paramNames(param) });
  });
}

/** The other endpoints' nested places: prompt and input arrays, their extensions. */
const OTHER_ENDPOINTS: HostileCase[] = [
  ...[[true], [{}], [null], [[1, "a"]], [[1.5]], [[[]]], ["a", 1]].map((v) =>
    postCase(`completions: prompt = ${JSON.stringify(v)}`, COMPLETIONS, completionBody({ prompt: v }), 400, { check: paramNames("prompt") }),
  ),
  ...[[true], [{}], [null], [[1, "a"]], [[0.5]], [["a"]], ["a", 1]].map((v) =>
    postCase(`embeddings: input = ${JSON.stringify(v)}`, EMBEDDINGS, embeddingBody({ input: v }), 400, { check: paramNames("input") }),
  ),
  ...["1", 0.5, null, []].map((v) =>
    postCase(`completions: x-localai-extensions.top_k = ${JSON.stringify(v)}`, COMPLETIONS, completionBody({ "x-localai-extensions": { top_k: v } }), 400, {
      check: paramNames("x-localai-extensions.top_k"),
    }),
  ),
  ...["true", 1, null].map((v) =>
    postCase(`embeddings: x-localai-extensions.debug = ${JSON.stringify(v)}`, EMBEDDINGS, embeddingBody({ "x-localai-extensions": { debug: v } }), 400, {
      check: paramNames("x-localai-extensions.debug"),
    }),
  ),
  postCase("embeddings: an x-localai-extensions field of chat (top_k)", EMBEDDINGS, embeddingBody({ "x-localai-extensions": { top_k: 1 } }), 400, {
    check: paramNames("x-localai-extensions.top_k"),
  }),
];

const setup = async () => ({ configDir: await demoCategoryConfig() });

hostileCategory("generic: wrong types", setup, [
  ...inGroup("top level", [
    ...wrongTypeCases("chat", CHAT, chatBody(), CHAT_FIELDS),
    ...wrongTypeCases("completions", COMPLETIONS, completionBody(), COMPLETION_FIELDS),
    ...wrongTypeCases("embeddings", EMBEDDINGS, embeddingBody(), EMBEDDING_FIELDS),
  ]),
  ...inGroup("nested", [
    ...nestedCases("messages", MESSAGES),
    ...nestedCases("content parts", PARTS),
    ...nestedCases("tools", TOOLS),
    ...nestedCases("formats and maps", FORMATS),
    ...nestedCases("extensions", EXTENSION_CASES),
    ...OTHER_ENDPOINTS,
  ]),
]);
