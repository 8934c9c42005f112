import { withModel } from "../src/backends/serialized-chunk.js";

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
