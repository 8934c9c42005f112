/**
 * What a client can make the HTTP layer hold (issue 9, item 8): bodies (an announced size over
 * the limit is refused before a byte is read; bodies being received share one budget), time
 * (slow-loris headers, trickled bodies, idle keep-alive connections are cut) and sockets (a
 * connection cap). Streams and slow answers, which outlive the request timeout, are not cut.
 */
import net from "node:net";
import yaml from "js-yaml";
import { data, chatChunk, chatCompletion, sendJson, sleep, startFakeUpstream, startSse, type FakeUpstream } from "../helpers/upstream-server.js";
import { httpLimitsFromEnv } from "../../src/http/limits.js";
import { chatBody, demoCategoryConfig, hostileCategory, httpRequest, post, raw, settledRss, type Answer, type HostileCase, type Target } from "./harness.js";

const CHAT = "/v1/chat/completions";
const MB = 1024 * 1024;

/** Headers announcing `length` body bytes, and the first `sent` of them. */
const announce = (target: string, length: number, sent = 16, method = "POST") =>
  httpRequest(method, target, { "Content-Type": "application/json", "Content-Length": length }, Buffer.alloc(sent, 0x20));

/** A raw request that must be answered quickly (no more bytes are sent after `parts`). */
function answeredWithin(ms: number, t: Target, parts: Buffer | Buffer[]): Promise<Answer & { elapsedMs: number }> {
  const started = Date.now();
  return raw(t, parts, { timeoutMs: ms + 2000 }).then((a) => ({ ...a, elapsedMs: Date.now() - started }));
}

const quickly = (ms: number) => (a: Answer) => expect((a as Answer & { elapsedMs: number }).elapsedMs).toBeLessThan(ms);

interface Held {
  socket: net.Socket;
  received: Buffer[];
  closed: boolean;
}

/** A connection whose answer (if any) is collected while the test holds it open. */
function hold(t: Target, first?: Buffer): Promise<Held> {
  return new Promise((resolve) => {
    const socket = net.connect(t.port, t.host);
    const held: Held = { socket, received: [], closed: false };
    socket.on("data", (d: Buffer) => held.received.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => (held.closed = true));
    socket.on("connect", () => {
      if (first) socket.write(first);
      resolve(held);
    });
  });
}

/** Writes `bytes` and waits until the socket has taken them (or the server has gone). */
function send(held: Held, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (held.socket.destroyed) return resolve();
    held.socket.write(bytes, () => resolve());
    held.socket.once("close", () => resolve());
  });
}

const statusOf = (held: Held) => Number(/^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(held.received).toString("latin1"))?.[1] ?? 0);

/** The first answer among held connections, as the harness's Answer. */
function firstAnswer(all: Held[], status: number): Answer {
  const hit = all.find((h) => statusOf(h) === status);
  const text = hit ? Buffer.concat(hit.received).toString("utf8") : "";
  const split = text.indexOf("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, split).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: hit ? status : 0, headers, body: split >= 0 ? text.slice(split + 4) : "", closed: true, timedOut: false };
}

/**
 * Sends the headers of a too-large body, waits for the answer, then goes on sending body bytes
 * (as a client streaming its body does) for a while, and reports whether the connection was reset
 * under it. A client whose write fails this way loses the answer it was about to read.
 */
function sendsOnAfterAnswer(t: Target, head: Buffer, chunks: number): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: t.port, host: t.host, allowHalfOpen: true });
    const held: Held = { socket, received: [], closed: false };
    let reset = false;
    socket.on("error", () => (reset = true));
    socket.on("data", (d: Buffer) => held.received.push(d));
    socket.on("connect", async () => {
      socket.write(head);
      for (let i = 0; i < 100 && statusOf(held) === 0; i++) await sleep(20);
      for (let i = 0; i < chunks && !socket.destroyed; i++) {
        socket.write(Buffer.alloc(64 * 1024, 0x20));
        await sleep(20);
      }
      socket.end();
      await sleep(100);
      const answer = firstAnswer([held], statusOf(held));
      socket.destroy();
      resolve({ ...answer, body: JSON.stringify({ reset, error: JSON.parse(answer.body || "{}").error }) });
    });
  });
}

