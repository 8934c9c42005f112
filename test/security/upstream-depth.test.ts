/**
 * Issue 9, item 12 (upstream side): JSON from an upstream nested past 128 levels is the upstream's
 * fault, a 502 upstream_protocol_error (in-band once a stream has started), never a 500, whether the
 * answer would have been relayed unparsed or parsed. Error bodies that deep are quoted as text.
 */
import { hostileCategory, type Answer, type HostileCase } from "./harness.js";
import { normalChat, upstreamConfigDir, sendScripted } from "./hostile-gateway.js";
import { deepJson, nested, send, startHostileUpstream, type Behaviour, type HostileUpstream } from "./hostile-upstream.js";

const GATEWAY = "gw";
const DEEP = 100_000;
let upstream: HostileUpstream;

function scripted(
  name: string,
  behaviour: Behaviour,
  status: number,
  code: string | undefined,
  more: Partial<HostileCase> & { stream?: boolean } = {},
): HostileCase {
  return {
    name,
    status,
    code,
    send: sendScripted(() => upstream, GATEWAY, name, behaviour, more.stream),
    ...more,
  };
}

/** The stream started, then ended with an in-band error frame carrying `code`, then [DONE]. */
const inBandError = (code: string) => (answer: Answer) => {
  const frames = answer.body.split("\n\n").filter((f) => f.startsWith("data: "));
  expect(frames[frames.length - 1]).toBe("data: [DONE]");
  const error = JSON.parse(frames[frames.length - 2].slice(6)).error;
  expect(error.code).toBe(code);
};

/** A body `{"error": {"detail": <deep>}}`: no message, so the whole error object would be quoted. */
const deepErrorText = (depth: number) => `{"error":{"detail":${nested(depth)}}}`;

const deepError =
  (status: number): Behaviour =>
  (s) => {
    s.res.writeHead(status, { "content-type": "application/json" });
    s.res.end(deepErrorText(DEEP));
  };

/** A stream whose first chunk is fine and whose error payload (a `data:` line, or `event: error`) is deep. */
const deepStreamError =
  (namedEvent: boolean): Behaviour =>
  async (s) => {
    s.res.writeHead(200, { "content-type": "text/event-stream" });
    await send(
      s,
      `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n`,
    );
    await send(s, `${namedEvent ? "event: error\n" : ""}data: ${deepErrorText(DEEP)}\n\n`);
    s.res.end();
  };

hostileCategory(
  "upstream JSON nesting",
  async () => {
    upstream = await startHostileUpstream();
    const provider = {
      id: "hostile",
      type: "openai-compatible",
      endpoints: [{ url: upstream.url, api_key_env: "HOSTILE_TEST_KEY" }],
      retry: { failures_before_cooldown: 1000 },
    };
    return { configDir: upstreamConfigDir([provider], { [GATEWAY]: { provider: "hostile" } }), normal: normalChat(GATEWAY), teardown: () => upstream.close() };
  },
  [
    scripted(
      "a 200 nesting 100,000 levels after its model (relayed unparsed) is a 502",
      deepJson({ depth: DEEP, modelFirst: true }),
      502,
      "upstream_protocol_error",
    ),
    scripted("a 200 nesting 100,000 levels before its model (parsed) is a 502", deepJson({ depth: DEEP }), 502, "upstream_protocol_error"),
    scripted("a 200 nesting 200 levels is a 502", deepJson({ depth: 200 }), 502, "upstream_protocol_error"),
    scripted("a 200 nesting 120 levels (under the cap) is served", deepJson({ depth: 120 }), 200, undefined),
    scripted("a first stream chunk nesting 100,000 levels is a 502", deepJson({ depth: DEEP, stream: true }), 502, "upstream_protocol_error", { stream: true }),
    scripted("... in the shape relayed unparsed too", deepJson({ depth: DEEP, stream: true, modelFirst: true }), 502, "upstream_protocol_error", {
      stream: true,
    }),
    scripted("a deep chunk after good ones ends the stream with an in-band 502 frame", deepJson({ depth: DEEP, stream: true, okChunks: 2 }), 200, undefined, {
      stream: true,
      check: inBandError("upstream_protocol_error"),
    }),
    scripted(
      "... and a later deep chunk in the shape relayed unparsed",
      deepJson({ depth: DEEP, stream: true, okChunks: 2, modelFirst: true }),
      200,
      undefined,
      {
        stream: true,
        check: inBandError("upstream_protocol_error"),
      },
    ),
    scripted("a 200 error payload nesting 100,000 levels is a 502", deepError(200), 502, "upstream_protocol_error"),
    scripted("an in-stream error payload nesting 100,000 levels is an in-band 502 frame", deepStreamError(false), 200, undefined, {
      stream: true,
      check: inBandError("upstream_protocol_error"),
    }),
    scripted("an in-stream error event nesting 100,000 levels is an in-band error frame", deepStreamError(true), 200, undefined, {
      stream: true,
      check: inBandError("upstream_error"),
    }),
    scripted("a 400 whose error object nests 100,000 levels is still the upstream's 400", deepError(400), 400, undefined),
    scripted("a 500 whose error object nests 100,000 levels is a 502 upstream_error", deepError(500), 502, "upstream_error"),
    scripted("a 200 stream: JSON nesting 100,000 levels answering stream: true is a 502", deepJson({ depth: DEEP }), 502, "upstream_protocol_error", {
      stream: true,
    }),
  ],
);
