/**
 * Issue 9 items 1, 3 and 14 on the llama-cpp backend: client grammars and JSON schemas are
 * bounded before they reach llama.cpp's native grammar code. Before the bounds, a grammar nested
 * 20,000 deep killed the process (native stack overflow), a 391-byte grammar of nested optional
 * items blocked the main thread for 86 s, a 100k-value enum for 55 s, and an unknown schema
 * `type` or `$ref` was silently generated as `null` or "any JSON".
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import {
  CHAT,
  COMPLETIONS,
  chatBody,
  completionBody,
  demoCategoryConfig,
  errorOf,
  hostileCategory,
  inGroup,
  paramNames,
  postCase,
  sleep,
  type Answer,
  type HostileCase,
  type Target,
} from "./harness.js";

const GRAMMAR = "x-localai-extensions.grammar";
const SCHEMA = "response_format.json_schema.schema";
const list = (n: number, item: (i: number) => string, sep: string) => Array.from({ length: n }, (_, i) => item(i)).join(sep);
const withGrammar = (grammar: string) => chatBody({ "x-localai-extensions": { grammar } });
const withSchema = (schema: unknown, max_tokens = 2) =>
  chatBody({ max_tokens, response_format: { type: "json_schema", json_schema: { name: "out", schema } } });
const withTool = (parameters: unknown) => chatBody({ tools: [{ type: "function", function: { name: "f", parameters } }] });

/** The process must still be there a moment after the answer (a native crash can outrun the socket close). */
async function stillAlive(_: Answer, t: Target): Promise<void> {
  await sleep(100);
  if (!t.alive()) throw new Error(`the server died: ${t.exitReason()}`);
}

const grammarError = (name: string, target: string, body: unknown, more: Partial<HostileCase> = {}) =>
  postCase(name, target, body, 400, {
    code: "invalid_grammar",
    check: async (a, t) => (paramNames(GRAMMAR)(a), await stillAlive(a, t)),
    timeoutMs: 15_000,
    ...more,
  });
const schemaError = (name: string, body: unknown, param = SCHEMA) =>
  postCase(name, CHAT, body, 400, { code: "invalid_schema", check: paramNames(param), timeoutMs: 15_000 });

const NESTED = "root ::= " + "(".repeat(20_000) + '"a"' + ")".repeat(20_000);

const grammarCases: HostileCase[] = [
  grammarError("chat: 20,000 nested groups (llama.cpp's recursive parser overflowed the native stack)", CHAT, withGrammar(NESTED)),
  grammarError("completions: 20,000 nested groups", COMPLETIONS, completionBody({ "x-localai-extensions": { grammar: NESTED } })),
  grammarError("65 nested groups (one over the depth limit)", CHAT, withGrammar("root ::= " + "(".repeat(65) + '"a"' + ")".repeat(65)), {
    check: (a) => expect(errorOf(a).message).toContain("UNDERSTUDY_GRAMMAR_MAX_DEPTH"),
  }),
  grammarError("a grammar over 64 KiB", CHAT, withGrammar(`root ::= "${"a".repeat(70_000)}"`), {
    check: (a) => expect(errorOf(a).message).toContain("UNDERSTUDY_GRAMMAR_MAX_BYTES"),
  }),
  // 391 bytes: 60 x 60 x 60 ways to skip optional items; llama.cpp took 86 s on the main thread.
  grammarError(
    "nested runs of optional items (86 s of main thread before)",
    CHAT,
    withGrammar(`root ::= ${list(60, () => "x", " ")}\nx ::= ${list(60, () => "y", " ")}\ny ::= ${list(60, () => "z", " ")}\nz ::= "a"?`),
  ),
  grammarError(
    "1,000 optional references in a row",
    COMPLETIONS,
    completionBody({ "x-localai-extensions": { grammar: `root ::= ${list(1000, () => "x", " ")}\nx ::= "a" | ""` } }),
  ),
  grammarError(
    "1,024 alternatives each going on 1,024 ways",
    CHAT,
    withGrammar(`root ::= ${list(1024, () => '"a" n', " | ")}\nn ::= ${list(1024, (i) => `"b${i}"`, " | ")}`),
  ),
  grammarError("2,000 alternatives in one group", CHAT, withGrammar(`root ::= (${list(2000, (i) => `"w${i}"`, " | ")})`)),
  grammarError("repetitions expanding to millions of rules", CHAT, withGrammar(`root ::= ${list(1000, () => '"a"{0,1999}', " ")}`), {
    check: (a) => expect(errorOf(a).message).toContain("UNDERSTUDY_GRAMMAR_MAX_ELEMENTS"),
  }),
  grammarError("left recursion", CHAT, withGrammar('root ::= x "a" | "b"\nx ::= "c"? root')),
  grammarError("an undefined rule", CHAT, withGrammar("root ::= missing")),
  grammarError("an unclosed group", CHAT, withGrammar('root ::= ("a" | "b"')),
  // Real grammars stay within the bounds.
  postCase(
    "llama.cpp's own JSON grammar is served",
    CHAT,
    withGrammar(fs.readFileSync(fileURLToPath(new URL("../../node_modules/node-llama-cpp/llama/grammars/json.gbnf", import.meta.url)), "utf8")),
    200,
  ),
  postCase(
    "a list of 200 words is served",
    COMPLETIONS,
    completionBody({ max_tokens: 8, "x-localai-extensions": { grammar: `root ::= (word ", ")*\nword ::= ${list(200, (i) => `"w${i}"`, " | ")}` } }),
    200,
  ),
];

