/**
 * The SSE writer respects backpressure (issue 9, item 6): a client that stops reading makes the
 * server stop pulling the stream (so an upstream is not drained into memory), and one that reads
 * nothing for the stall timeout is cut, which aborts the upstream request. A slow reader that
 * keeps reading gets every byte.
 */
import type { ServerResponse } from "node:http";
import net from "node:net";
import yaml from "js-yaml";
import { chatChunk, data, startFakeUpstream, startSse, type FakeUpstream, type UpstreamRequest } from "../helpers/upstream-server.js";
import { demoCategoryConfig, hostileCategory, httpRequest, settledRss, sleep, type Answer, type Target } from "./harness.js";

const STALL_MS = 1500;
const MB = 1024 * 1024;
/** The longest the flood may run before the test calls it unbounded. */
const FLOOD_CAP = 1024 * MB;
const FINITE_CHUNKS = 3000;

let upstream: FakeUpstream | undefined;
/** What the flooding upstream managed to send on its last request, and that request. */
const flood = { sent: 0, request: undefined as UpstreamRequest | undefined };

const frameOf = (content: string) => Buffer.from(data(chatChunk("up-model", { content })));

/** Resolves on the response's 'drain' or 'close', leaving no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function upstreamConfig(): Promise<string> {
  upstream = await startFakeUpstream(async (req, res) => {
    startSse(res);
    if (req.body?.model === "up-flood") {
      // As fast as the gateway reads, for ever (up to FLOOD_CAP): only backpressure stops it.
      flood.sent = 0;
      flood.request = req;
      const frame = frameOf("x".repeat(1000));
      while (!res.destroyed && flood.sent < FLOOD_CAP) {
        flood.sent += frame.length;
        if (!res.write(frame)) await drained(res);
      }
      return void res.end();
    }
    for (let i = 0; i < FINITE_CHUNKS && !res.destroyed; i++) {
      if (!res.write(frameOf(`c${i}:${"y".repeat(1000)}`))) await drained(res);
    }
    res.end(data(chatChunk("up-model", {}, "stop")) + "data: [DONE]\n\n");
  });
  const providers = [
    { id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }], timeouts: { first_byte_ms: 10_000, idle_ms: 20_000, total_ms: 60_000 } },
  ];
  const reg = (model: string, upstreamModel: string) =>
    yaml.dump({ registration: { model }, local_settings: { backend: "openai-compatible", provider: "up", upstream_model: upstreamModel } });
  return demoCategoryConfig({ "providers.yaml": yaml.dump(providers), "flood.yaml": reg("flood", "up-flood"), "finite.yaml": reg("finite", "up-finite") });
}

/** A streaming chat request over a raw socket whose reading the test controls. */
function streamRequest(t: Target, model: string): net.Socket {
  const body = JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hi" }] });
  const socket = net.connect(t.port, t.host);
  socket.on("error", () => undefined);
  socket.write(httpRequest("POST", "/v1/chat/completions", { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }, body));
  return socket;
}

/** Reads the socket to its end (or until `maxMs`); resolves with what arrived and whether it ended. */
function readToEnd(socket: net.Socket, maxMs: number, pauseEveryBytes = 0, pauseMs = 0): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let sincePause = 0;
    const done = (ended: boolean) => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("utf8"), ended });
    };
    const timer = setTimeout(() => done(false), maxMs);
    let kept = 0;
    socket.on("data", (d: Buffer) => {
      // An endless stream (the unbounded server this guards against) must not exhaust the test.
      if (kept < 64 * MB) chunks.push(d);
      kept += d.length;
      sincePause += d.length;
      if (pauseEveryBytes && sincePause >= pauseEveryBytes) {
        sincePause = 0;
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
    socket.once("close", () => done(true));
    socket.resume();
  });
}

const answer = (status: number, body: string): Answer => ({ status, headers: {}, body, closed: true, timedOut: false });
const statusLine = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

hostileCategory(
  "http: slow readers and backpressure",
  async () => ({
    configDir: await upstreamConfig(),
    env: { UNDERSTUDY_WRITE_STALL_MS: String(STALL_MS) },
    rss: true,
    teardown: async () => upstream?.close(),
  }),
  [
    {
      name: "a client that never reads an endless stream: the upstream is not drained, and both are cut after the stall timeout",
      send: async (t) => {
        const before = await settledRss(t);
        const socket = streamRequest(t, "flood");
        socket.pause();
        const started = Date.now();
        let peak = 0;
        // Until the upstream's request is closed (the gateway aborted it), or clearly never.
        while (Date.now() - started < STALL_MS + 12_000) {
          peak = Math.max(peak, t.rssBytes());
          // The fake upstream runs in this process: the wait must yield to it.
          const settled = flood.request ? flood.request.settled.then(() => true) : sleep(100).then(() => false);
          if (await Promise.race([settled, sleep(100).then(() => false)])) break;
        }
        const upstreamClosedAfterMs = Date.now() - started;
        const sentMb = flood.sent / MB;
        const { text, ended } = await readToEnd(socket, 10_000);
        socket.destroy();
        return answer(
          statusLine(text),
          JSON.stringify({ upstreamClosedAfterMs, sentMb, ended, growthMb: (peak - before) / MB, upstreamClosed: flood.request?.closedEarly }),
        );
      },
      status: 200,
      shape: "none",
      check: (a) => {
        const r = JSON.parse(a.body);
        expect(r.upstreamClosed).toBe(true);
        expect(r.upstreamClosedAfterMs).toBeLessThan(STALL_MS + 8000);
        // What the socket buffers between the two hold, not the gigabyte a drained upstream sends.
        expect(r.sentMb).toBeLessThan(64);
        expect(r.growthMb).toBeLessThan(100);
        expect(r.ended).toBe(true);
      },
      timeoutMs: 45_000,
    },
    {
      name: "a slow reader that keeps reading (pauses shorter than the stall timeout) gets the whole stream",
      send: async (t) => {
        const socket = streamRequest(t, "finite");
        const { text, ended } = await readToEnd(socket, 30_000, 512 * 1024, STALL_MS / 2);
        socket.destroy();
        const contents = text.match(/"content":"c\d+:/g) ?? [];
        return answer(statusLine(text), JSON.stringify({ chunks: contents.length, done: text.includes("data: [DONE]"), ended }));
      },
      status: 200,
      shape: "none",
      check: (a) => expect(JSON.parse(a.body)).toEqual({ chunks: FINITE_CHUNKS, done: true, ended: true }),
      timeoutMs: 45_000,
    },
  ],
);
