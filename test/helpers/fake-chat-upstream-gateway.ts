/**
 * One Understudy serving two chat models for the Responses API tests (issue 14): `demo` (the
 * llama-cpp demo model, gibberish) and `up` (an openai-compatible provider pointed at the loopback
 * fake of ./fake-chat-upstream.ts), with its responses stored in a data directory of the test's
 * choosing (or Redis). And the checks every streamed response must pass, whatever the backend.
 */
import yaml from "js-yaml";
import type OpenAI from "openai";
import { demoConfigDir, demoRegistration } from "./demo.js";
import { DEFAULT_RESPONSES_MAX_BYTES, DEFAULT_RESPONSES_TTL_S, openResponseStore } from "../../src/stores/open-store.js";
import { REDIS_TIMEOUT_MS } from "../../src/stores/redis-store.js";
import { freshDataDir, startTestServer, type TestServer } from "./server.js";
import { startFakeChatUpstream, UPSTREAM_MODEL } from "./fake-chat-upstream.js";
import type { FakeUpstream } from "./upstream-server.js";

export type Backend = "demo" | "up";
export const BACKENDS: Backend[] = ["demo", "up"];

/** A config dir with both registrations: `demo` on llama-cpp, `up` on the fake at `upstreamUrl` (`http://127.0.0.1:<port>/v1`). */
export function responsesConfigDir(upstreamUrl: string): Promise<string> {
  return demoConfigDir({
    "demo.yaml": demoRegistration("demo", "  parallel: 2\n"),
    "providers.yaml": yaml.dump([{ id: "fake", type: "openai-compatible", endpoints: [{ url: upstreamUrl }] }]),
    "up.yaml": yaml.dump({ registration: { model: "up" }, local_settings: { backend: "openai-compatible", provider: "fake", upstream_model: UPSTREAM_MODEL } }),
  });
}

export interface StoreChoice {
  /** The SQLite store's data directory (UNDERSTUDY_DATA); a fresh one when neither is given. */
  dataDir?: string;
  /** Responses in Redis instead (UNDERSTUDY_REDIS_URL). */
  redisUrl?: string;
  /** How long responses live (UNDERSTUDY_RESPONSES_TTL_S, in ms here so a test can see one expire). */
  ttlMs?: number;
}

/** A test server on an ephemeral port whose responses live where `store` says (the server's own store, closed with it). */
export async function startResponsesServer(configDir: string, store: StoreChoice = {}): Promise<TestServer> {
  if (!store.redisUrl && store.ttlMs === undefined) return startTestServer({ configDir, dataDir: store.dataDir });
  const common = { ttlMs: store.ttlMs ?? DEFAULT_RESPONSES_TTL_S * 1000, maxRecordBytes: DEFAULT_RESPONSES_MAX_BYTES };
  const responses = store.redisUrl
    ? openResponseStore({ kind: "redis", url: store.redisUrl, timeoutMs: REDIS_TIMEOUT_MS, ...common })
    : openResponseStore({ kind: "sqlite", dataDir: store.dataDir ?? freshDataDir(), ...common });
  const server = await startTestServer({ configDir, responses });
  return {
    ...server,
    close: async () => {
      await server.close();
      await responses.close();
    },
  };
}

/** A function tool with a strict schema the demo model's grammar can fill in a few tokens. */
export const weatherTool: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Weather for a city",
  strict: true,
  parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"], additionalProperties: false },
};

type Event = OpenAI.Responses.ResponseStreamEvent;

/** Concatenation of the deltas of each (output_index, content_index), by key. */
function joinDeltas(events: Event[], type: string): Map<string, string> {
  const joined = new Map<string, string>();
  for (const e of events) {
    if (e.type !== type) continue;
    const d = e as { output_index: number; content_index?: number; delta: string };
    const key = `${d.output_index}/${d.content_index ?? 0}`;
    joined.set(key, (joined.get(key) ?? "") + d.delta);
  }
  return joined;
}