// ---------------------------------------------------------------------------------------------

const announced = (name: string, target: string, method = "POST"): HostileCase => ({
  name,
  send: (t) => answeredWithin(1000, t, announce(target, 100 * 1024 * MB, 16, method)),
  status: 413,
  code: "request_too_large",
  check: (a) => {
    quickly(1000)(a);
    expect(a.headers.connection).toBe("close");
  },
});

hostileCategory(
  "http: request body limits",
  async () => ({
    configDir: await demoCategoryConfig(),
    env: { UNDERSTUDY_BODY_LIMIT: String(MB), UNDERSTUDY_BODY_BYTES_IN_FLIGHT: String(4 * MB) },
    rss: true,
  }),
  [
    announced("an announced 100 GB body on chat is refused before it is read", CHAT),
    announced("... on completions", "/v1/completions"),
    announced("... on embeddings", "/v1/embeddings"),
    announced("... on an express route (a body on GET /v1/models)", "/v1/models", "GET"),
    announced("... on an operation that is not implemented", "/v1/images/generations"),
    {
      name: "one byte over the limit is refused before it is read",
      send: (t) => answeredWithin(1000, t, announce(CHAT, MB + 1)),
      status: 413,
      code: "request_too_large",
      check: quickly(1000),
    },
    {
      name: "Expect: 100-continue with a body over the limit: 413 instead of 100 Continue",
      send: (t) =>
        answeredWithin(1000, t, httpRequest("POST", CHAT, { "Content-Type": "application/json", "Content-Length": 100 * MB, Expect: "100-continue" })),
      status: 413,
      code: "request_too_large",
    },
    {
      name: "Expect: 100-continue with a body within the limit is served",
      send: async (t) => {
        const body = Buffer.from(JSON.stringify(chatBody()));
        const h = await hold(t, httpRequest("POST", CHAT, { "Content-Type": "application/json", "Content-Length": body.length, Expect: "100-continue" }));
        for (let i = 0; i < 100 && statusOf(h) !== 100; i++) await sleep(20);
        const continued = statusOf(h) === 100;
        h.received.length = 0;
        await send(h, body);
        for (let i = 0; i < 500 && statusOf(h) === 0; i++) await sleep(20);
        h.socket.destroy();
        return { ...firstAnswer([h], statusOf(h)), body: JSON.stringify({ continued }) };
      },
      status: 200,
      check: (a) => expect(JSON.parse(a.body).continued).toBe(true),
    },
    {
      name: "a chunked body that grows past the limit",
      send: (t) => {
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
        return raw(t, [httpRequest("POST", CHAT, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" }), ...Array(20).fill(framed)]);
      },
      status: 413,
      code: "request_too_large",
    },
    {
      name: "a client still sending its body after the 413 is not reset (the server lingers, reading and dropping it)",
      send: (t) => sendsOnAfterAnswer(t, httpRequest("POST", CHAT, { "Content-Type": "application/json", "Content-Length": 3 * MB }), 10),
      status: 413,
      check: (a) => expect(JSON.parse(a.body)).toMatchObject({ reset: false, error: { code: "request_too_large" } }),
    },
    {
      name: "bodies being received at once past the shared budget: 503 server_busy with Retry-After",
      send: async (t) => {
        const all = await Promise.all(Array.from({ length: 6 }, () => hold(t, announce(CHAT, 1_000_000, 0))));
        try {
          // 6 x 900 KB = 5.4 MB against a 4 MB budget.
          await Promise.all(all.map((h) => send(h, Buffer.alloc(900_000, 0x20))));
          for (let i = 0; i < 50 && !all.some((h) => statusOf(h) === 503); i++) await sleep(20);
          return firstAnswer(all, 503);
        } finally {
          for (const h of all) h.socket.destroy();
        }
      },
      status: 503,
      code: "server_busy",
      check: (a) => expect(Number(a.headers["retry-after"])).toBeGreaterThan(0),
    },
  ],
);

hostileCategory(
  "http: many uploads at once",
  async () => ({ configDir: await demoCategoryConfig(), env: { UNDERSTUDY_BODY_BYTES_IN_FLIGHT: String(16 * MB) }, rss: true }),
  [
    {
      name: "40 uploads of 9 MB, abandoned: the server never holds more than the budget",
      send: async (t) => {
        const before = await settledRss(t);
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, t.rssBytes())), 25);
        const all = await Promise.all(Array.from({ length: 40 }, () => hold(t, announce(CHAT, 9 * MB + 100, 0))));
        try {
          const piece = Buffer.alloc(MB, 0x20);
          for (let i = 0; i < 9; i++) await Promise.all(all.map((h) => send(h, piece)));
          await sleep(200);
        } finally {
          clearInterval(sampler);
          for (const h of all) h.socket.destroy();
        }
        const busy = all.filter((h) => statusOf(h) === 503).length;
        return { status: 200, headers: {}, body: JSON.stringify({ growthMb: (peak - before) / MB, busy }), closed: true, timedOut: false };
      },
      status: 200,
      check: (a) => {
        const { growthMb, busy } = JSON.parse(a.body);
        expect(busy).toBeGreaterThan(0);
        // 16 MB of budget plus the process's own churn; the unbounded server took 360 MB here.
        expect(growthMb).toBeLessThan(120);
      },
      timeoutMs: 60_000,
    },
  ],
);

