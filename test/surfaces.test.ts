/**
 * Protocol surfaces (issue 10, item 5): the SSE frame format, each surface's end-of-stream policy,
 * and errors in the surface's own shape before the first byte (errorResponse) and after it
 * (errorFrames), on the fast path (POST /v1/moderations, an operation no surface implements) and on
 * express (/v1/assistants/{id}).
 * Two small test surfaces shaped like Sourcegraph's and Anthropic's are served next to OpenAI's.
 */
import net from "node:net";
import { ApiError, InvalidRequestError } from "../src/core/errors.js";
import { sseFrameText, type SseFrame } from "../src/core/sse-frame.js";
import { SerializedJson } from "../src/core/serialized-json.js";
import type { Handler, HandlerCall } from "../src/handlers/types.js";
import { handlers, SURFACES, surfaceFor, surfaceLookup } from "../src/surfaces/index.js";
import type { Surface } from "../src/surfaces/types.js";
import { postJson, startTestServer, type TestServer } from "./helpers/server.js";

describe("SSE frames", () => {
  it("writes an unnamed frame as one data line", () => {
    expect(sseFrameText({ data: { a: 1 } })).toBe('data: {"a":1}\n\n');
    expect(sseFrameText({ data: "[DONE]" })).toBe("data: [DONE]\n\n");
    expect(sseFrameText({ data: new SerializedJson('{"b":2}') })).toBe('data: {"b":2}\n\n');
  });

  it("writes a named frame as `event:` then `data:`", () => {
    expect(sseFrameText({ event: "message_start", data: { type: "message_start" } })).toBe('event: message_start\ndata: {"type":"message_start"}\n\n');
    expect(sseFrameText({ event: "done", data: "{}" })).toBe("event: done\ndata: {}\n\n");
  });

  it("splits multi-line data into one data line per line (CR, LF and CRLF)", () => {
    expect(sseFrameText({ data: "a\nb\r\nc\rd" })).toBe("data: a\ndata: b\ndata: c\ndata: d\n\n");
    expect(sseFrameText({ event: "x", data: new SerializedJson('{\n"a": 1\n}') })).toBe('event: x\ndata: {\ndata: "a": 1\ndata: }\n\n');
  });

  it("refuses an event name with a line break", () => {
    expect(() => sseFrameText({ event: "a\ndata: forged", data: "x" })).toThrow(TypeError);
  });
});

