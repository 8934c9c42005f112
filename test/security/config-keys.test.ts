/**
 * The forbidden-key check (issue 9, items 12 and 13): `__proto__` and `prototype` anywhere in a
 * body are a 400 `forbidden_key`; `constructor` is an ordinary name (a tool parameter, a schema
 * property) and is served. The walk is iterative: a body nested 200,000 deep is no stack overflow.
 */
import { deepFreeze, findForbiddenKey, mergeRequest } from "../../src/config/merge.js";
import { CHAT, chatBody, demoCategoryConfig, hostileCategory, post, postRaw } from "./harness.js";

const objectSchema = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties) });

hostileCategory("forbidden keys in request bodies", async () => ({ configDir: await demoCategoryConfig() }), [
  {
    name: "a tool parameter named constructor is served",
    send: (t) =>
      post(t, CHAT, chatBody({ tools: [{ type: "function", function: { name: "build", parameters: objectSchema({ constructor: { type: "string" } }) } }] })),
    status: 200,
  },
  {
    name: "a json_schema property named constructor is served",
    send: (t) =>
      post(
        t,
        CHAT,
        chatBody({ response_format: { type: "json_schema", json_schema: { name: "x", schema: objectSchema({ constructor: { type: "boolean" } }) } } }),
      ),
    status: 200,
  },
  {
    name: "__proto__ at the top level is a 400",
    send: (t) => postRaw(t, CHAT, `{"model":"demo","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"__proto__":{"polluted":true}}`),
    status: 400,
    code: "forbidden_key",
  },
  {
    name: "__proto__ inside a tool schema is a 400",
    send: (t) =>
      postRaw(
        t,
        CHAT,
        `{"model":"demo","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"__proto__":{"type":"string"}}}}}]}`,
      ),
    status: 400,
    code: "forbidden_key",
  },
  {
    name: "prototype inside a tool schema is a 400",
    send: (t) =>
      post(t, CHAT, chatBody({ tools: [{ type: "function", function: { name: "f", parameters: objectSchema({ prototype: { type: "string" } }) } }] })),
    status: 400,
    code: "forbidden_key",
  },
]);

describe("the key walks are iterative", () => {
  /** `{a: [{a: {a: ...leaf}}]}`; with `arrays` false, objects only (which the merge descends into). */
  const deep = (levels: number, leaf: Record<string, unknown>, arrays = true) => {
    let value: Record<string, unknown> = leaf;
    for (let i = 0; i < levels; i++) value = { a: arrays && i % 2 === 0 ? [value] : value };
    return value;
  };

  it("findForbiddenKey finds a key 200,000 levels down without overflowing the stack", () => {
    const hit = findForbiddenKey(deep(200_000, JSON.parse('{"__proto__":1}')));
    expect(hit?.endsWith(".__proto__")).toBe(true);
    expect(findForbiddenKey(deep(200_000, { constructor: 1 }))).toBeUndefined();
  });

  it("mergeRequest and deepFreeze take a 200,000-level value", () => {
    const merged = mergeRequest({ defaults: deep(200_000, { x: 1 }, false), client: deep(200_000, { y: 2 }, false) });
    expect(Object.isFrozen(merged)).toBe(true);
    expect(Object.isFrozen(deepFreeze(deep(200_000, { z: 3 })))).toBe(true);
  });
});