// ---------------------------------------------------------------------------------------------

let upstream: FakeUpstream | undefined;

/** The category's fake upstream: chat answers that take 3 s, streamed or not. */
async function slowUpstreamConfig(): Promise<string> {
  upstream = await startFakeUpstream(async (req, res) => {
    if (!req.body?.stream) {
      await sleep(3000);
      return sendJson(res, 200, chatCompletion("up-model", "slow"));
    }
    startSse(res);
    for (let i = 0; i < 10 && !res.destroyed; i++) {
      res.write(data(chatChunk("up-model", { content: `t${i}` })));
      await sleep(300);
    }
    res.end(data(chatChunk("up-model", {}, "stop")) + "data: [DONE]\n\n");
  });
  const providers = [
    { id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }], timeouts: { first_byte_ms: 10_000, idle_ms: 5000, total_ms: 20_000 } },
  ];
  const registration = { registration: { model: "slow" }, local_settings: { backend: "openai-compatible", provider: "up", upstream_model: "up-model" } };
  return demoCategoryConfig({ "providers.yaml": yaml.dump(providers), "slow.yaml": yaml.dump(registration) });
}

const closedWithin = (ms: number, t: Target, parts: Buffer[], delayMs: number): Promise<Answer & { elapsedMs: number }> => {
  const started = Date.now();
  return raw(t, parts, { delayMs, timeoutMs: ms + 5000 }).then((a) => ({ ...a, elapsedMs: Date.now() - started }));
};

