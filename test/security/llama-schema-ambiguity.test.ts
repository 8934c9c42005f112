/**
 * A JSON schema whose anyOf branches multiply through $refs (`d1: anyOf [d0, d0]`, `d2: anyOf
 * [d1, d1]`...) is a few hundred bytes and passes every size limit, but llama.cpp matches its
 * grammar with one parse stack per way: 30 levels hung the main thread. It is a quick 400
 * `invalid_schema` (UNDERSTUDY_SCHEMA_MAX_AMBIGUITY) as response_format and as tool parameters;
 * chains under the limit and ordinary schemas (nested objects, enums, 1,000 properties, anyOf of
 * object types, recursion) are served.
 */
import { CHAT, chatBody, demoCategoryConfig, hostileCategory, paramNames, post, postCase, type Answer, type HostileCase, type Target } from "./harness.js";

const SCHEMA = "response_format.json_schema.schema";
const PARAMS = "tools[0].function.parameters";
/** A refused schema answers at once; a served one within a generation of a few tokens. */
const QUICK_MS = 3_000;

const withSchema = (schema: unknown, max_tokens = 24) =>
  chatBody({ max_tokens, seed: 1, response_format: { type: "json_schema", json_schema: { name: "out", schema } } });
/** The tool's call is forced, so its parameters' grammar is used. */
const withTool = (parameters: unknown, max_tokens = 24) =>
  chatBody({
    max_tokens,
    seed: 1,
    tools: [{ type: "function", function: { name: "f", parameters } }],
    tool_choice: { type: "function", function: { name: "f" } },
  });

/** `levels` definitions, each `anyOf` two references to the one before: 2^levels ways to match one value. */
function chain(levels: number, leaf: unknown = { type: "string", maxLength: 8 }): Record<string, unknown> {
  const $defs: Record<string, unknown> = { d0: leaf };
  for (let i = 1; i <= levels; i++) $defs[`d${i}`] = { anyOf: [{ $ref: `#/$defs/d${i - 1}` }, { $ref: `#/$defs/d${i - 1}` }] };
  return { $defs, $ref: `#/$defs/d${levels}` };
}
const inObject = (schema: Record<string, unknown>) => {
  const { $defs, ...value } = schema;
  return { type: "object", $defs, properties: { v: value } };
};

/** The case, timed: it must answer within QUICK_MS (a hang is the defect), and the server must answer a chat meanwhile. */
function quick(name: string, body: unknown, status: number, more: Partial<HostileCase> = {}): HostileCase {
  const base = postCase(name, CHAT, body, status, more);
  return {
    ...base,
    timeoutMs: 20_000,
    async send(t: Target): Promise<Answer> {
      const started = Date.now();
      const answer = await post(t, CHAT, body, undefined, 10_000);
      const elapsed = Date.now() - started;
      if (elapsed > QUICK_MS) throw new Error(`the answer took ${elapsed} ms (status ${answer.status})`);
      return answer;
    },
  };
}

const refused = (name: string, body: unknown, param: string) => quick(name, body, 400, { code: "invalid_schema", check: paramNames(param) });

const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { type: "integer" }]));
const enum1000 = { enum: Array.from({ length: 1000 }, (_, i) => `v${i}`) };
const shapes = {
  anyOf: ["circle", "square", "line"].map((kind) => ({
    type: "object",
    properties: { kind: { const: kind }, size: { type: "number" }, tags: { type: "array", items: { enum: ["a", "b", "c"] } } },
  })),
};
const nested = {
  type: "object",
  properties: {
    user: { type: "object", properties: { name: { type: "string" }, address: { type: "object", properties: { city: { type: "string" } } } } },
    role: { enum: ["admin", "user", "guest"] },
    note: { anyOf: [{ type: "string" }, { type: "null" }] },
  },
};
const tree = {
  $defs: {
    node: {
      type: "object",
      properties: { value: { anyOf: [{ type: "string" }, { type: "integer" }] }, kids: { type: "array", items: { $ref: "#/$defs/node" } } },
    },
  },
  $ref: "#/$defs/node",
};

const cases: HostileCase[] = [
  refused("a 30-deep anyOf chain as response_format", withSchema(chain(30)), SCHEMA),
  refused("a 30-deep anyOf chain inside an object as response_format", withSchema(inObject(chain(30))), SCHEMA),
  refused("a 30-deep anyOf chain as tool parameters", withTool(inObject(chain(30))), PARAMS),
  refused("a 13-deep chain (8,192 ways, just over the limit)", withSchema(chain(13)), SCHEMA),
  refused("a 3-deep chain over a 1,000-value enum (8,000 ways)", withSchema(chain(3, enum1000)), SCHEMA),
  refused("a 30-deep oneOf chain as tool parameters", withTool(inObject(JSON.parse(JSON.stringify(chain(30)).replaceAll('"anyOf"', '"oneOf"')))), PARAMS),
  quick("a 10-deep chain (1,024 ways) is served", withSchema(chain(10)), 200),
  quick("a 10-deep chain as tool parameters is served", withTool(inObject(chain(10))), 200),
  quick("nested objects, enums and a nullable field", withSchema(nested), 200),
  quick("a 1,000-property object", withSchema({ type: "object", properties: wide }, 8), 200),
  quick("a 1,000-value enum", withSchema(enum1000), 200),
  quick("anyOf of three object types", withSchema(shapes), 200),
  quick("anyOf of three object types as tool parameters", withTool({ type: "object", properties: { shape: shapes } }), 200),
  quick("a recursive tree", withSchema(tree), 200),
];

hostileCategory("llama-cpp: JSON schema ambiguity", async () => ({ configDir: await demoCategoryConfig() }), cases);
