/**
 * The hostile-input suite's harness. Each category runs its cases against the built server
 * (`dist/`, so run `npm run build` first; `npm test` does) in a child process on an ephemeral
 * 127.0.0.1 port. After every case it asserts:
 * - the status and, for errors, OpenAI's error shape (or the surface's, where a case says so);
 * - that no configured secret, absolute path or stack trace is in the response or in a log line
 *   written during the case;
 * - that the process is alive and a normal request is served right after.
 * A category with `rss: true` ends with a check that RSS is back within 20% of its baseline.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { demoConfigDir, demoRegistration } from "../helpers/demo.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "test/security/server-entry.mjs");
/** A key value every category's server has in its environment: it must never be echoed. */
export const TEST_SECRET = "sk-hostile-7f3a9c1e5b2d4f60";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Answer {
  /** 0 when the server closed the connection (or the time ran out) without an HTTP response. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (with or without a response). */
  closed: boolean;
  timedOut: boolean;
}

export interface Target {
  url: string;
  host: string;
  port: number;
  pid: number;
  configDir: string;
  /** Every log line (pino JSON) the server wrote to stderr, in order. */
  logs: string[];
  /** Values that must never appear in a response or a log line. */
  secrets: readonly string[];
  alive(): boolean;
  exitReason(): string;
  rssBytes(): number;
  close(): Promise<void>;
}

export interface SpawnOptions {
  configDir: string;
  env?: Record<string, string>;
  secrets?: readonly string[];
  /** Extra arguments after `serve --config DIR --host 127.0.0.1 --port 0`. */
  args?: string[];
}

/** Starts `understudy serve` on the config directory; resolves once it listens. */
export async function spawnServer(options: SpawnOptions): Promise<Target> {
  if (!fs.existsSync(path.join(ROOT, "dist/cli.js"))) throw new Error("dist/ is missing: run `npm run build` first");
  const child: ChildProcess = spawn(
    process.execPath,
    ["--expose-gc", ENTRY, "serve", "--config", options.configDir, "--host", "127.0.0.1", "--port", "0", ...(options.args ?? [])],
    {
      cwd: ROOT,
      // A fixed mmap threshold: glibc's default raises it after large frees, so freed socket and
      // stream buffers stay in its heap and RSS counts them though nothing holds them. Fixed, RSS
      // follows what the process really retains, which is what the RSS checks are about. 64 KiB
      // and not glibc's 128 KiB: a socket read is a 64 KiB malloc, and below the threshold 40
      // concurrent uploads fragmented the brk heap so that 10-50 MB of it stayed resident (seen
      // in CI: 176 MB against a 137 MB baseline, smaps showing only [heap] grown).
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        LOG_LEVEL: "info",
        HOSTILE_TEST_KEY: TEST_SECRET,
        MALLOC_MMAP_THRESHOLD_: "65536",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  let exit: string | undefined;
  let partial = "";
  const onText = (text: string) => {
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    logs.push(...lines.filter((l) => l !== ""));
  };
  child.stderr!.setEncoding("utf8").on("data", onText);
  child.stdout!.setEncoding("utf8").on("data", onText);
  child.on("exit", (code, signal) => (exit = signal ? `killed by ${signal}` : `exited with code ${code}`));
  const url = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const line = logs.find((l) => l.includes('"understudy listening"'));
      if (line) {
        clearInterval(poll);
        resolve(JSON.parse(line).url);
      } else if (exit || Date.now() - started > 20_000) {
        clearInterval(poll);
        child.kill("SIGKILL");
        reject(new Error(`the server did not start (${exit ?? "timeout"}):\n${logs.slice(-20).join("\n")}`));
      }
    }, 20);
  });
  const { hostname, port } = new URL(url);
  return {
    url,
    host: hostname,
    port: Number(port),
    pid: child.pid!,
    configDir: options.configDir,
    logs,
    secrets: [TEST_SECRET, ...(options.secrets ?? [])],
    alive: () => exit === undefined,
    exitReason: () => exit ?? "running",
    rssBytes: () => {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    },
    close: async () => {
      if (exit !== undefined) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Full GC in the child, then its RSS. */
export async function settledRss(t: Target): Promise<number> {
  process.kill(t.pid, "SIGUSR2");
  await sleep(300);
  return t.rssBytes();
}

// ---------------------------------------------------------------------------------------------
// Requests

function headerBlockEnd(buf: Buffer): number {
  return buf.indexOf("\r\n\r\n");
}

/** Decodes a chunked body; undefined while incomplete. */
function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (Number.isNaN(size)) return Buffer.concat(parts);
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** The first HTTP response in `buf`, once complete (or at end of input when `final`). */
export function parseResponse(buf: Buffer, final: boolean): Omit<Answer, "closed" | "timedOut"> | undefined {
  const end = headerBlockEnd(buf);
  if (end < 0) return final && buf.length > 0 ? { status: 0, headers: {}, body: buf.toString("utf8") } : undefined;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) {
    const body = dechunk(rest);
    if (body === undefined && !final) return undefined;
    return { status, headers, body: (body ?? rest).toString("utf8") };
  }
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (rest.length < length && !final) return undefined;
    return { status, headers, body: rest.subarray(0, length).toString("utf8") };
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, headers, body: "" };
  return final ? { status, headers, body: rest.toString("utf8") } : undefined;
}

