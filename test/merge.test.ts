import { findForbiddenKey, mergeRequest, rejectForbiddenKeys } from "../src/config/merge.js";
import { InvalidRequestError } from "../src/core/errors.js";

describe("mergeRequest precedence: overrides > client > defaults", () => {
  it("a client temperature of 0 beats a default of 0.7", () => {
    const merged = mergeRequest({ defaults: { temperature: 0.7 }, client: { temperature: 0 } });
    expect(merged.temperature).toBe(0);
  });

  it("false and empty string sent by the client are values that win", () => {
    const merged = mergeRequest({ defaults: { stream: true, user: "admin", logprobs: true }, client: { stream: false, user: "" } });
    expect(merged).toEqual({ stream: false, user: "", logprobs: true });
  });

  it("a client null means not set: the registration default applies", () => {
    expect(mergeRequest({ defaults: { temperature: 0.7 }, client: { temperature: null } }).temperature).toBe(0.7);
  });

  it("an override beats the client", () => {
    const merged = mergeRequest({ defaults: { max_tokens: 64 }, client: { max_tokens: 4096 }, overrides: { max_tokens: 256 } });
    expect(merged.max_tokens).toBe(256);
  });

  it("adds nothing the client and the registration did not set (the spec's defaults are not a layer)", () => {
    const merged = mergeRequest({ defaults: { temperature: 0.2 }, client: { model: "m" } });
    expect(merged).toEqual({ model: "m", temperature: 0.2 });
  });

  it("merges x-localai-extensions field by field; arrays replace", () => {
    const merged = mergeRequest({
      defaults: { "x-localai-extensions": { top_k: 40, min_p: 0.05 }, stop: ["a", "b"] },
      client: { "x-localai-extensions": { top_k: 0 }, stop: ["c"] },
      overrides: { "x-localai-extensions": { repeat_penalty: 1.1 } },
    });
    expect(merged).toEqual({ "x-localai-extensions": { top_k: 0, min_p: 0.05, repeat_penalty: 1.1 }, stop: ["c"] });
  });

  it("under the tests, freezes the whole request (a backend writing into it fails the suite) and leaves its inputs alone", () => {
    expect(process.env.NODE_ENV).toBe("test");
    const defaults = { "x-localai-extensions": { top_k: 40 } };
    const merged = mergeRequest({ defaults, client: { messages: [{ role: "user", content: "hi" }] } }) as any;
    expect(Object.isFrozen(merged)).toBe(true);
    expect(Object.isFrozen(merged["x-localai-extensions"])).toBe(true);
    expect(Object.isFrozen(merged.messages[0])).toBe(true);
    expect(defaults).toEqual({ "x-localai-extensions": { top_k: 40 } });
  });

  it("in a server, freezes what the merge created and passes the client's own objects uncopied", () => {
    const defaults = Object.freeze({ "x-localai-extensions": Object.freeze({ top_k: 40 }), stop: Object.freeze(["a"]) });
    const client = { messages: [{ role: "user", content: "hi" }], "x-localai-extensions": { min_p: 0.1 } };
    const merged = mergeRequest({ defaults, client }, false) as any;
    expect(merged).toEqual({ "x-localai-extensions": { top_k: 40, min_p: 0.1 }, stop: ["a"], messages: [{ role: "user", content: "hi" }] });
    // Created by the merge: the request itself and the extensions merged from two layers.
    expect(Object.isFrozen(merged)).toBe(true);
    expect(Object.isFrozen(merged["x-localai-extensions"])).toBe(true);
    expect(() => {
      merged.model = "other";
    }).toThrow(TypeError);
    // The registration's, frozen since the config loaded, and the client's, this request's own parse.
    expect(merged.stop).toBe(defaults.stop);
    expect(merged.messages).toBe(client.messages);
    expect(Object.isFrozen(client.messages[0])).toBe(false);
    expect(client).toEqual({ messages: [{ role: "user", content: "hi" }], "x-localai-extensions": { min_p: 0.1 } });
  });
});

describe("forbidden keys", () => {
  it("finds __proto__ and prototype at any depth; constructor is an ordinary key", () => {
    expect(findForbiddenKey(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toBe("a.__proto__");
    expect(findForbiddenKey({ messages: [{ constructor: 1 }] })).toBeUndefined();
    expect(findForbiddenKey({ prototype: 1 })).toBe("prototype");
    expect(findForbiddenKey({ fine: { deep: [1, 2, { ok: true }] } })).toBeUndefined();
  });

  it("rejects them with a 400", () => {
    expect(() => rejectForbiddenKeys(JSON.parse('{"model":"x","__proto__":{"polluted":true}}'))).toThrow(InvalidRequestError);
    expect(({} as any).polluted).toBeUndefined();
  });
});
