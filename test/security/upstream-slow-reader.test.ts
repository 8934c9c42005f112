/**
 * Issue 9, item 6, upstream side: the path from the upstream's socket to the client (undici's body,
 * the SSE parser, the chunk relay, the SSE writer) holds no unbounded queue, so a client that stops
 * reading stops the reading of the upstream: the upstream's writes stall, the server's memory stays
 * flat, and after the write-stall timeout the client is cut and the upstream request aborted. An
 * upstream that keeps streaming after [DONE] loses its connection instead of being read to its end.
 */
import net from "node:net";
import { CHAT, hostileCategory, httpRequest, post, settledRss, sleep, type Answer, type Target } from "./harness.js";
import { ask, normalChat, upstreamConfigDir } from "./hostile-gateway.js";
import { endlessStream, startHostileUpstream, type HostileUpstream } from "./hostile-upstream.js";

const MB = 1024 * 1024;
const STALL_MS = 1_500;
const FLOOD = 300 * MB;
let upstream: HostileUpstream;

/** A streaming chat request on a raw socket that never reads the response. */
function deafClient(t: Target, model: string, scenario: string): net.Socket {
  const body = JSON.stringify(ask(model, scenario, { stream: true }));
  const socket = net.connect(t.port, t.host);
  socket.on("error", () => undefined);
  socket.pause();
  socket.write(httpRequest("POST", CHAT, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }, body));
  return socket;
}

/**
 * Floods a client that never reads, until the gateway gives up on the upstream request (or clearly
 * never does); the answer's body is what was observed.
 */
async function floodDeafClient(t: Target, model: string, scenario: string): Promise<Answer> {
  upstream.script(scenario, endlessStream({ totalBytes: FLOOD }));
  const before = await settledRss(t);
  const socket = deafClient(t, model, scenario);
  const started = Date.now();
  let peak = 0;
  let longestStallMs = 0;
  while (Date.now() - started < STALL_MS + 12_000) {
    peak = Math.max(peak, t.rssBytes());
    const req = upstream.last(scenario);
    if (req?.waitingSince) longestStallMs = Math.max(longestStallMs, Date.now() - req.waitingSince);
    // Always awaits: the upstream runs on this event loop.
    if (await Promise.race([req ? req.settled.then(() => true) : new Promise<never>(() => undefined), sleep(50).then(() => false)])) break;
  }
  socket.destroy();
  const req = upstream.last(scenario);
  const observed = {
    upstreamCut: req?.closedEarly === true,
    cutAfterMs: Date.now() - started,
    sentMb: (req?.bytesWritten ?? 0) / MB,
    longestStallMs,
    growthMb: (peak - before) / MB,
  };
  return { status: 200, headers: {}, body: JSON.stringify(observed), closed: true, timedOut: false };
}

function heldBack(answer: Answer): void {
  const o = JSON.parse(answer.body);
  // The upstream waited on a full socket for most of the stall timeout: it was held back, not drained.
  expect(o.longestStallMs).toBeGreaterThan(STALL_MS / 2);
  // What the socket buffers between client, gateway and upstream hold, not the 300 MB on offer.
  expect(o.sentMb).toBeLessThan(64);
  expect(o.growthMb).toBeLessThan(150);
  // Cut after the stall timeout (with the writer's and undici's timer slack), which aborted the upstream request.
  expect(o.upstreamCut).toBe(true);
  expect(o.cutAfterMs).toBeLessThan(STALL_MS + 8_000);
}

hostileCategory(
  "upstream streams: a client that stops reading holds the upstream back",
  async () => {
    upstream = await startHostileUpstream();
    const provider = (id: string, debug: boolean) => ({
      id,
      type: "openai-compatible",
      debug_connections: debug,
      endpoints: [{ url: upstream.url, api_key_env: "HOSTILE_TEST_KEY" }],
      timeouts: { idle_ms: 30_000, total_ms: 60_000 },
    });
    return {
      configDir: upstreamConfigDir([provider("hostile", false), provider("debug", true)], { gw: { provider: "hostile" }, "gw-debug": { provider: "debug" } }),
      env: { UNDERSTUDY_WRITE_STALL_MS: String(STALL_MS) },
      normal: normalChat("gw"),
      rss: true,
      teardown: () => upstream.close(),
    };
  },
  [
    {
      name: "a client that never reads a 300 MB stream: the upstream stalls, memory stays flat, both are cut after the stall timeout",
      send: (t) => floodDeafClient(t, "gw", "flood"),
      status: 200,
      shape: "none",
      check: heldBack,
      timeoutMs: 45_000,
    },
    {
      name: "the same with debug_connections logging the stream",
      send: (t) => floodDeafClient(t, "gw-debug", "flood-debug"),
      status: 200,
      shape: "none",
      check: heldBack,
      timeoutMs: 45_000,
    },
    {
      name: "an upstream that floods on after [DONE] is not read to its end: the client is served and the connection dropped",
      send: async (t) => {
        upstream.script("after-done", endlessStream({ totalBytes: FLOOD, afterDone: true }));
        const answer = await post(t, CHAT, ask("gw", "after-done", { stream: true }));
        const req = upstream.last("after-done")!;
        await Promise.race([req.settled, sleep(10_000)]);
        return {
          ...answer,
          body: JSON.stringify({ done: answer.body.endsWith("data: [DONE]\n\n"), upstreamCut: req.closedEarly, sentMb: req.bytesWritten / MB }),
        };
      },
      status: 200,
      shape: "none",
      check: (answer) => {
        const o = JSON.parse(answer.body);
        expect(o).toMatchObject({ done: true, upstreamCut: true });
        expect(o.sentMb).toBeLessThan(64);
      },
      timeoutMs: 30_000,
    },
  ],
);
