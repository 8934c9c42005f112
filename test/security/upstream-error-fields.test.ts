/**
 * Issue 9, item 9: every field of an upstream error that reaches the client (message, type, param,
 * code; before a stream starts and in-band after) has the configured keys redacted and is cut to
 * size, so an upstream that copies our Authorization header into its error hands the client nothing
 * and cannot make our error response megabytes long. The harness checks that the key
 * (HOSTILE_TEST_KEY's value) is in no response and no log line.
 */
import { errorOf, hostileCategory, type Answer, type HostileCase } from "./harness.js";
import { normalChat, upstreamConfigDir, sendScripted } from "./hostile-gateway.js";
import { keyEcho, startHostileUpstream, type Behaviour, type ErrorField, type HostileUpstream } from "./hostile-upstream.js";

const GATEWAY = "gw";
const ALL: ErrorField[] = ["message", "type", "param", "code"];
/** Longest relayed type/param/code, and message (plus the provider prefix). */
const MAX_TOKEN = 128;
const MAX_MESSAGE = 1_100;
let upstream: HostileUpstream;

function scripted(name: string, behaviour: Behaviour, status: number, more: Partial<HostileCase> & { stream?: boolean } = {}): HostileCase {
  return {
    name,
    status,
    check: more.stream ? inBandBounded : bounded,
    send: sendScripted(() => upstream, GATEWAY, name, behaviour, more.stream),
    ...more,
  };
}

function assertFieldsBounded(error: { message: string; type: string; param: string | null; code: string | null }): void {
  expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
  for (const field of [error.type, error.param, error.code]) expect((field ?? "").length).toBeLessThanOrEqual(MAX_TOKEN);
}

const bounded = (answer: Answer) => assertFieldsBounded(errorOf(answer));

/** A 200 stream: its last frame before [DONE] is the in-band error, bounded too. */
function inBandBounded(answer: Answer): void {
  const frames = answer.body.split("\n\n").filter((f) => f.startsWith("data: "));
  expect(frames[frames.length - 1]).toBe("data: [DONE]");
  const error = JSON.parse(frames[frames.length - 2].slice(6)).error;
  assertFieldsBounded(error);
  expect(answer.body.length).toBeLessThan(8 * 1024);
}

const huge = (key: string) => `${"x".repeat(30_000)} Bearer ${key} ${"y".repeat(30_000)}`;

hostileCategory(
  "upstream error fields: redacted and bounded",
  async () => {
    upstream = await startHostileUpstream();
    const provider = {
      id: "hostile",
      type: "openai-compatible",
      endpoints: [{ url: upstream.url, api_key_env: "HOSTILE_TEST_KEY" }],
      retry: { backoff_ms: 1, max_backoff_ms: 2, failures_before_cooldown: 1000 },
    };
    return { configDir: upstreamConfigDir([provider], { [GATEWAY]: { provider: "hostile" } }), normal: normalChat(GATEWAY), teardown: () => upstream.close() };
  },
  [
    ...ALL.map((field) => scripted(`a 400 quoting the key in its error ${field}`, keyEcho({ fields: [field] }), 400)),
    scripted("a 400 quoting the key in every field", keyEcho({ fields: ALL }), 400),
    scripted("a 404 quoting the key in every field", keyEcho({ status: 404, fields: ALL }), 404),
    scripted("a 422 quoting the key in type, param and code", keyEcho({ status: 422, fields: ["type", "param", "code"] }), 422),
    scripted("a 429 quoting the key in its code (retried, then relayed)", keyEcho({ status: 429, fields: ["code", "message"] }), 429),
    scripted("a 401 quoting the key everywhere", keyEcho({ status: 401, fields: ALL }), 502),
    scripted("a 500 quoting the key everywhere", keyEcho({ status: 500, fields: ALL }), 502),
    scripted("a 200 error payload quoting the key in type, param and code", keyEcho({ status: 200, fields: ["type", "param", "code"] }), 502),
    scripted("a stream opening with an error payload quoting the key", keyEcho({ stream: true, first: true, fields: ["type", "param", "code"] }), 502, {
      stream: true,
      check: bounded,
    }),
    scripted("a stream opening with `event: error` quoting the key", keyEcho({ stream: true, first: true, namedEvent: true, fields: ALL }), 502, {
      stream: true,
      check: bounded,
    }),
    scripted("an in-stream error payload quoting the key in type, param and code", keyEcho({ stream: true, fields: ["type", "param", "code"] }), 200, {
      stream: true,
    }),
    scripted("an in-stream `event: error` quoting the key everywhere", keyEcho({ stream: true, namedEvent: true, fields: ALL }), 200, { stream: true }),
    scripted("a 400 with 60 KB fields (and the key inside) is answered in a few hundred bytes", keyEcho({ fields: ALL, value: huge }), 400),
    scripted("an in-stream error with 60 KB fields is cut to size", keyEcho({ stream: true, fields: ALL, value: huge }), 200, { stream: true }),
    scripted("a 429 with a 60 KB code is cut to size", keyEcho({ status: 429, fields: ["code"], value: huge }), 429),
  ],
);