export interface RawOptions {
  /** Pause between the parts (slow-loris, trickled bodies). */
  delayMs?: number;
  /** Give up after this long; the answer then has `timedOut` (default 10 s). */
  timeoutMs?: number;
  /** Half-close the socket after the last part (default false). */
  end?: boolean;
}

/** Writes raw bytes to the server and reads the first response (or the close). */
export function raw(t: Target, parts: string | Buffer | (string | Buffer)[], opts: RawOptions = {}): Promise<Answer> {
  const list = Array.isArray(parts) ? parts : [parts];
  return new Promise((resolve) => {
    const socket = net.connect(t.port, t.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const parsed = parseResponse(Buffer.concat(chunks), true) ?? { status: 0, headers: {}, body: "" };
      socket.destroy();
      resolve({ ...parsed, closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), opts.timeoutMs ?? 10_000);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      if (parseResponse(Buffer.concat(chunks), false)) finish(false, false);
    });
    socket.on("error", () => finish(true, false));
    socket.on("close", () => finish(true, false));
    socket.on("connect", async () => {
      for (const [i, part] of list.entries()) {
        if (settled || socket.destroyed) return;
        if (i > 0 && opts.delayMs) await sleep(opts.delayMs);
        socket.write(part);
      }
      if (opts.end) socket.end();
    });
  });
}

/** A request line and headers (Host and Connection: close added unless given) and a body. */
export function httpRequest(method: string, target: string, headers: Record<string, string | number> = {}, body: string | Buffer = ""): Buffer {
  const all: Record<string, string | number> = { Host: "127.0.0.1", Connection: "close", ...headers };
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), typeof body === "string" ? Buffer.from(body, "utf8") : body]);
}

/** A JSON POST with a correct Content-Length, over a raw socket (so nothing is normalized). */
export function postRaw(t: Target, target: string, body: string | Buffer, headers: Record<string, string | number> = {}, opts?: RawOptions): Promise<Answer> {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return raw(t, httpRequest("POST", target, { "Content-Type": "application/json", "Content-Length": bytes.length, ...headers }, bytes), opts);
}

/** A request through fetch (undici): for well-formed requests. */
export async function request(
  t: Target,
  method: string,
  target: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.body = typeof body === "string" || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  try {
    const res = await fetch(`${t.url}${target}`, init);
    const text = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers), body: text, closed: false, timedOut: false };
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError";
    return { status: 0, headers: {}, body: "", closed: !timedOut, timedOut };
  }
}

export const post = (t: Target, target: string, body: unknown, headers?: Record<string, string>, timeoutMs?: number) =>
  request(t, "POST", target, body, headers, timeoutMs);

/** A minimal valid chat body for the demo model; `extra` fields are added or replace. */
export const chatBody = (extra: Record<string, unknown> = {}) => ({ model: "demo", messages: [{ role: "user", content: "hi" }], max_tokens: 2, ...extra });

// ---------------------------------------------------------------------------------------------
// Assertions

const STACK_TRACE = /\n\s+at [^\n]+:\d+:\d+|"stack"\s*:/;

