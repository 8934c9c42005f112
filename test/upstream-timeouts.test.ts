/**
 * Timers fire on time: an upstream that accepts the request but never answers gets a 504
 * `upstream_timeout` within [first_byte_ms, first_byte_ms + 1 s] of the request, on every surface
 * and whether or not the client streams, with the provider's default retry policy (the first-byte
 * budget covers every attempt: a timed-out attempt is not retried past it).
 */
import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { startFakeUpstream, untilClosed, type FakeUpstream } from "./helpers/upstream-server.js";

const FIRST_BYTE_MS = 1_200;
const SLACK_MS = 1_000;

let upstream: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  // Accepts, reads the request, never answers (until the gateway gives up and closes).
  upstream = await startFakeUpstream((req) => untilClosed(req, 30_000));
  gw = await startGateway({
    // The default retry policy (3 attempts): the timeout must still answer on time.
    providers: [{ id: "hung", type: "openai-compatible", endpoints: [{ url: upstream.url }], timeouts: { first_byte_ms: FIRST_BYTE_MS } }],
    models: { m: { provider: "hung", upstream_model: "up-model" } },
  });
  // The first request sets the request validator up (a second or two on a busy machine): not the timer's to pay.
  await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});

async function timed(path: string, body: unknown): Promise<{ status: number; ms: number; json: any }> {
  const started = performance.now();
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  return { status: res.status, ms: performance.now() - started, json };
}

const hi = [{ role: "user", content: "hi" }];

// Before the fix: 6.5 s for the non-streaming chat (three attempts of 1.2 s, each up to ~1 s late on undici's fast timer).
describe("the first-byte timeout answers on time", () => {
  it.each([
    ["chat", "/v1/chat/completions", { model: "m", messages: hi }],
    ["chat, streaming", "/v1/chat/completions", { model: "m", messages: hi, stream: true }],
    ["Anthropic messages, streaming", "/v1/messages", { model: "m", max_tokens: 5, messages: hi, stream: true }],
  ])("%s: 504 upstream_timeout within [t, t + 1 s]", async (_name, path, body) => {
    const { status, ms, json } = await timed(path, body);
    expect(status).toBe(504);
    expect(json.error?.code ?? json.error?.type).toMatch(/timeout/);
    expect(ms).toBeGreaterThanOrEqual(FIRST_BYTE_MS - 5);
    expect(ms).toBeLessThanOrEqual(FIRST_BYTE_MS + SLACK_MS);
  });
});
