/**
 * Slow-loris headers, trickled bodies, bodies announced and never sent, idle keep-alive sockets.
 * The server runs with short receive timeouts (UNDERSTUDY_HEADERS_TIMEOUT_MS and friends, see
 * src/http/limits.ts) and must cut each such client (node answers 408 and closes, or just closes)
 * well before the client gives up, while serving a normal request in the meantime.
 */
import net from "node:net";
import { CHAT, chatBody, demoCategoryConfig, hostileCategory, httpRequest, post, raw, sleep, type Answer, type HostileCase, type Target } from "./harness.js";

const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1000;
const KEEP_ALIVE_TIMEOUT_MS = 500;
/** How long a client keeps trickling before it counts the server as never cutting it. */
const CLIENT_PATIENCE_MS = 6000;

/** A cut connection: node's bare 408, or a close without a response; never the client's own timeout. */
const CUT = [0, 408];
const cutInTime = (a: Answer) => {
  if (a.timedOut) throw new Error(`the server never cut the connection (the client gave up after ${CLIENT_PATIENCE_MS} ms)`);
};

/**
 * Sends `parts` one every `delayMs` and, 300 ms in, a normal chat request, which must be served
 * within 5 s while the slow client is still connected.
 */
function trickle(parts: (string | Buffer)[], delayMs: number) {
  return async (t: Target): Promise<Answer> => {
    const slow = raw(t, parts, { delayMs, timeoutMs: CLIENT_PATIENCE_MS });
    await sleep(300);
    const normal = await post(t, CHAT, chatBody(), {}, 5000);
    const answer = await slow;
    if (normal.status !== 200) throw new Error(`a normal request was not served during the slow client: ${normal.status} ${normal.body.slice(0, 200)}`);
    return answer;
  };
}

const bytes = (text: string) => [...Buffer.from(text, "latin1")].map((b) => Buffer.from([b]));
const endlessHeader = (start: string, n: number) => [start, ...bytes("X-Slow: ".padEnd(8 + n, "a"))];
const body = JSON.stringify(chatBody());
const chatHead = (headers: Record<string, string | number>) => httpRequest("POST", CHAT, { "Content-Type": "application/json", ...headers });

const SLOW: HostileCase[] = [
  {
    name: "slow-loris: one header byte per 100 ms",
    send: trickle(endlessHeader("GET /health HTTP/1.1\r\nHost: x\r\n", 70), 100),
    status: CUT,
    shape: "none",
    check: cutInTime,
  },
  {
    name: "slow-loris: one header byte per 500 ms",
    send: trickle(endlessHeader("GET /health HTTP/1.1\r\nHost: x\r\n", 14), 500),
    status: CUT,
    shape: "none",
    check: cutInTime,
  },
  {
    name: "slow-loris: a trickled request line",
    send: trickle(bytes(`POST ${CHAT}?${"a".repeat(60)} HTTP/1.1\r\n`), 100),
    status: CUT,
    shape: "none",
    check: cutInTime,
  },
  {
    name: "slow-loris: chat headers one byte per 250 ms",
    send: trickle(endlessHeader(`POST ${CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`, 30), 250),
    status: CUT,
    shape: "none",
    check: cutInTime,
  },
  {
    name: "a trickled body: one byte per 100 ms",
    send: trickle([chatHead({ "Content-Length": body.length }), ...bytes(body)], 100),
    status: [...CUT, 400],
    shape: "none",
    check: cutInTime,
  },
  {
    name: "a trickled chunked body: one 1-byte chunk per 150 ms",
    send: trickle(
      [chatHead({ "Transfer-Encoding": "chunked" }), ...bytes(body).map((b) => Buffer.concat([Buffer.from("1\r\n"), b, Buffer.from("\r\n")]))],
      150,
    ),
    status: [...CUT, 400],
    shape: "none",
    check: cutInTime,
  },
  {
    name: "Content-Length longer than the body, client waits",
    send: trickle([chatHead({ "Content-Length": body.length + 100 }), body], 0),
    status: [...CUT, 400],
    shape: "none",
    check: cutInTime,
  },
  {
    name: "a Content-Length announced and no body sent",
    send: trickle([chatHead({ "Content-Length": 1000 })], 0),
    status: [...CUT, 400],
    shape: "none",
    check: cutInTime,
  },
  { name: "a connection that never sends a byte", send: trickle([Buffer.alloc(0)], 0), status: CUT, shape: "none", check: cutInTime },
  { name: "an idle keep-alive connection is closed", send: keepAliveThenIdle, status: 200, check: (a) => expect(a.closed).toBe(true) },
  { name: "40 slow-loris clients at once", send: manySlowClients(40), status: 200 },
];

/** One keep-alive request, then silence: the server must close the socket after its keep-alive timeout. */
function keepAliveThenIdle(t: Target): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect(t.port, t.host);
    let status = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status, headers: {}, body: "", closed: false, timedOut: true });
    }, CLIENT_PATIENCE_MS);
    socket.on("connect", () => socket.write(httpRequest("GET", "/health", { Connection: "keep-alive" })));
    socket.on("data", (d: Buffer) => (status ||= Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString("latin1"))?.[1] ?? 0)));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ status, headers: {}, body: "", closed: true, timedOut: false });
    });
  });
}

/** `n` slow-loris clients; the answer is the normal request made while they all hang on. */
function manySlowClients(n: number) {
  return async (t: Target): Promise<Answer> => {
    const slow = Array.from({ length: n }, () =>
      raw(t, endlessHeader("GET /health HTTP/1.1\r\nHost: x\r\n", 30), { delayMs: 200, timeoutMs: CLIENT_PATIENCE_MS }),
    );
    await sleep(300);
    const normal = await post(t, CHAT, chatBody(), {}, 5000);
    const answers = await Promise.all(slow);
    const uncut = answers.filter((a) => a.timedOut).length;
    if (uncut > 0) throw new Error(`${uncut} of ${n} slow clients were never cut`);
    return normal;
  };
}

hostileCategory(
  "generic: slow-loris headers and trickled bodies",
  async () => ({
    configDir: await demoCategoryConfig(),
    env: {
      UNDERSTUDY_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      UNDERSTUDY_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      UNDERSTUDY_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    },
    rss: true,
  }),
  SLOW.map((c) => ({ ...c, timeoutMs: CLIENT_PATIENCE_MS + 10_000 })),
);