/** Throws if `text` holds a secret, an absolute path of the server's, or a stack trace. */
export function assertNoLeaks(text: string, t: Target, where: string): void {
  for (const secret of t.secrets) if (secret && text.includes(secret)) throw new Error(`${where} contains a secret: ${excerpt(text, secret)}`);
  const paths = new Set([ROOT, t.configDir, safeRealpath(t.configDir)]);
  for (const p of paths) if (text.includes(p)) throw new Error(`${where} contains the absolute path ${p}: ${excerpt(text, p)}`);
  const stack = STACK_TRACE.exec(text);
  if (stack) throw new Error(`${where} contains a stack trace: ${excerpt(text, stack[0])}`);
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function excerpt(text: string, needle: string): string {
  const i = text.indexOf(needle);
  return JSON.stringify(text.slice(Math.max(0, i - 80), i + needle.length + 80));
}

/** OpenAI's error shape, and a size no upstream or client input can inflate. */
export function assertOpenAIError(answer: Answer, code?: string | RegExp): void {
  let parsed: any;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new Error(`expected a JSON error body, got ${JSON.stringify(answer.body.slice(0, 200))} (status ${answer.status})`);
  }
  expect(typeof parsed?.error?.message).toBe("string");
  expect(typeof parsed.error.type).toBe("string");
  expect(parsed.error.param === null || typeof parsed.error.param === "string").toBe(true);
  expect(parsed.error.code === null || typeof parsed.error.code === "string").toBe(true);
  expect(answer.body.length).toBeLessThan(8 * 1024);
  if (code !== undefined) expect(parsed.error.code).toMatch(code);
}

// ---------------------------------------------------------------------------------------------
// Categories

export interface HostileCase {
  name: string;
  send(t: Target): Promise<Answer>;
  /** Expected status (one of, with a list). 0 means: the connection was closed without a response. */
  status: number | number[];
  /** Expected `error.code` (OpenAI shape). */
  code?: string | RegExp;
  /** `openai` (default for statuses >= 400): OpenAI's error shape; `none`: the body is not checked. */
  shape?: "openai" | "none";
  /** Further checks of the answer. */
  check?(answer: Answer, t: Target): void | Promise<void>;
  timeoutMs?: number;
}

export interface CategorySetup {
  /** The config directory (see demoCategoryConfig). */
  configDir: string;
  env?: Record<string, string>;
  secrets?: readonly string[];
  args?: string[];
  /** A normal request that must succeed after every case (default: a demo chat completion). */
  normal?(t: Target): Promise<void>;
  /** Check that RSS returns within 20% of the baseline taken before the first case. */
  rss?: boolean;
  /** Called after the category (e.g. to stop a fake upstream). */
  teardown?(): Promise<void>;
}

/** A config directory with the demo model registered as `demo` (plus any extra files, `MODEL` = the demo GGUF). */
export async function demoCategoryConfig(extraFiles: Record<string, string> = {}, settings = "  parallel: 2\n"): Promise<string> {
  return demoConfigDir({ "demo.yaml": demoRegistration("demo", settings), ...extraFiles });
}

export async function demoChatWorks(t: Target): Promise<void> {
  const answer = await post(t, "/v1/chat/completions", chatBody());
  if (answer.status !== 200) throw new Error(`a normal chat request failed after the case: ${answer.status} ${answer.body.slice(0, 300)}`);
  const parsed = JSON.parse(answer.body);
  expect(parsed.choices).toHaveLength(1);
}

/**
 * One describe block: a server for the category, one test per case, and (with `rss`) a last test
 * comparing RSS with the baseline. A case that kills the server fails, and the next case gets a
 * new server.
 */
