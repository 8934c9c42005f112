/**
 * Hostile input through the `anthropic` upstream dialect (built server, child process): what a
 * client sends that the translation to the Messages API must parse (tool-call arguments) is a 400,
 * never a 500 or a crash; what an Anthropic upstream sends that is broken or absurdly deep is a 502
 * (in-band once a stream has started).
 */
import { CHAT, hostileCategory, post, type Answer, type Target } from "./harness.js";
import { anthropicConfigDir } from "../helpers/anthropic-gateway.js";
import { sseEvent, startFakeAnthropic, type AnthropicReply, type FakeAnthropic } from "../helpers/anthropic-upstream.js";

const MODEL = "claude";
const KEY_ENV = "HOSTILE_ANTHROPIC_KEY";
const DEEP = 100_000;
let fake: FakeAnthropic;

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const hi = [{ role: "user", content: "hi" }];
const chat = (body: Record<string, unknown>) => (t: Target) => post(t, CHAT, { model: MODEL, messages: hi, ...body });

/** A tool round trip whose assistant turn carries `args` as the call's arguments. */
const withArguments = (args: string) =>
  chat({
    messages: [
      { role: "user", content: "weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "f", arguments: args } }] },
      { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
    ],
  });

/** Scripts the fake's next answer, then sends a chat. */
const scripted =
  (reply: AnthropicReply, stream = false) =>
  (t: Target) => {
    fake.script(reply);
    return post(t, CHAT, { model: MODEL, messages: hi, ...(stream ? { stream: true } : {}) });
  };

const raw = (handle: (res: import("node:http").ServerResponse, model: string) => void): AnthropicReply => ({
  kind: "raw",
  handle: (req, res) => handle(res, req.body.model),
});

/** The stream started, then ended with an in-band error frame carrying `code`, then [DONE]. */
const inBandError = (code: string) => (answer: Answer) => {
  const frames = answer.body.split("\n\n").filter((f) => f.startsWith("data: "));
  expect(frames[frames.length - 1]).toBe("data: [DONE]");
  expect(JSON.parse(frames[frames.length - 2].slice(6)).error.code).toBe(code);
};

const start = (model: string) => ({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model, content: [], usage: {} } });

hostileCategory(
  "anthropic upstream dialect",
  async () => {
    fake = await startFakeAnthropic();
    const provider = { id: "hostile", type: "anthropic", endpoints: [{ url: fake.url, api_key_env: KEY_ENV }], retry: { failures_before_cooldown: 1000 } };
    return {
      configDir: anthropicConfigDir([provider], { [MODEL]: { provider: "hostile" } }),
      env: { [KEY_ENV]: fake.apiKey },
      secrets: [fake.apiKey],
      normal: async (t: Target) => {
        const answer = await post(t, CHAT, { model: MODEL, messages: hi });
        if (answer.status !== 200) throw new Error(`a normal chat failed after the case: ${answer.status} ${answer.body.slice(0, 300)}`);
      },
      teardown: () => fake.close(),
    };
  },
  [
    {
      name: "tool-call arguments nesting 100,000 levels inside an object are a 400",
      send: withArguments(`{"a":${nested(DEEP)}}`),
      status: 400,
      code: "nesting_too_deep",
    },
    { name: "tool-call arguments that are not JSON are a 400", send: withArguments("{not json"), status: 400 },
    { name: "tool-call arguments that are a JSON array are a 400", send: withArguments("[1,2]"), status: 400 },
    {
      name: "temperature 2 is a 400 naming it",
      send: chat({ temperature: 2 }),
      status: 400,
      check: (a) => expect(JSON.parse(a.body).error.param).toBe("temperature"),
    },
    {
      name: "an image URL that is neither data: nor http(s) is a 400",
      send: chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }] }),
      status: 400,
    },
    {
      name: "a 200 message nesting 100,000 levels is a 502",
      send: scripted(
        raw((res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(`{"id":"m","content":${nested(DEEP)}}`);
        }),
      ),
      status: 502,
      code: "upstream_protocol_error",
    },
    {
      name: "a 200 message without a content array is a 502",
      send: scripted(
        raw((res, model) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ id: "m", type: "message", model, content: "text", stop_reason: "end_turn" }));
        }),
      ),
      status: 502,
      code: "upstream_protocol_error",
    },
    {
      name: "a stream event nesting 100,000 levels ends the stream in-band",
      send: scripted(
        raw((res, model) => {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write(sseEvent(start(model)));
          res.end(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":${nested(DEEP)}}\n\n`);
        }),
        true,
      ),
      status: 200,
      check: inBandError("upstream_protocol_error"),
    },
    {
      name: "a stream event that is not JSON ends the stream in-band",
      send: scripted(
        raw((res, model) => {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write(sseEvent(start(model)));
          res.end(`event: content_block_delta\ndata: {oops\n\n`);
        }),
        true,
      ),
      status: 200,
      check: inBandError("upstream_protocol_error"),
    },
  ],
);