/** Nested through `items`: one JSON level per schema level, so the body stays under the server's JSON depth cap. */
const deep = (levels: number) => {
  let s: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < levels; i++) s = { type: "array", items: s };
  return s;
};
const object = (properties: Record<string, unknown>) => ({ type: "object", properties });

const schemaCases: HostileCase[] = [
  schemaError("type 'banana'", withSchema(object({ a: { type: "banana" } }))),
  schemaError("a tool's parameters with type 'banana'", withTool(object({ a: { type: "banana" } })), "tools[0].function.parameters"),
  schemaError("an external $ref", withSchema({ $ref: "https://example.com/schema.json" })),
  schemaError("a $ref to a missing definition", withSchema(object({ a: { $ref: "#/$defs/missing" } }))),
  schemaError("a $ref to an inherited property name", withSchema(object({ a: { $ref: "#/$defs/constructor" } }))),
  schemaError("a tool's $ref outside $defs", withTool(object({ a: { $ref: "#/definitions/x" } })), "tools[0].function.parameters"),
  schemaError("a const that is an object", withSchema({ const: { a: 1 } })),
  schemaError("a subschema that is null", withTool(object({ a: null })), "tools[0].function.parameters"),
  schemaError("an unsupported format", withSchema(object({ a: { type: "string", format: "email" } }))),
  schemaError("33 levels of nesting (one over the limit)", withSchema(deep(33))),
  schemaError("2,000 enum values", withSchema(object({ a: { enum: Array.from({ length: 2000 }, (_, i) => i) } }))),
  schemaError(
    "a 100,000-value enum (55 s of main thread before)",
    withSchema(object({ a: { enum: Array.from({ length: 100_000 }, (_, i) => `value-${i}`) } })),
  ),
  schemaError("1,100 properties", withSchema(object(Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`p${i}`, { type: "string" }]))))),
  schemaError(
    "maxLength on 10 strings summing past the repetition limit",
    withSchema(object(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, { type: "string", maxLength: 1900 + i }])))),
  ),
  schemaError("minItems over llama.cpp's repetition limit", withSchema({ type: "array", items: { type: "string" }, minItems: 5000 })),
  // Within the bounds: served.
  postCase(
    "anyOf (read as oneOf) and a property named constructor are served",
    CHAT,
    withSchema(object({ constructor: { anyOf: [{ type: "string", maxLength: 3 }, { type: "null" }] } }), 20),
    200,
  ),
  postCase(
    "a recursive $defs reference is served",
    CHAT,
    withSchema({ $defs: { node: object({ next: { oneOf: [{ $ref: "#/$defs/node" }, { type: "null" }] } }) }, $ref: "#/$defs/node" }, 20),
    200,
  ),
];

hostileCategory("llama-cpp: grammar and JSON schema bounds", async () => ({ configDir: await demoCategoryConfig() }), [
  ...inGroup("grammar", grammarCases),
  ...inGroup("schema", schemaCases),
]);
