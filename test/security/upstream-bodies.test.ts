/**
 * Issue 9, item 7: upstream bodies are bounded. A 2xx body announced or found larger than
 * max_response_bytes (default 32 MB) is a 502 upstream_protocol_error with the connection dropped;
 * an error body is read only as far as its message is used (64 KiB), on every attempt.
 */
import { hostileCategory, sleep, type HostileCase, type Target } from "./harness.js";
import { normalChat, upstreamConfigDir, withPeakRss, type UpstreamModel, sendScripted } from "./hostile-gateway.js";
import { bigBody, startHostileUpstream, type HostileUpstream } from "./hostile-upstream.js";

const MB = 1024 * 1024;
const GATEWAY = "gw";
const SMALL = "gw-small";
/** Short, so that the unfixed server (which waits for an announced body) answers within the case. */
const TIMEOUTS = { idle_ms: 2_000, first_byte_ms: 5_000 };
/** No cooldown between cases: every case's failures are its own. */
const RETRY = { attempts: 3, backoff_ms: 10, max_backoff_ms: 20, failures_before_cooldown: 1000 };

let upstream: HostileUpstream;

/** A provider "hostile" (model gw) and, with `smallCap`, a provider "capped" (model gw-small) with max_response_bytes: 64 KiB. */
async function setup(smallCap = false) {
  upstream = await startHostileUpstream();
  const provider = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: "openai-compatible",
    endpoints: [{ url: upstream.url, api_key_env: "HOSTILE_TEST_KEY" }],
    timeouts: TIMEOUTS,
    retry: RETRY,
    ...extra,
  });
  const providers = smallCap ? [provider("hostile"), provider("capped", { max_response_bytes: 64 * 1024 })] : [provider("hostile")];
  const models: Record<string, UpstreamModel> = { [GATEWAY]: { provider: "hostile" } };
  if (smallCap) models[SMALL] = { provider: "capped" };
  return { configDir: upstreamConfigDir(providers, models), normal: normalChat(GATEWAY), teardown: () => upstream.close() };
}

/** A case whose request names `scenario`, scripted with `behaviour` just before it is sent. */
function scripted(
  name: string,
  scenario: string,
  behaviour: ReturnType<typeof bigBody>,
  status: number,
  code: string | undefined,
  more: Partial<HostileCase> & { stream?: boolean; model?: string } = {},
): HostileCase {
  return {
    name,
    status,
    code,
    send: sendScripted(() => upstream, more.model ?? GATEWAY, scenario, behaviour, more.stream),
    ...more,
  };
}

/** Every attempt for `scenario` was cut short: the upstream could not hand over its whole body. */
const cutShort = (scenario: string, sent: number, attempts: number) => async () => {
  const tries = upstream.requests.filter((r) => r.scenario === scenario);
  expect(tries).toHaveLength(attempts);
  for (const r of tries) {
    // The upstream hears of the dropped connection on its side a moment later.
    await Promise.race([r.settled, sleep(2_000)]);
    expect(r.closedEarly).toBe(true);
    expect(r.bytesWritten).toBeLessThan(sent / 2);
  }
};

/** The case's request, with the server's RSS peak asserted under `limitMb` above where it started. */
function peakUnder(
  name: string,
  scenario: string,
  behaviour: ReturnType<typeof bigBody>,
  limitMb: number,
  status: number,
  code: string,
  stream = false,
): HostileCase {
  const base = scripted(name, scenario, behaviour, status, code, { stream });
  return {
    ...base,
    send: async (t: Target) => {
      const before = t.rssBytes();
      const { result, peak } = await withPeakRss(t, base.send(t));
      if (peak - before > limitMb * MB) throw new Error(`RSS peaked ${Math.round((peak - before) / MB)} MB above its start (limit ${limitMb} MB)`);
      return result;
    },
  };
}

