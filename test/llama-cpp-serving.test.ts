import OpenAI from "openai";
import { postJson, startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";

let server: TestServer;
let client: OpenAI;
const user = (content: string) => [{ role: "user" as const, content }];
const LONG = { "x-localai-extensions": { ignore_eos: true } };

beforeAll(async () => {
  const dir = await demoConfigDir({
    "demo.yaml": demoRegistration(
      "demo",
      "  parallel: 2\n",
      "request_defaults:\n  temperature: 0.7\n  x-localai-extensions:\n    top_k: 40\n    min_p: 0.05\nrequest_overrides:\n  createCompletion:\n    max_tokens: 3\n",
    ),
    "narrow.yaml": demoRegistration("narrow", "  parallel: 1\n  queue_limit: 1\n  context_size: 256\n"),
  });
  server = await startTestServer({ configDir: dir });
  client = server.client;
});
afterAll(() => server.close());

describe("the defaults merge, seen through x-localai-debug", () => {
  const debugOf = async (body: Record<string, unknown>) => {
    const res = await postJson(`${server.url}/v1/chat/completions`, {
      model: "demo",
      messages: user("hi"),
      max_tokens: 1,
      ...body,
      "x-localai-extensions": { debug: true, ...(body["x-localai-extensions"] as object) },
    });
    expect(res.status).toBe(200);
    return res.json["x-localai-debug"].request;
  };

  it("a client temperature of 0 beats the registration default of 0.7", async () => {
    expect((await debugOf({ temperature: 0 })).temperature).toBe(0);
    expect((await debugOf({})).temperature).toBe(0.7);
  });

  it("x-localai-extensions merge field by field (the echo is what the backend gets: no `debug`)", async () => {
    expect((await debugOf({ "x-localai-extensions": { top_k: 0 } }))["x-localai-extensions"]).toEqual({ top_k: 0, min_p: 0.05 });
  });

  it("a forced max_tokens beats the client's", async () => {
    const r = await client.completions.create({ model: "demo", prompt: "Once upon a time", max_tokens: 50, temperature: 0 });
    expect(r.usage!.completion_tokens).toBe(3);
    expect(r.choices[0].finish_reason).toBe("length");
  });

  it("refuses debug output where the registration does not allow it", async () => {
    const res = await postJson(`${server.url}/v1/embeddings`, { model: "narrow", input: "x", "x-localai-extensions": { debug: true } });
    expect(res.status).toBe(200);
    const dir = await demoConfigDir({ "d.yaml": demoRegistration("nodebug").replace("  allow_debug: true\n", "") });
    const other = await startTestServer({ configDir: dir });
    try {
      const denied = await postJson(`${other.url}/v1/chat/completions`, { model: "nodebug", messages: user("hi"), "x-localai-extensions": { debug: true } });
      expect(denied.status).toBe(400);
      expect(denied.json.error.param).toBe("x-localai-extensions.debug");
    } finally {
      await other.close();
    }
  });
});

describe("completions and embeddings", () => {
  it("completes a prompt (and a list of prompts) in OpenAI's shape", async () => {
    const r = await client.completions.create({ model: "narrow", prompt: ["Hello", "World"], max_tokens: 4, temperature: 0 });
    expect(r.object).toBe("text_completion");
    expect(r.id).toMatch(/^cmpl-/);
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(r.usage!.completion_tokens).toBe(8);
  });

  it("streams a completion", async () => {
    const whole = await client.completions.create({ model: "narrow", prompt: "Hello", max_tokens: 10, temperature: 0 });
    const stream = await client.completions.create({ model: "narrow", prompt: "Hello", max_tokens: 10, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(whole.choices[0].text);
  });

  it("returns vectors of the model's dimension for string, list and token inputs, float and base64", async () => {
    const one = await client.embeddings.create({ model: "demo", input: "hello world" });
    expect(one.data).toHaveLength(1);
    expect(one.data[0].embedding).toHaveLength(64);
    expect(Math.hypot(...one.data[0].embedding)).toBeCloseTo(1, 3);
    const list = await client.embeddings.create({ model: "demo", input: ["a", "b", "c"] });
    expect(list.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(list.data.every((d) => d.embedding.length === 64)).toBe(true);
    expect(list.usage.prompt_tokens).toBeGreaterThan(0);
    const tokens = await client.embeddings.create({ model: "demo", input: [[104, 101, 108], [111]] });
    expect(tokens.data).toHaveLength(2);
    expect(tokens.usage.prompt_tokens).toBe(4);
    const b64 = await postJson(`${server.url}/v1/embeddings`, { model: "demo", input: "hello world", encoding_format: "base64" });
    const bytes = Uint8Array.from(Buffer.from(b64.json.data[0].embedding, "base64"));
    const floats = new Float32Array(bytes.buffer);
    expect(floats.length).toBe(64);
    expect(floats[0]).toBeCloseTo(one.data[0].embedding[0], 5);
  });

  it("rejects dimensions other than the model's", async () => {
    const err = await client.embeddings.create({ model: "demo", input: "x", dimensions: 32 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("dimensions");
  });

  it("refuses an empty string as input, alone or in a list, as OpenAI does", async () => {
    for (const input of ["", ["a", ""]]) {
      const res = await postJson(`${server.url}/v1/embeddings`, { model: "demo", input });
      expect(res.status).toBe(400);
      expect(res.json.error.param).toMatch(/^input/);
    }
  });
});

describe("limits", () => {
  it("rejects a prompt that does not fit the context with 400 context_length_exceeded", async () => {
    const err = await client.chat.completions.create({ model: "narrow", messages: user("word ".repeat(400)), max_tokens: 10 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe("context_length_exceeded");
    const tooMany = await client.chat.completions.create({ model: "narrow", messages: user("hi"), max_tokens: 250 }).catch((e) => e);
    expect(tooMany.code).toBe("context_length_exceeded");
  });

  it("answers 429 with Retry-After when the queue is full", async () => {
    const busy = [0, 1].map(() => client.chat.completions.create({ model: "narrow", messages: user("go"), max_tokens: 200, ...LONG } as never));
    await new Promise((r) => setTimeout(r, 100));
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: "narrow", messages: user("go"), max_tokens: 5 });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.json.error.type).toBe("rate_limit_error");
    const done = await Promise.all(busy);
    expect(done.map((r: any) => r.usage.completion_tokens)).toEqual([200, 200]);
  });

  it("frees its sequence after 20 streams aborted by the client: 5 later requests all succeed", async () => {
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ model: "narrow", messages: user(`abort ${i}`), max_tokens: 200, stream: true, ...LONG } as never, {
        signal: controller.signal,
      });
      let seen = 0;
      try {
        for await (const _chunk of stream as unknown as AsyncIterable<unknown>) {
          if (++seen === 3) controller.abort();
        }
      } catch (err) {
        expect((err as Error).name).toMatch(/Abort/);
      }
    }
    // One sequence and a queue of one: each later request succeeds only if every aborted stream gave the sequence back.
    for (let i = 0; i < 5; i++) {
      const r = await client.chat.completions.create({ model: "narrow", messages: user(`after ${i}`), max_tokens: 4 });
      expect(r.choices[0].finish_reason).toBe("length");
    }
  });
});
