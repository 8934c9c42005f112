import net from "node:net";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { chatChunk, data, sleep, startFakeUpstream, startSse, untilClosed, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";

let upstream: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startGateway({
    providers: [
      {
        id: "flaky",
        type: "openai-compatible",
        endpoints: [{ url: upstream.url }],
        timeouts: { connect_ms: 1000, first_byte_ms: 1000, idle_ms: 300, total_ms: 10_000 },
        retry: { attempts: 3, backoff_ms: 10, max_backoff_ms: 50, failures_before_cooldown: 1000, cooldown_ms: 1000 },
      },
    ],
    models: { m: { provider: "flaky", upstream_model: "up-model" } },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => upstream.route(undefined));

const hi = [{ role: "user" as const, content: "hi" }];
const chunk = (delta: Record<string, unknown>, finish: string | null = null) => data(chatChunk("up-model", delta, finish));

async function collect(stream: AsyncIterable<ChatCompletionChunk>) {
  const chunks: ChatCompletionChunk[] = [];
  let error: any;
  try {
    for await (const c of stream) chunks.push(c);
  } catch (e) {
    error = e;
  }
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  return { chunks, error, text };
}

const streamChat = () => gw.client.chat.completions.create({ model: "m", messages: hi, stream: true });

describe("streaming from a misbehaving upstream", () => {
  it("an error payload mid-stream becomes an in-band error after the chunks already sent", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "Hel" }), data({ error: { message: "CUDA out of memory", type: "server_error", code: "oom" } })]);
    });
    const { text, error } = await collect(await streamChat());
    expect(text).toBe("Hel");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.message).toContain("flaky: CUDA out of memory");
    expect(error.code).toBe("oom");
  });

  it("an `event: error` mid-stream becomes an in-band error", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "a" }), `event: error\ndata: {"error":{"message":"engine died"}}\n\n`]);
    });
    const { text, error } = await collect(await streamChat());
    expect(text).toBe("a");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.message).toContain("flaky: engine died");
  });

  it("a connection dropped mid-stream ends the stream with an error, not a silent success", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "par" }), chunk({ content: "tial" })], 0, false);
      await sleep(20);
      res.socket?.destroy();
    });
    const { text, error } = await collect(await streamChat());
    expect(text).toBe("partial");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.code).toBe("upstream_error");
    expect(error.message).toMatch(/^flaky: the connection to the upstream failed/);
  });

  it("a stream that ends cleanly without [DONE] or a finish_reason ends with an error frame", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "cut" })]);
    });
    const { text, error } = await collect(await streamChat());
    expect(text).toBe("cut");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.code).toBe("upstream_stream_truncated");
  });

  it("a stream with a finish_reason but no [DONE] is complete", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "ok" }), chunk({}, "stop")]);
    });
    const { text, error, chunks } = await collect(await streamChat());
    expect(error).toBeUndefined();
    expect(text).toBe("ok");
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe("stop");
  });

  it("takes a final `data: [DONE]` that lacks its blank line", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "fin" }), "data: [DONE]\n"]);
    });
    const { text, error } = await collect(await streamChat());
    expect(error).toBeUndefined();
    expect(text).toBe("fin");
  });

  it("a stall longer than the idle timeout ends the stream with a timeout error", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await writeFrames(res, [chunk({ content: "slow" })], 0, false);
      await untilClosed(req, 3000);
      res.end();
    });
    const started = Date.now();
    const { text, error } = await collect(await streamChat());
    expect(text).toBe("slow");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.code).toBe("upstream_timeout");
    expect(error.message).toContain("idle timeout");
    expect(Date.now() - started).toBeLessThan(2500);
    await upstream.requests[upstream.requests.length - 1].settled;
    expect(upstream.requests[upstream.requests.length - 1].closedEarly).toBe(true);
  });

  it("reads non-canonical but valid SSE: CRLF, CR, comments, multi-line data, no space, ids, split bytes", async () => {
    const multiLine = JSON.stringify(chatChunk("up-model", { content: "😀 é" }), null, 1).split("\n");
    const raw =
      ": keep-alive comment\r\n\r\n" +
      `retry: 1000\r\nid: 1\r\nevent: message\r\ndata:${JSON.stringify(chatChunk("up-model", { role: "assistant", content: "Hé" }))}\r\n\r\n` +
      multiLine.map((l) => `data: ${l}`).join("\n") +
      "\n\n" +
      `event: ping\ndata: {}\n\n` +
      `data:${JSON.stringify(chatChunk("up-model", { content: "!" }, "stop"))}\r\r` +
      "data: [DONE]\n";
    const bytes = Buffer.from(raw, "utf8");
    upstream.route(async (_req, res) => {
      startSse(res);
      // Three-byte slices split CRLF pairs, the emoji and the é in the middle.
      for (let i = 0; i < bytes.length; i += 3) res.write(bytes.subarray(i, i + 3));
      res.end();
    });
    const { text, error, chunks } = await collect(await streamChat());
    expect(error).toBeUndefined();
    expect(text).toBe("Hé😀 é!");
    expect(chunks).toHaveLength(3);
    expect(chunks.every((c) => c.model === "m")).toBe(true);
  });
});