export function hostileCategory(title: string, setup: () => Promise<CategorySetup>, cases: readonly HostileCase[]): void {
  describe(title, () => {
    let s: CategorySetup;
    let t: Target;
    let baseline = 0;
    const start = () => spawnServer({ configDir: s.configDir, env: s.env, secrets: s.secrets, args: s.args });
    const normal = (target: Target) => (s.normal ?? demoChatWorks)(target);

    beforeAll(async () => {
      s = await setup();
      t = await start();
      await normal(t);
      if (s.rss) baseline = await settledRss(t);
    }, 60_000);

    afterAll(async () => {
      await t?.close();
      await s?.teardown?.();
    });

    for (const c of cases) {
      it(
        c.name,
        async () => {
          if (!t.alive()) t = await start();
          const from = t.logs.length;
          const answer = await c.send(t);
          if (!t.alive()) throw new Error(`the server died during the case: ${t.exitReason()}`);
          const expected = Array.isArray(c.status) ? c.status : [c.status];
          if (!expected.includes(answer.status)) {
            throw new Error(
              `expected status ${expected.join(" or ")}, got ${answer.status}${answer.timedOut ? " (timed out)" : ""}: ${answer.body.slice(0, 400)}`,
            );
          }
          if (answer.status >= 400 && (c.shape ?? "openai") === "openai") assertOpenAIError(answer, c.code);
          assertNoLeaks(answer.body, t, "the response body");
          assertNoLeaks(JSON.stringify(answer.headers), t, "the response headers");
          await c.check?.(answer, t);
          await normal(t);
          if (!t.alive()) throw new Error(`the server died after the case: ${t.exitReason()}`);
          assertNoLeaks(t.logs.slice(from).join("\n"), t, "a log line");
        },
        c.timeoutMs ?? 30_000,
      );
    }

    if (cases.length > 0) {
      it("stays alive, and (where checked) RSS returns within 20% of its baseline", async () => {
        expect(t.alive()).toBe(true);
        if (!s.rss) return;
        let rss = await settledRss(t);
        // Up to 6 s: on a busy machine the freed sockets' memory comes back late.
        for (let i = 0; i < 20 && rss > baseline * 1.2; i++) rss = await settledRss(t);
        if (rss > baseline * 1.2) {
          const status = fs
            .readFileSync(`/proc/${t.pid}/status`, "utf8")
            .match(/Rss\w+:\s+\d+ kB/g)
            ?.join(", ");
          throw new Error(`RSS ${(rss / 2 ** 20).toFixed(1)} MB is over 1.2 x its baseline ${(baseline / 2 ** 20).toFixed(1)} MB (${status})`);
        }
      }, 40_000);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers of the generic categories (test/security/generic-*.test.ts)

export const CHAT = "/v1/chat/completions";
export const COMPLETIONS = "/v1/completions";
export const EMBEDDINGS = "/v1/embeddings";

/** A minimal valid completions body for the demo model; `extra` fields are added or replace. */
export const completionBody = (extra: Record<string, unknown> = {}) => ({ model: "demo", prompt: "hi", max_tokens: 2, ...extra });
/** A minimal valid embeddings body for the demo model; `extra` fields are added or replace. */
export const embeddingBody = (extra: Record<string, unknown> = {}) => ({ model: "demo", input: "hi", ...extra });

/**
 * A case that POSTs `body` to `target`: an object goes through fetch as JSON; a string or Buffer is
 * written byte for byte over a socket, so `1e400`, duplicate keys and invalid UTF-8 reach the server as sent.
 */
export function postCase(name: string, target: string, body: unknown, status: number | number[], more: Partial<HostileCase> = {}): HostileCase {
  const send = typeof body === "string" || Buffer.isBuffer(body) ? (t: Target) => postRaw(t, target, body) : (t: Target) => post(t, target, body);
  return { name, send, status, ...more };
}

/** A deep copy of `base` with the value at `at` set (`undefined` deletes it); missing containers are created. */
export function withValue<T>(base: T, at: readonly (string | number)[], value: unknown): T {
  const copy = structuredClone(base);
  let node = copy as Record<string | number, unknown>;
  for (const [i, key] of at.slice(0, -1).entries()) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = typeof at[i + 1] === "number" ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = at[at.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** The parsed `error` of an OpenAI error body (the case's shape check has already run). */
export const errorOf = (answer: Answer): { message: string; type: string; param: string | null; code: string | null } => JSON.parse(answer.body).error;

/** A check that the error's `param` is `field` or a place inside it, so a client can tell what it got wrong. */
export function paramNames(field: string): (answer: Answer) => void {
  return (answer) => {
    const param = errorOf(answer).param ?? "";
    if (param !== field && !param.startsWith(`${field}.`) && !param.startsWith(`${field}[`)) {
      throw new Error(`expected param '${field}', got ${JSON.stringify(param)}: ${answer.body.slice(0, 300)}`);
    }
  };
}

/** The cases with their names prefixed by `group`: several groups can share one category (one server start). */
export const inGroup = (group: string, cases: readonly HostileCase[]): HostileCase[] => cases.map((c) => ({ ...c, name: `${group}: ${c.name}` }));
