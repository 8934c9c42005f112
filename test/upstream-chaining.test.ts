/**
 * Understudy as the upstream of Understudy: the first serves the demo model with llama-cpp, the
 * second reaches it through openai-compatible (profile `understudy`). Results pass through
 * unchanged apart from `model` (and the per-response id and timestamp).
 */
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";

let direct: TestServer;
let gw: Gateway;

beforeAll(async () => {
  direct = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo", "  parallel: 2\n") }) });
  gw = await startGateway({
    providers: [{ id: "chain", type: "openai-compatible", profile: "understudy", endpoints: [{ url: `${direct.url}/v1` }] }],
    models: { relay: { provider: "chain", upstream_model: "demo" } },
  });
});
afterAll(async () => {
  await gw.close();
  await direct.close();
});

const user = (content: string) => [{ role: "user" as const, content }];
const stable = <T extends { id?: unknown; created?: unknown; model?: unknown }>({ id: _i, created: _c, model: _m, ...rest }: T) => rest;

async function streamed(stream: AsyncIterable<ChatCompletionChunk>) {
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

describe("chaining: llama-cpp Understudy behind an openai-compatible Understudy", () => {
  it("chat passes through unchanged apart from model", async () => {
    const params = { messages: user("Tell me a story"), max_tokens: 16, temperature: 0 };
    const a = await direct.client.chat.completions.create({ model: "demo", ...params });
    const b = await gw.client.chat.completions.create({ model: "relay", ...params });
    expect(a.model).toBe("demo");
    expect(b.model).toBe("relay");
    expect(stable(b)).toEqual(stable(a));
  });

  it("streaming passes through, usage included when asked", async () => {
    // llama-cpp batches tokens generated within 10 ms into one chunk, so chunk boundaries vary
    // from run to run: the text, the finish and the usage are what must match.
    const params = {
      messages: user("Write something"),
      max_tokens: 12,
      temperature: 0.8,
      seed: 42,
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const summary = (chunks: any[]) => ({
      text: chunks.map((c) => c.choices[0]?.delta?.content ?? "").join(""),
      roles: chunks.filter((c) => c.choices[0]?.delta?.role).length,
      finish: chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean),
      usage: chunks[chunks.length - 1].usage,
      ids: new Set(chunks.map((c) => c.id)).size,
    });
    const a = await streamed(await direct.client.chat.completions.create({ model: "demo", ...params }));
    const b = await streamed(await gw.client.chat.completions.create({ model: "relay", ...params }));
    expect(b.every((c) => c.model === "relay")).toBe(true);
    expect(summary(b)).toEqual(summary(a));
    expect(summary(b)).toMatchObject({ roles: 1, finish: ["length"], ids: 1 });
    expect(b[b.length - 1].usage?.completion_tokens).toBe(12);
  });

  it("completions pass through, streamed and not", async () => {
    const params = { prompt: "Once upon a time", max_tokens: 10, temperature: 0 };
    const a = await direct.client.completions.create({ model: "demo", ...params });
    const b = await gw.client.completions.create({ model: "relay", ...params });
    expect(b.model).toBe("relay");
    expect(stable(b)).toEqual(stable(a));
    let text = "";
    for await (const c of await gw.client.completions.create({ model: "relay", ...params, stream: true })) text += c.choices[0]?.text ?? "";
    expect(text).toBe(a.choices[0].text);
  });

  it("embeddings pass through", async () => {
    const a = await direct.client.embeddings.create({ model: "demo", input: ["hello", "world"] });
    const b = await gw.client.embeddings.create({ model: "relay", input: ["hello", "world"] });
    expect(b.model).toBe("relay");
    expect(stable(b)).toEqual(stable(a));
  });

  it("x-localai-extensions pass through to an Understudy upstream", async () => {
    const params = { messages: user("hi"), max_tokens: 8, temperature: 1, seed: 7, "x-localai-extensions": { top_k: 1 } } as never;
    const a = await direct.client.chat.completions.create({ model: "demo", ...(params as object) } as never);
    const b = await gw.client.chat.completions.create({ model: "relay", ...(params as object) } as never);
    expect((b as any).choices[0].message.content).toBe((a as any).choices[0].message.content);
  });
});
