/**
 * Streaming through the `anthropic` upstream dialect: Anthropic's named events (message_start,
 * content_block_*, message_delta, message_stop, ping) become OpenAI chunks, every one valid
 * against CreateChatCompletionStreamResponse; `event: error` becomes the in-band error, then [DONE].
 */
import OpenAI from "openai";
import { expectSchemaValid, startAnthropicGateway, type AnthropicGateway } from "./helpers/anthropic-gateway.js";
import { sseEvent, startFakeAnthropic, type FakeAnthropic } from "./helpers/anthropic-upstream.js";

const KEY_ENV = "UNDERSTUDY_TEST_ANTHROPIC_KEY_STREAM";
let fake: FakeAnthropic;
let gw: AnthropicGateway;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  process.env[KEY_ENV] = fake.apiKey;
  gw = await startAnthropicGateway([{ id: "claude", type: "anthropic", endpoints: [{ url: fake.url, api_key_env: KEY_ENV }] }], {
    sonnet: { provider: "claude" },
  });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  delete process.env[KEY_ENV];
});

const hi = [{ role: "user" as const, content: "hi" }];
const last = () => fake.requests[fake.requests.length - 1];

async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  let error: any;
  try {
    for await (const c of stream) {
      expectSchemaValid("CreateChatCompletionStreamResponse", c);
      chunks.push(c);
    }
  } catch (err) {
    error = err;
  }
  return { chunks, error, text: chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("") };
}

/** The raw SSE text the gateway writes for a streamed chat request. */
async function rawStream(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-client" },
    body: JSON.stringify({ model: "sonnet", messages: hi, stream: true, ...body }),
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe("anthropic upstream: streaming", () => {
  it("streams text with the client's model name, one role chunk first and one finish_reason", async () => {
    fake.script({
      kind: "message",
      content: [
        { type: "thinking", thinking: "hmm", signature: "s" },
        { type: "text", text: "Hello there, world" },
      ],
    });
    const { chunks, error, text } = await collect(await gw.client.chat.completions.create({ model: "sonnet", messages: hi, stream: true }));
    expect(error).toBeUndefined();
    expect(last().body.stream).toBe(true);
    expect(last().headers.accept).toBe("text/event-stream");
    expect(text).toBe("Hello there, world");
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    expect(chunks.every((c) => c.model === "sonnet" && c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it("sends the usage chunk last when stream_options.include_usage is set (and not upstream)", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: "ok" }], usage: { input_tokens: 11, cache_read_input_tokens: 4, output_tokens: 9 } });
    const { chunks, error } = await collect(
      await gw.client.chat.completions.create({ model: "sonnet", messages: hi, stream: true, stream_options: { include_usage: true } }),
    );
    expect(error).toBeUndefined();
    expect(last().body).not.toHaveProperty("stream_options");
    const final = chunks[chunks.length - 1];
    expect(final.choices).toEqual([]);
    expect(final.usage).toEqual({ prompt_tokens: 15, completion_tokens: 9, total_tokens: 24, prompt_tokens_details: { cached_tokens: 4 } });
    expect(chunks.filter((c) => c.usage)).toHaveLength(1);
  });

  it("maps a max_tokens stop to finish_reason length", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: "cut" }], stop_reason: "max_tokens" });
    const { chunks } = await collect(await gw.client.chat.completions.create({ model: "sonnet", messages: hi, stream: true }));
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["length"]);
  });

  it("skips ping and ends at message_stop with [DONE]", async () => {
    fake.script({ kind: "message", content: [{ type: "text", text: "pong" }] });
    const text = await rawStream({});
    expect(text).not.toContain("ping");
    expect(text).not.toContain("event:");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("turns an in-stream `event: error` into the in-band error frame, then [DONE]", async () => {
    fake.script({ kind: "error", type: "overloaded_error", message: "busy right now", inStream: true });
    const { chunks, error } = await collect(await gw.client.chat.completions.create({ model: "sonnet", messages: hi, stream: true }));
    expect(chunks.length).toBeGreaterThanOrEqual(1);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.message).toContain("claude: busy right now");
    fake.script({ kind: "error", type: "api_error", message: "boom", inStream: true });
    const raw = await rawStream({});
    const frames = raw.split("\n\n").filter((f) => f.trim() !== "");
    expect(frames[frames.length - 1]).toBe("data: [DONE]");
    const errorFrame = JSON.parse(frames[frames.length - 2].replace(/^data: /, ""));
    expect(errorFrame.error).toMatchObject({ message: expect.stringContaining("claude: boom"), type: "api_error" });
  });

  it("a stream that ends without message_delta or message_stop ends with an error, not a silent success", async () => {
    fake.script({
      kind: "raw",
      handle: (req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const message = { id: "msg_x", type: "message", role: "assistant", model: req.body.model, content: [], usage: { input_tokens: 1, output_tokens: 1 } };
        res.write(sseEvent({ type: "message_start", message } as { type: string }));
        res.write(sseEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } as { type: string }));
        res.end(sseEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "par" } } as { type: string }));
      },
    });
    const { text, error } = await collect(await gw.client.chat.completions.create({ model: "sonnet", messages: hi, stream: true }));
    expect(text).toBe("par");
    expect(error).toBeInstanceOf(OpenAI.APIError);
  });
});
