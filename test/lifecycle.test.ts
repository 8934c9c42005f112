/**
 * The drain on SIGTERM/SIGINT, through the built server in a child process with a loopback fake
 * upstream that streams slowly: in-flight streams and requests finish within the grace, new
 * connections are refused, /health answers 503 while draining, streams still open when a short
 * grace ends get their surface's in-band error, and the process exits 0 (a second signal: at once).
 * Run `npm run build` first.
 */
import http from "node:http";
import net from "node:net";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { chatChunk, chatCompletion, data, sendJson, sleep, startFakeUpstream, startSse, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";
import { spawnServer, type Target } from "./security/harness.js";

/** Chunks the fake upstream streams, one every CHUNK_MS (a stream of n chunks takes n * CHUNK_MS). */
const CHUNK_MS = 100;

let upstream: FakeUpstream;
let configDir: string;

beforeAll(async () => {
  upstream = await startFakeUpstream(async (req, res) => {
    const body = req.body as { stream?: boolean; max_tokens?: number; max_completion_tokens?: number };
    // The number of chunks (or, not streaming, tenths of a second before the answer) rides on max_tokens.
    const n = body.max_tokens ?? body.max_completion_tokens ?? 10;
    if (!body.stream) {
      await sleep(n * CHUNK_MS);
      return sendJson(res, 200, chatCompletion("up-model", "done"));
    }
    startSse(res);
    const frames = [data(chatChunk("up-model", { role: "assistant", content: "" }))];
    for (let i = 0; i < n; i++) frames.push(data(chatChunk("up-model", { content: "x" })));
    frames.push(data(chatChunk("up-model", {}, "stop")), data("[DONE]"));
    await writeFrames(res, frames, CHUNK_MS);
  });
  configDir = gatewayConfigDir({
    providers: [{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }],
    models: { m: { provider: "up", upstream_model: "up-model" } },
  });
});
afterAll(() => upstream.close());

const start = (env: Record<string, string> = {}) => spawnServer({ configDir, env });

interface Streamed {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A POST read to its end as text; `onFirstByte` resolves once the answer has begun. */
function post(t: Target, path: string, body: unknown, agent?: http.Agent): { first: Promise<void>; done: Promise<Streamed> } {
  let began!: () => void;
  const first = new Promise<void>((r) => (began = r));
  const done = new Promise<Streamed>((resolve, reject) => {
    const req = http.request(`${t.url}${path}`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
        began();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
  return { first, done };
}

function get(t: Target, path: string, agent?: http.Agent): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    http
      .get(`${t.url}${path}`, { agent }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      })
      .on("error", reject);
  });
}

const postText = (path: string, body: unknown) => {
  const json = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
};

/** A raw keep-alive connection: what is sent on it, everything it receives until it closes. */
function rawConnection(t: Target): { send(text: string): void; first: Promise<void>; closed: Promise<string> } {
  const socket = net.connect(t.port, t.host);
  let text = "";
  let began!: () => void;
  const first = new Promise<void>((r) => (began = r));
  socket.setEncoding("utf8").on("data", (c: string) => {
    text += c;
    began();
  });
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(text)));
  socket.on("error", () => undefined);
  return { send: (s) => void socket.write(s), first, closed };
}

async function exited(t: Target, withinMs: number): Promise<string> {
  const until = Date.now() + withinMs;
  while (t.alive() && Date.now() < until) await sleep(20);
  return t.exitReason();
}

const hi = [{ role: "user", content: "hi" }];
const chatStream = (chunks: number) => ({ model: "m", messages: hi, stream: true, max_tokens: chunks });
/** The JSON payloads of an OpenAI stream's `data:` lines. */
const dataLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));