/**
 * The documented event sequence: created, in_progress, items and parts opened and closed in pairs,
 * deltas that join to their `.done` text or arguments, sequence numbers strictly increasing, and a
 * last event `response.completed` or `response.incomplete` carrying the final response. Answers it.
 */
export function expectResponseEvents(events: Event[]): OpenAI.Responses.Response {
  const types = events.map((e) => e.type);
  expect(types.slice(0, 2)).toEqual(["response.created", "response.in_progress"]);
  expect(["response.completed", "response.incomplete"]).toContain(types.at(-1));
  expect(types.filter((t) => t === "response.completed" || t === "response.incomplete" || t === "response.failed")).toHaveLength(1);
  const seq = events.map((e) => e.sequence_number);
  seq.forEach((s, i) => {
    expect(Number.isInteger(s)).toBe(true);
    if (i > 0) expect(s).toBeGreaterThan(seq[i - 1]);
  });
  const count = (t: string) => types.filter((x) => x === t).length;
  // Items are streamed one at a time, as OpenAI streams them: each is closed before the next opens.
  let open: number | undefined;
  for (const e of events) {
    if (e.type === "response.output_item.added") {
      expect({ opening: e.output_index, stillOpen: open }).toEqual({ opening: e.output_index, stillOpen: undefined });
      open = e.output_index;
    } else if (e.type === "response.output_item.done") {
      expect(e.output_index).toBe(open);
      open = undefined;
    }
  }
  expect(count("response.output_item.added")).toBe(count("response.output_item.done"));
  expect(count("response.content_part.added")).toBe(count("response.content_part.done"));
  const texts = joinDeltas(events, "response.output_text.delta");
  for (const e of events) {
    if (e.type === "response.output_text.done") expect(e.text).toBe(texts.get(`${e.output_index}/${e.content_index}`) ?? "");
  }
  const args = joinDeltas(events, "response.function_call_arguments.delta");
  for (const e of events) {
    if (e.type === "response.function_call_arguments.done") expect(e.arguments).toBe(args.get(`${e.output_index}/0`) ?? "");
  }
  const last = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent | OpenAI.Responses.ResponseIncompleteEvent;
  const final = last.response;
  expect(final.status).toBe(last.type === "response.completed" ? "completed" : "incomplete");
  // Each item the stream closed is the final response's item at that index.
  for (const e of events) if (e.type === "response.output_item.done") expect(final.output[e.output_index]).toEqual(e.item);
  expect(final.output).toHaveLength(count("response.output_item.done"));
  return final;
}

/** The text of a response's message items (what the SDK's `output_text` joins). */
export const outputText = (r: OpenAI.Responses.Response) =>
  r.output
    .filter((i): i is OpenAI.Responses.ResponseOutputMessage => i.type === "message")
    .flatMap((m) => m.content)
    .map((c) => (c.type === "output_text" ? c.text : ""))
    .join("");

/** Fails unless the promise rejects with an error of `type` (an openai SDK error class); answers it. */
export async function rejection<T extends Error>(promise: Promise<unknown>, type: new (...args: any[]) => T): Promise<T> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

/** The fake chat upstream and a server in front of it (`demo` and `up`), started before a file's tests and closed after them. */
export interface ResponsesGateway {
  readonly upstream: FakeUpstream;
  readonly server: TestServer;
  readonly client: OpenAI;
}

export function responsesGatewayForFile(): ResponsesGateway {
  const gw = {} as { upstream: FakeUpstream; server: TestServer; client: OpenAI };
  beforeAll(async () => {
    gw.upstream = await startFakeChatUpstream();
    gw.server = await startResponsesServer(await responsesConfigDir(gw.upstream.url));
    gw.client = gw.server.client;
  });
  afterAll(async () => {
    await gw.server?.close();
    await gw.upstream?.close();
  });
  return gw;
}
