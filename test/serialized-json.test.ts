import { relayUnparsed, withModel } from "../src/core/serialized-json.js";

const relay = (text: string) => JSON.parse(withModel(text, JSON.parse(text), "mine").json);

describe("withModel: an upstream chunk relayed with the client's model name", () => {
  it("replaces the top-level model and keeps everything else", () => {
    const text = '{"id":"c1","object":"chat.completion.chunk","model":"up\\"stream","choices":[{"index":0,"delta":{"content":"hi"}}]}';
    expect(relay(text)).toEqual({ id: "c1", object: "chat.completion.chunk", model: "mine", choices: [{ index: 0, delta: { content: "hi" } }] });
  });

  it("leaves a model key inside content or nested objects alone", () => {
    const nested = '{"choices":[{"delta":{"content":"say \\"model\\": \\"x\\"","meta":{"model":"inner"}}}],"model":"up"}';
    expect(relay(nested)).toEqual({ choices: [{ delta: { content: 'say "model": "x"', meta: { model: "inner" } } }], model: "mine" });
  });

  it("re-serializes multi-line JSON onto one line, and adds a missing model", () => {
    const multi = withModel('{"model":"up",\n"choices":[]}', { model: "up", choices: [] }, "mine").json;
    expect(multi).not.toMatch(/\n/);
    expect(JSON.parse(multi)).toEqual({ model: "mine", choices: [] });
    expect(relay('{"choices":[]}')).toEqual({ choices: [], model: "mine" });
  });
});

describe("relayUnparsed: the common chunk relayed without parsing", () => {
  it("rewrites a top-level model that comes before any nested value", () => {
    const out = relayUnparsed('{"id":"c","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"delta":{"content":"x"}}]}', "mine");
    expect(JSON.parse(out!.json)).toMatchObject({ model: "mine", choices: [{ delta: { content: "x" } }] });
  });

  it.each([
    ['{"error":{"message":"boom"}}', "an error payload"],
    ['{"object":"error","message":"boom","model":"up"}', "a vLLM error payload"],
    ['{"choices":[{"delta":{"model":"inner"}}],"model":"up"}', "a model key inside a nested value first"],
    ['{"id":"a\\"model\\":\\"b","model":"up"}', "an escaped quote before the key"],
    ['{"model":"up",\n"choices":[]}', "multi-line data"],
    ['{"choices":[]}', "no model field"],
    ["[1,2]", "not an object"],
  ])("leaves %s to the full parse (%s)", (text) => {
    expect(relayUnparsed(text, "mine")).toBeUndefined();
  });
});
