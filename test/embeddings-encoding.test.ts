/**
 * Embeddings come back in the encoding the client asked for, whatever the upstream answered. The
 * `openai` SDK asks `encoding_format: base64` by default and decodes what it gets as base64; an
 * upstream answering float arrays anyway was relayed unchanged, and the SDK decoded garbage. Now the
 * openai-compatible dialect converts (base64 = little-endian float32, as OpenAI encodes), both ways,
 * and still relays the upstream's text untouched when it is already in the asked encoding.
 */
import type http from "node:http";
import yaml from "js-yaml";
import { postJson, startTestServer, writeConfigDir, type TestServer } from "./helpers/server.js";
import { sendJson, startFakeUpstream, type FakeUpstream, type UpstreamRequest } from "./helpers/upstream-server.js";

/** Exactly representable in float32, and one (0.1) that is not: the SDK must see float32's value. */
const VECTORS = [
  [0.25, -0.5, 0.125, 0.1],
  [1.5, -2, 3.75e-5, -0.3333333],
];
const asFloat32 = (v: number[]) => Array.from(new Float32Array(v));
const base64Of = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString("base64");
const floatsOf = (text: string) => {
  const bytes = Buffer.from(text, "base64");
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};

type Encoding = "float" | "base64";
/** An upstream that answers in `encoding` whatever was asked (`formatted`: the raw JSON text, with its own spacing). */
function answerIn(encoding: Encoding, formatted?: (inputs: number) => string) {
  return (req: UpstreamRequest, res: http.ServerResponse) => {
    const inputs = Array.isArray(req.body.input) ? req.body.input.length : 1;
    if (formatted) {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(formatted(inputs));
    }
    const data = VECTORS.slice(0, inputs).map((v, index) => ({ object: "embedding", index, embedding: encoding === "base64" ? base64Of(v) : v }));
    sendJson(res, 200, { object: "list", model: req.body.model, data, usage: { prompt_tokens: inputs, total_tokens: inputs } });
  };
}

let upstream: FakeUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const registration = (model: string) =>
    yaml.dump({
      registration: { model, capabilities: ["embeddings"] },
      local_settings: { backend: "openai-compatible", provider: "up", upstream_model: "emb" },
    });
  const dir = writeConfigDir({
    "providers.yaml": yaml.dump([{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }]),
    "emb.yaml": registration("emb"),
  });
  server = await startTestServer({ configDir: dir });
});
afterAll(async () => {
  if (server) {
    await server.close();
    server.config.current().retire();
  }
  await upstream?.close();
});

const input = ["one", "two"];

describe("an upstream answering floats to a base64 request", () => {
  beforeEach(() => upstream.route(answerIn("float")));

  it("the openai SDK (base64 by default) decodes the exact float32 numbers", async () => {
    const answer = await server.client.embeddings.create({ model: "emb", input });
    expect(upstream.requests.at(-1)!.body.encoding_format).toBe("base64");
    expect(answer.data.map((d) => d.embedding)).toEqual(VECTORS.map(asFloat32));
    expect(answer.model).toBe("emb");
  });

  it("the wire answer is OpenAI's base64 of little-endian float32", async () => {
    const res = await postJson(`${server.url}/v1/embeddings`, { model: "emb", input, encoding_format: "base64" });
    expect(res.status).toBe(200);
    expect(res.json.data.map((d: { embedding: string }) => d.embedding)).toEqual(VECTORS.map(base64Of));
  });
});

describe("an upstream answering base64 to a float request", () => {
  beforeEach(() => upstream.route(answerIn("base64")));

  it("the openai SDK asking float gets the exact float32 numbers", async () => {
    const answer = await server.client.embeddings.create({ model: "emb", input, encoding_format: "float" });
    expect(answer.data.map((d) => d.embedding)).toEqual(VECTORS.map(asFloat32));
  });

  it("a request that names no encoding (OpenAI's default is float) gets number arrays", async () => {
    const res = await postJson(`${server.url}/v1/embeddings`, { model: "emb", input: "one" });
    expect(res.status).toBe(200);
    expect(res.json.data[0].embedding).toEqual(asFloat32(VECTORS[0]));
  });

  it("base64 that is not float32 values is the upstream's fault: a 502", async () => {
    upstream.route((req, res) => sendJson(res, 200, { object: "list", model: "emb", data: [{ object: "embedding", index: 0, embedding: "AAAAAAA=" }] }));
    const res = await postJson(`${server.url}/v1/embeddings`, { model: "emb", input: "one", encoding_format: "float" });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("upstream_protocol_error");
  });
});

describe("an upstream answering in the asked encoding", () => {
  // Spacing and number spelling a parse-and-serialize would not keep: seeing them proves the text was relayed.
  const floatText = () =>
    '{"object": "list", "model": "emb", "data": [{"object": "embedding", "index": 0, "embedding": [0.250, -0.50]}], "usage": {"prompt_tokens": 1, "total_tokens": 1}}';
  const base64Text = () =>
    `{"object": "list", "model": "emb", "data": [{"object": "embedding", "index": 0, "embedding" : "${base64Of([0.25, -0.5])}"}], "usage": {"prompt_tokens": 1, "total_tokens": 1}}`;

  it("floats to a float request are relayed as the upstream wrote them", async () => {
    upstream.route(answerIn("float", floatText));
    const res = await fetch(`${server.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "emb", input: "one" }),
    });
    expect(await res.text()).toContain('"embedding": [0.250, -0.50]');
  });

  it("base64 to a base64 request is relayed as the upstream wrote it, and the SDK decodes it", async () => {
    upstream.route(answerIn("base64", base64Text));
    const body = JSON.stringify({ model: "emb", input: "one", encoding_format: "base64" });
    const res = await fetch(`${server.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const text = await res.text();
    expect(text).toContain(`"embedding" : "${base64Of([0.25, -0.5])}"`);
    expect(floatsOf(JSON.parse(text).data[0].embedding)).toEqual([0.25, -0.5]);
    const answer = await server.client.embeddings.create({ model: "emb", input: "one" });
    expect(answer.data[0].embedding).toEqual([0.25, -0.5]);
  });
});
