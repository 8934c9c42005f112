// The client generated from our spec (clients/typescript: openapi-typescript types + openapi-fetch)
// against the demo model: every implemented OpenAI operation, streamed and not, with typed
// `x-localai-extensions`. `npx tsc -p tsconfig.test.json` (part of npm test) checks the
// `@ts-expect-error` cases: a wrong extension type must not compile.
import { startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import {
  createUnderstudyClient,
  streamChatCompletion,
  streamCompletion,
  UnderstudyHttpError,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type UnderstudyClient,
} from "../clients/typescript/index.js";

let server: TestServer;
let client: UnderstudyClient;
const user = (content: string) => [{ role: "user" as const, content }];

beforeAll(async () => {
  server = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo") }) });
  client = createUnderstudyClient({ baseUrl: server.url, apiKey: "sk-test" });
});
afterAll(() => server.close());

describe("the generated TypeScript client against the demo model", () => {
  it("chat: a minimal body compiles (defaulted fields stay optional) and gets a typed completion", async () => {
    const { data, error, response } = await client.POST("/v1/chat/completions", { body: { model: "demo", messages: user("hello"), max_tokens: 6 } });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data!.object).toBe("chat.completion");
    expect(data!.choices[0].message.role).toBe("assistant");
    expect(data!.usage!.total_tokens).toBe(data!.usage!.prompt_tokens + data!.usage!.completion_tokens);
  });

  it("chat: typed x-localai-extensions reach the sampler (top_k 1 is greedy whatever the seed)", async () => {
    const ask = (seed: number) =>
      client.POST("/v1/chat/completions", {
        body: { model: "demo", messages: user("Tell me a story"), max_tokens: 16, temperature: 1.5, seed, "x-localai-extensions": { top_k: 1, min_p: 0 } },
      });
    const [a, b] = await Promise.all([ask(1), ask(2)]);
    expect(a.response.status).toBe(200);
    expect(b.response.status).toBe(200);
    expect(a.data!.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(b.data!.choices[0].message.content).toBe(a.data!.choices[0].message.content);
  });

  it("chat streamed (parseAs: stream + eventsource-parser): typed chunks, one finish_reason, usage last", async () => {
    const chunks: ChatCompletionChunk[] = [];
    const body = { model: "demo", messages: user("Write something"), max_tokens: 12, stream_options: { include_usage: true } };
    for await (const chunk of streamChatCompletion(client, body)) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.object).toBe("chat.completion.chunk");
    const finishes = chunks.flatMap((c) => c.choices.map((choice) => choice.finish_reason).filter((f) => f !== null && f !== undefined));
    expect(finishes).toEqual(["length"]);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBe(12);
  });

  it("completions, plain and streamed, with extensions", async () => {
    const body = { model: "demo", prompt: "Once upon a time", max_tokens: 5, "x-localai-extensions": { top_k: 40, repeat_penalty: 1.1 } };
    const { data, response } = await client.POST("/v1/completions", { body });
    expect(response.status).toBe(200);
    expect(data!.object).toBe("text_completion");
    expect(data!.choices[0].finish_reason).toBe("length");
    expect(data!.usage!.completion_tokens).toBe(5);
    const finishes: string[] = [];
    let text = "";
    for await (const chunk of streamCompletion(client, body)) {
      text += chunk.choices[0]?.text ?? "";
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finishes).toEqual(["length"]);
  });

  it("embeddings: one vector per input, as floats or base64 as asked", async () => {
    const embed = (encoding_format: "float" | "base64") =>
      client.POST("/v1/embeddings", { body: { model: "demo", input: ["one", "two"], encoding_format, "x-localai-extensions": { debug: false } } });
    const floats = await embed("float");
    expect(floats.response.status).toBe(200);
    expect(floats.data!.object).toBe("list");
    expect(floats.data!.data.map((d) => d.index)).toEqual([0, 1]);
    const vectors = floats.data!.data.map((d) => d.embedding);
    for (const vector of vectors) {
      if (typeof vector === "string") throw new Error("asked for floats, got base64");
      expect(vector.length).toBeGreaterThan(0);
      expect(vector.every((x) => typeof x === "number")).toBe(true);
    }
    const base64 = await embed("base64");
    expect(base64.response.status).toBe(200);
    const packed = base64.data!.data.map((d) => d.embedding);
    // Little-endian float32s, as OpenAI sends them: 4 bytes per dimension.
    expect(packed.map((p) => (typeof p === "string" ? Buffer.from(p, "base64").length / 4 : -1))).toEqual(vectors.map((v) => v.length));
  });

  it("models: list and retrieve", async () => {
    const list = await client.GET("/v1/models");
    expect(list.response.status).toBe(200);
    expect(list.data!.data.map((m) => m.id)).toContain("demo");
    const one = await client.GET("/v1/models/{model}", { params: { path: { model: "demo" } } });
    expect(one.response.status).toBe(200);
    expect(one.data).toMatchObject({ id: "demo", object: "model" });
  });

  it("service routes at the root and under /v1 through the same client", async () => {
    const health = await client.GET("/health");
    expect(health.response.status).toBe(200);
    const catalogue = await client.GET("/v1/models.json");
    expect(catalogue.response.status).toBe(200);
  });

  it("an unknown model: OpenAI's error shape, and the stream helper throws it", async () => {
    const { data, error, response } = await client.POST("/v1/chat/completions", { body: { model: "no-such-model", messages: user("hi") } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } });
    const drain = async () => {
      for await (const _chunk of streamChatCompletion(client, { model: "no-such-model", messages: user("hi") }));
    };
    await expect(drain()).rejects.toBeInstanceOf(UnderstudyHttpError);
  });

  it("a wrong extension type does not compile, and the server refuses it too", async () => {
    const wrongType: ChatCompletionRequest = {
      model: "demo",
      messages: user("hi"),
      // @ts-expect-error top_k is an integer, not a string
      "x-localai-extensions": { top_k: "40" },
    };
    const unknownField: ChatCompletionRequest = {
      model: "demo",
      messages: user("hi"),
      // @ts-expect-error the sampling extensions have no `top_kk`
      "x-localai-extensions": { top_kk: 40 },
    };
    for (const body of [wrongType, unknownField]) {
      const { error, response } = await client.POST("/v1/chat/completions", { body });
      expect(response.status).toBe(400);
      expect(error).toMatchObject({ error: { message: expect.any(String) } });
    }
  });
});