hostileCategory(
  "http: slow clients",
  async () => ({
    configDir: await slowUpstreamConfig(),
    env: {
      UNDERSTUDY_HEADERS_TIMEOUT_MS: "1000",
      UNDERSTUDY_REQUEST_TIMEOUT_MS: "2000",
      UNDERSTUDY_KEEP_ALIVE_TIMEOUT_MS: "1000",
      UNDERSTUDY_MAX_CONNECTIONS: "32",
    },
    teardown: async () => upstream?.close(),
  }),
  [
    {
      name: "slow-loris: a header line every 250 ms is cut by the headers timeout",
      send: (t) =>
        closedWithin(
          3000,
          t,
          [Buffer.from(`POST ${CHAT} HTTP/1.1\r\nHost: x\r\n`), ...Array.from({ length: 40 }, (_, i) => Buffer.from(`X-Pad-${i}: a\r\n`))],
          250,
        ),
      status: [408, 0],
      shape: "none",
      check: (a) => {
        expect(a.closed).toBe(true);
        quickly(3500)(a);
      },
    },
    {
      name: "a trickled body (a byte every 250 ms) is cut by the request timeout",
      send: (t) => closedWithin(4000, t, [announce(CHAT, 100, 0), ...Array.from({ length: 60 }, () => Buffer.from(" "))], 250),
      status: [408, 0],
      shape: "none",
      check: (a) => {
        expect(a.closed).toBe(true);
        quickly(4500)(a);
      },
      timeoutMs: 30_000,
    },
    {
      name: "a connection that sends nothing is closed",
      send: async (t) => {
        const h = await hold(t);
        const started = Date.now();
        while (!h.closed && Date.now() - started < 6000) await sleep(50);
        h.socket.destroy();
        return { status: 0, headers: {}, body: "", closed: h.closed, timedOut: !h.closed };
      },
      status: 0,
      shape: "none",
      check: (a) => expect(a.closed).toBe(true),
    },
    {
      name: "an idle keep-alive connection is closed after the keep-alive timeout",
      send: async (t) => {
        const h = await hold(t, httpRequest("GET", "/health", { Connection: "keep-alive" }));
        for (let i = 0; i < 100 && statusOf(h) === 0; i++) await sleep(20);
        const answered = Date.now();
        while (!h.closed && Date.now() - answered < 6000) await sleep(50);
        const status = statusOf(h);
        h.socket.destroy();
        return { status, headers: {}, body: "", closed: h.closed, timedOut: false };
      },
      status: 200,
      check: (a) => expect(a.closed).toBe(true),
    },
    {
      name: "connections past the cap are closed at once",
      send: async (t) => {
        const all = await Promise.all(Array.from({ length: 48 }, () => hold(t)));
        await sleep(300);
        const closed = all.filter((h) => h.closed).length;
        for (const h of all) h.socket.destroy();
        // Until the server has seen them go, they still count against the cap.
        await sleep(300);
        return { status: 200, headers: {}, body: JSON.stringify({ closed }), closed: true, timedOut: false };
      },
      status: 200,
      // 48 against a cap of 32 (less any the test process keeps alive): at least 16 closed.
      check: (a) => expect(JSON.parse(a.body).closed).toBeGreaterThanOrEqual(16),
    },
    {
      name: "a stream longer than the request timeout is not cut",
      send: (t) => post(t, CHAT, { model: "slow", stream: true, messages: [{ role: "user", content: "hi" }] }),
      status: 200,
      check: (a) => {
        expect(a.body.match(/"content":"t\d"/g)).toHaveLength(10);
        expect(a.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
      },
    },
    {
      name: "an answer slower than the request timeout is not cut",
      send: (t) => post(t, CHAT, { model: "slow", messages: [{ role: "user", content: "hi" }] }),
      status: 200,
    },
  ],
);

describe("HTTP limit settings", () => {
  it("reads UNDERSTUDY_* settings and refuses a value that is not a positive integer, naming it", () => {
    expect(httpLimitsFromEnv({ UNDERSTUDY_MAX_CONNECTIONS: "10", UNDERSTUDY_WRITE_STALL_MS: "500", UNDERSTUDY_BODY_LIMIT: "1024" })).toEqual({
      maxConnections: 10,
      writeStallMs: 500,
      bodyLimitBytes: 1024,
    });
    expect(() => httpLimitsFromEnv({ UNDERSTUDY_REQUEST_TIMEOUT_MS: "soon" })).toThrow(/UNDERSTUDY_REQUEST_TIMEOUT_MS/);
    expect(() => httpLimitsFromEnv({ UNDERSTUDY_BODY_BYTES_IN_FLIGHT: "0" })).toThrow(/UNDERSTUDY_BODY_BYTES_IN_FLIGHT/);
  });
});
