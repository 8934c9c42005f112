/**
 * Issue 13 defect 4 on the llama-cpp backend, hostile side: json_schema output is checked after
 * generation (bounds, dates) by walking the client's schema, so the walk itself is bounded. A
 * bound that is not a number is a 400 naming the schema; a `$ref` to itself and a chain of
 * `anyOf`s with 2^19 paths answer at once (the walk stops after OUTPUT_CHECK_MAX_STEPS and serves
 * the grammar's output). Such a chain is refused by UNDERSTUDY_SCHEMA_MAX_AMBIGUITY before generation
 * (test/security/llama-schema-ambiguity.test.ts), so this category raises that limit to reach the
 * output check; a 1,000-property schema does not stall the server
 * (compiling one with Ajv took over a second on the main thread).
 */
import { CHAT, chatBody, demoCategoryConfig, errorOf, hostileCategory, paramNames, postCase, type Answer, type HostileCase } from "./harness.js";

const SCHEMA = "response_format.json_schema.schema";
const withSchema = (schema: unknown, max_tokens = 60) =>
  chatBody({ max_tokens, seed: 1, response_format: { type: "json_schema", json_schema: { name: "out", schema } } });

/** A served answer, or the model's output failing the schema: never another error. */
const servedOrFailedCheck = (a: Answer) => {
  if (a.status === 500) expect(errorOf(a).code).toBe("schema_validation_failed");
};

// No integer meets d0, so the walk tries every path: it gives up after OUTPUT_CHECK_MAX_STEPS and serves the output.
const $defs: Record<string, unknown> = { d0: { type: "integer", minimum: 1, maximum: 0 } };
for (let i = 1; i < 20; i++) $defs[`d${i}`] = { anyOf: [{ $ref: `#/$defs/d${i - 1}` }, { $ref: `#/$defs/d${i - 1}` }] };
const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { type: "integer", minimum: 0, maximum: i + 1 }]));

const cases: HostileCase[] = [
  ...["minimum", "maximum", "exclusiveMaximum", "multipleOf"].map((bound) =>
    postCase(`${bound}: "ten"`, CHAT, withSchema({ type: "object", properties: { a: { type: "integer", [bound]: "ten" } } }), 400, {
      code: "invalid_schema",
      check: paramNames(SCHEMA),
    }),
  ),
  postCase("multipleOf: 0", CHAT, withSchema({ type: "number", multipleOf: 0 }), 400, { code: "invalid_schema", check: paramNames(SCHEMA) }),
  postCase(
    "a $ref to itself",
    CHAT,
    withSchema({ $defs: { d: { $ref: "#/$defs/d" } }, type: "object", properties: { a: { $ref: "#/$defs/d" } } }),
    [200, 400, 500],
    {
      timeoutMs: 10_000,
    },
  ),
  postCase("2^19 anyOf paths to one integer", CHAT, withSchema({ $defs, $ref: "#/$defs/d19" }, 20), 200, { timeoutMs: 10_000 }),
  postCase("1,000 bounded properties", CHAT, withSchema({ type: "object", properties: wide }, 8), 200, { timeoutMs: 10_000 }),
];

hostileCategory(
  "llama-cpp: json_schema post-validation",
  async () => ({ configDir: await demoCategoryConfig(), env: { UNDERSTUDY_SCHEMA_MAX_AMBIGUITY: String(2 ** 20) } }),
  cases,
);