describe("the surface registry", () => {
  it("gives every operation at most one surface, and unclaimed ones OpenAI's", () => {
    expect(SURFACES.map((s) => s.name)).toEqual(["openai", "anthropic", "sourcegraph", "responses"]);
    expect(surfaceFor("createChatCompletion").name).toBe("openai");
    expect(surfaceFor("beta_createResponse").name).toBe("openai");
    expect(surfaceFor(undefined).name).toBe("openai");
    expect(surfaceFor("createAnthropicMessage").name).toBe("anthropic");
    expect(surfaceFor("createResponse").name).toBe("responses");
    expect(Object.keys(handlers).sort()).toEqual(SURFACES.flatMap((s) => Object.keys(s.handlers)).sort());
  });

  it("refuses an operation claimed by two surfaces", () => {
    const twin: Surface = { ...SURFACES[0], name: "twin" };
    expect(() => surfaceLookup([SURFACES[0], twin])).toThrow(/claimed by two surfaces/);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Frames for the scenario the request names (`input` on POST /v1/moderations, the id on the GET). */
async function* scenario(name: string, frames: SseFrame[]): AsyncIterable<SseFrame> {
  if (name === "fail-early") throw new InvalidRequestError("refused before the stream", "input", "refused");
  for (const frame of frames) {
    yield frame;
    await sleep(1);
  }
  if (name === "fail-late") throw new ApiError(502, "upstream_error", "broke mid-stream", null, "upstream_broke");
}

const streamOf =
  (pick: (call: HandlerCall) => string, frames: SseFrame[]): Handler =>
  async (call) => ({ kind: "stream", frames: scenario(pick(call), frames) });

/** Like Sourcegraph's completions API: named events, `event: done` at the end, errors before the stream as text. */
const sourcegraphLike: Surface = {
  name: "sourcegraph-like",
  handlers: {
    createModeration: streamOf(
      (call) => String(call.body.input),
      [
        { event: "completion", data: { completion: "He", stopReason: "" } },
        { event: "completion", data: { completion: "Hello", stopReason: "end_turn" } },
      ],
    ),
  },
  errorResponse: (err) => ({ status: err.status, headers: {}, contentType: "text/plain; charset=utf-8", body: err.message }),
  errorFrames: (err) => [{ event: "error", data: { error: err.message } }],
  endOfStream: { event: "done", data: "{}" },
};

const anthropicError = (err: ApiError) => ({ type: "error", error: { type: err.type, message: err.message } });

/** Like Anthropic's Messages API: named events, nothing after the last one, errors as `{type:"error",error:{...}}`. */
const anthropicLike: Surface = {
  name: "anthropic-like",
  handlers: {
    getAssistant: streamOf((call) => call.params.assistant_id, [{ event: "message_start", data: { type: "message_start" } }]),
    modifyAssistant: async () => ({ kind: "json", body: { ok: true } }),
  },
  errorResponse: (err) => ({ status: err.status, headers: {}, contentType: "application/json", body: JSON.stringify(anthropicError(err)) }),
  errorFrames: (err) => [{ event: "error", data: anthropicError(err) }],
};

async function raw(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

/** A request over a raw socket (a declared Content-Length fetch would not send); the whole answer as text. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (d) => (answer += d));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("timed out")));
  });
}

describe("a server with two more surfaces", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ surfaces: [...SURFACES, sourcegraphLike, anthropicLike] });
  });
  afterAll(() => server.close());

  const post = (input: string) =>
    raw(`${server.url}/v1/moderations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ model: "demo", input }) });

  it("ends a stream with the surface's end-of-stream frame (event: done)", async () => {
    const res = await post("ok");
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/event-stream/);
    expect(res.text).toBe(
      'event: completion\ndata: {"completion":"He","stopReason":""}\n\n' +
        'event: completion\ndata: {"completion":"Hello","stopReason":"end_turn"}\n\n' +
        "event: done\ndata: {}\n\n",
    );
  });

  it("writes an error after the first byte as the surface's in-band frames, then its end-of-stream frame", async () => {
    const res = await post("fail-late");
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/event: completion\n[\s\S]*event: error\ndata: \{"error":"broke mid-stream"\}\n\nevent: done\ndata: \{\}\n\n$/);
  });

  it("answers an error before the first byte with the surface's errorResponse (text/plain)", async () => {
    const res = await post("fail-early");
    expect(res).toEqual({ status: 400, type: "text/plain; charset=utf-8", text: "refused before the stream" });
  });

  it("answers a refused body on the fast path in the surface's shape", async () => {
    const res = await raw(`${server.url}/v1/moderations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
    expect(res.status).toBe(400);
    expect(res.type).toBe("text/plain; charset=utf-8");
    expect(res.text).toMatch(/JSON/);
  });

  it("refuses a declared body over the limit in the surface's shape", async () => {
    const { port } = new URL(server.url);
    const answer = await rawRequest(
      Number(port),
      "POST /v1/moderations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/content-type: text\/plain; charset=utf-8/i);
  });

  it("ends a stream with nothing when the surface has no end-of-stream frame", async () => {
    const res = await raw(`${server.url}/v1/assistants/ok`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('event: message_start\ndata: {"type":"message_start"}\n\n');
  });

  it("writes an in-band error in the surface's shape, and nothing after it", async () => {
    const res = await raw(`${server.url}/v1/assistants/fail-late`);
    expect(res.text).toBe(
      'event: message_start\ndata: {"type":"message_start"}\n\n' +
        'event: error\ndata: {"type":"error","error":{"type":"upstream_error","message":"broke mid-stream"}}\n\n',
    );
  });

  it("answers errors on express's side (handler, body reader) in the surface's shape", async () => {
    const early = await raw(`${server.url}/v1/assistants/fail-early`);
    expect(early.status).toBe(400);
    expect(JSON.parse(early.text)).toEqual({ type: "error", error: { type: "invalid_request_error", message: "refused before the stream" } });
    const badJson = await raw(`${server.url}/v1/assistants/a1`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.text)).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("keeps OpenAI's shape for the OpenAI surface, for unimplemented operations and for unknown URLs", async () => {
    const chat = await postJson(`${server.url}/v1/chat/completions`, { model: "no-such-model", messages: [{ role: "user", content: "hi" }] });
    expect(chat.status).toBe(404);
    expect(chat.json.error).toMatchObject({ type: "invalid_request_error" });
    const notImplemented = await postJson(`${server.url}/v1/responses?beta=true`, { model: "demo", input: "hi" });
    expect(notImplemented.status).toBe(501);
    expect(notImplemented.json.error).toMatchObject({ code: "not_implemented" });
    const unknown = await raw(`${server.url}/v1/no-such-thing`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error).toMatchObject({ code: "unknown_url" });
  });
});