hostileCategory("upstream bodies: bounded reads (default 32 MB cap)", () => setup(), [
  scripted(
    "a 2xx announcing 2 GiB (100 MB sent, then silence) is refused at its headers",
    "announced-2g",
    bigBody({ bytes: 100 * MB, announce: 2 ** 31, then: "hold" }),
    502,
    "upstream_protocol_error",
    {
      check: cutShort("announced-2g", 100 * MB, 1),
    },
  ),
  scripted(
    "a complete 150 MB 2xx body without Content-Length is cut at 32 MB, the connection dropped there",
    "huge-chunked",
    bigBody({ bytes: 150 * MB }),
    502,
    "upstream_protocol_error",
    {
      check: cutShort("huge-chunked", 150 * MB, 1),
    },
  ),
  scripted(
    "a 2xx body announcing its true 40 MB length is refused without reading it",
    "announced-40m",
    bigBody({ bytes: 40 * MB, announce: 40 * MB }),
    502,
    "upstream_protocol_error",
    {
      check: cutShort("announced-40m", 40 * MB, 1),
    },
  ),
  scripted(
    "a 500 with a 100 MB body is read in part, on each of the 3 attempts",
    "huge-500",
    bigBody({ bytes: 100 * MB, status: 500 }),
    502,
    "upstream_error",
    {
      check: cutShort("huge-500", 100 * MB, 3),
    },
  ),
  scripted(
    "a 400 with a 100 MB body is read in part and still answered as the upstream's 400",
    "huge-400",
    bigBody({ bytes: 100 * MB, status: 400 }),
    400,
    undefined,
    {
      check: cutShort("huge-400", 100 * MB, 1),
    },
  ),
  scripted(
    "a 503 announcing a 2 GiB body, then silence, is not waited for",
    "announced-503",
    bigBody({ bytes: 1 * MB, status: 503, announce: 2 ** 31, then: "hold" }),
    502,
    "upstream_error",
    {
      check: () => expect(upstream.requests.filter((r) => r.scenario === "announced-503")).toHaveLength(3),
    },
  ),
  scripted("stream: true answered with a 150 MB JSON body is cut at 32 MB", "stream-json", bigBody({ bytes: 150 * MB }), 502, "upstream_protocol_error", {
    stream: true,
    check: cutShort("stream-json", 150 * MB, 1),
  }),
  scripted(
    "stream: true answered with JSON announcing 2 GiB is refused at its headers",
    "stream-json-2g",
    bigBody({ bytes: 10 * MB, announce: 2 ** 31, then: "hold" }),
    502,
    "upstream_protocol_error",
    {
      stream: true,
      check: cutShort("stream-json-2g", 10 * MB, 1),
    },
  ),
  scripted(
    "stream: true answered with a 500 and a 100 MB body is read in part",
    "stream-500",
    bigBody({ bytes: 100 * MB, status: 500 }),
    502,
    "upstream_error",
    {
      stream: true,
      check: cutShort("stream-500", 100 * MB, 3),
    },
  ),
  scripted("a 31 MB body, under the cap, is served", "big-ok", bigBody({ bytes: 31 * MB }), 200, undefined, { shape: "none" }),
]);

hostileCategory(
  "upstream bodies: a configured max_response_bytes (64 KiB); RSS returns to its baseline",
  () => setup(true).then((s) => ({ ...s, rss: true })),
  [
    scripted("a 200 KB body over it is a 502 naming the limit", "over-small-cap", bigBody({ bytes: 200 * 1024 }), 502, "upstream_protocol_error", {
      model: SMALL,
      check: (answer) => expect(JSON.parse(answer.body).error.message).toContain("65536-byte limit"),
    }),
    scripted("a 60 KB body under it is served", "under-small-cap", bigBody({ bytes: 60 * 1024 }), 200, undefined, { model: SMALL, shape: "none" }),
    scripted("the cap holds for stream: true answered with JSON", "stream-over-small-cap", bigBody({ bytes: 200 * 1024 }), 502, "upstream_protocol_error", {
      model: SMALL,
      stream: true,
    }),
    ...[1, 2, 3].map((i) =>
      scripted(`150 MB bodies, again and again (${i})`, `small-cap-huge-${i}`, bigBody({ bytes: 150 * MB }), 502, "upstream_protocol_error", {
        model: SMALL,
        stream: i === 2,
        check: cutShort(`small-cap-huge-${i}`, 150 * MB, 1),
      }),
    ),
    scripted("500s with 100 MB bodies", "small-cap-500", bigBody({ bytes: 100 * MB, status: 500 }), 502, "upstream_error", { model: SMALL }),
  ],
);

// Peak memory while a body is read, each on a fresh server: what one case leaves behind in RSS
// would hide the next one's peak.
for (const [name, scenario, behaviour, limitMb, status, code, stream] of [
  ["a 150 MB 2xx body holds at most the 32 MB cap", "peak-chunked", bigBody({ bytes: 150 * MB }), 90, 502, "upstream_protocol_error", false],
  [
    "stream: true answered with 150 MB of JSON holds at most the cap",
    "peak-stream-json",
    bigBody({ bytes: 150 * MB }),
    90,
    502,
    "upstream_protocol_error",
    true,
  ],
  ["a 500 with a 100 MB body, 3 attempts, holds next to nothing", "peak-500", bigBody({ bytes: 100 * MB, status: 500 }), 30, 502, "upstream_error", false],
] as const) {
  hostileCategory(`upstream bodies: peak memory: ${name}`, () => setup(), [peakUnder(name, scenario, behaviour, limitMb, status, code, stream)]);
}