describe("drain on SIGTERM", () => {
  it("lets an in-flight stream and a non-streaming request finish, refuses new connections, /health 503 on an open connection, exits 0", async () => {
    const t = await start({ UNDERSTUDY_DRAIN_GRACE_MS: "20000" });
    try {
      const stream = post(t, "/v1/chat/completions", chatStream(15));
      const plain = post(t, "/v1/chat/completions", { model: "m", messages: hi, max_tokens: 10 });
      // A connection busy with a stream, on which /health is sent (pipelined) after the signal.
      const busy = rawConnection(t);
      busy.send(postText("/v1/chat/completions", chatStream(10)));
      await Promise.all([stream.first, busy.first]);
      process.kill(t.pid, "SIGTERM");
      await sleep(200);
      busy.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      // A new connection is refused: the listener is closed.
      await expect(get(t, "/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
      const streamed = await stream.done;
      expect(streamed.status).toBe(200);
      const lines = dataLines(streamed.text);
      expect(lines.at(-1)).toBe("[DONE]");
      expect(lines.filter((l) => l.includes('"content":"x"'))).toHaveLength(15);
      expect(JSON.parse(lines.at(-2)!).choices[0].finish_reason).toBe("stop");
      const answered = await plain.done;
      expect(answered.status).toBe(200);
      expect(JSON.parse(answered.text).choices[0].message.content).toBe("done");
      // On the busy connection: its stream complete, then /health's 503 saying draining, and the connection closed.
      const text = await busy.closed;
      expect(text).toContain("data: [DONE]");
      const health = text.slice(text.indexOf("HTTP/1.1 503"));
      expect(health).toMatch(/^HTTP\/1\.1 503/);
      expect(health).toMatch(/\r\nconnection: close\r\n/i);
      expect(health).toContain('{"status":"draining"}');
      expect(await exited(t, 5000)).toBe("exited with code 0");
    } finally {
      await t.close();
    }
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s with a short grace: open streams end with the surface's in-band error (OpenAI, Anthropic), exit 0",
    async (signal) => {
      // The grace set by the environment, or by serve's flag.
      const t = signal === "SIGTERM" ? await start({ UNDERSTUDY_DRAIN_GRACE_MS: "300" }) : await spawnServer({ configDir, args: ["--drain-grace-ms", "300"] });
      try {
        const openai = post(t, "/v1/chat/completions", chatStream(200));
        const anthropic = post(t, "/v1/messages", { model: "m", max_tokens: 200, messages: hi, stream: true });
        await Promise.all([openai.first, anthropic.first]);
        const signalled = Date.now();
        process.kill(t.pid, signal);
        const o = await openai.done;
        expect(o.status).toBe(200);
        const lines = dataLines(o.text);
        expect(lines.at(-1)).toBe("[DONE]");
        expect(JSON.parse(lines.at(-2)!).error).toMatchObject({ code: "server_shutting_down", type: "server_error" });
        const a = await anthropic.done;
        expect(a.status).toBe(200);
        const events = a.text.split("\n").filter((l) => l.startsWith("event: "));
        expect(events.at(-1)).toBe("event: error");
        expect(events).not.toContain("event: message_stop");
        expect(await exited(t, 5000)).toBe("exited with code 0");
        // The grace (300 ms), then the cut-off: far sooner than the 20 s the streams would take.
        expect(Date.now() - signalled).toBeLessThan(4000);
      } finally {
        await t.close();
      }
    },
  );

  it("a second signal during the drain exits at once, with 128 + the signal's number", async () => {
    const t = await start({ UNDERSTUDY_DRAIN_GRACE_MS: "30000" });
    try {
      const stream = post(t, "/v1/chat/completions", chatStream(300));
      const ended = stream.done.catch(() => undefined);
      await stream.first;
      process.kill(t.pid, "SIGTERM");
      await sleep(200);
      expect(t.alive()).toBe(true);
      process.kill(t.pid, "SIGTERM");
      expect(await exited(t, 2000)).toBe("exited with code 143");
      await ended;
    } finally {
      await t.close();
    }
  });
});

describe("the server-wide concurrency cap", () => {
  it("at the cap, a further request is 503 server_busy with Retry-After, in the surface's shape", async () => {
    const t = await start({ UNDERSTUDY_MAX_CONCURRENT_REQUESTS: "2" });
    try {
      const a = post(t, "/v1/chat/completions", chatStream(10));
      const b = post(t, "/v1/chat/completions", chatStream(10));
      await Promise.all([a.first, b.first]);
      const third = await post(t, "/v1/chat/completions", chatStream(1)).done;
      expect(third.status).toBe(503);
      expect(third.headers["retry-after"]).toBe("1");
      expect(JSON.parse(third.text).error).toMatchObject({ code: "server_busy", type: "server_error" });
      const anthropic = await post(t, "/v1/messages", { model: "m", max_tokens: 1, messages: hi }).done;
      // Anthropic's own shape for "overloaded": 529 overloaded_error.
      expect(anthropic.status).toBe(529);
      expect(JSON.parse(anthropic.text)).toMatchObject({ type: "error", error: { type: expect.any(String) } });
      expect((await a.done).status).toBe(200);
      expect((await b.done).status).toBe(200);
      // The slots are given back.
      expect((await post(t, "/v1/chat/completions", chatStream(1)).done).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