describe("before the first chunk: still a real HTTP error, or a retry", () => {
  it("an error payload as the first event is an HTTP error with the status it names", async () => {
    upstream.route(async (_req, res) => {
      startSse(res);
      await writeFrames(res, [data({ error: { message: "prompt too long", type: "invalid_request_error", code: 400 } })]);
    });
    const err = await streamChat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain("flaky: prompt too long");
  });

  it("a connection dropped before the first chunk is retried", async () => {
    let calls = 0;
    upstream.route(async (_req, res) => {
      if (++calls === 1) {
        startSse(res);
        await sleep(10);
        res.socket?.destroy();
        return;
      }
      startSse(res);
      await writeFrames(res, [chunk({ content: "second try" }, "stop"), "data: [DONE]\n\n"]);
    });
    const before = upstream.requests.length;
    const { text, error } = await collect(await streamChat());
    expect(error).toBeUndefined();
    expect(text).toBe("second try");
    expect(upstream.requests.length - before).toBe(2);
  });

  it("no response headers within first_byte_ms: 504 naming the first byte timeout, not retried past its budget", async () => {
    upstream.route(async (req, res) => {
      await untilClosed(req, 3000);
      res.end();
    });
    const before = upstream.requests.length;
    const err = await gw.client.chat.completions.create({ model: "m", messages: hi }).catch((e) => e);
    expect(err.status).toBe(504);
    expect(err.error.message).toBe("flaky: the upstream did not respond in time (first byte timeout, 1000 ms)");
    expect(upstream.requests.length - before).toBe(1);
  });

  it("a stall before the first chunk is retried, then gives a 504 when every attempt stalls", async () => {
    upstream.route(async (req, res) => {
      startSse(res);
      await untilClosed(req, 3000);
      res.end();
    });
    const before = upstream.requests.length;
    const err = await streamChat().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(504);
    expect(err.code).toBe("upstream_timeout");
    expect(upstream.requests.length - before).toBe(3);
  });
});

describe("connection handling", () => {
  it("closes the connection after the stream when the client sent Connection: close", async () => {
    const { hostname, port } = new URL(gw.url);
    const body = JSON.stringify({ model: "m", messages: hi, stream: true });
    const received = await new Promise<{ text: string; ended: boolean }>((resolve) => {
      let text = "";
      const socket = net.connect(Number(port), hostname, () =>
        socket.write(
          `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      const timer = setTimeout(() => (socket.destroy(), resolve({ text, ended: false })), 3000);
      socket.on("data", (c) => (text += c));
      socket.on("end", () => (clearTimeout(timer), socket.destroy(), resolve({ text, ended: true })));
    });
    expect(received.text).toContain("data: [DONE]");
    expect(received.text.toLowerCase()).toContain("connection: close");
    expect(received.ended).toBe(true);
  });
});
