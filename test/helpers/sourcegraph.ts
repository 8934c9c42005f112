/**
 * Sourcegraph's completions API as Cody clients call it: there is no SDK, so requests go out with
 * fetch exactly as the clients send them, and streams are parsed with eventsource-parser.
 */
import { parseSse, type SseEvent } from "./sse-text.js";

export type SgEvent = SseEvent;

export interface SgResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (a non-streaming 200). */
  json?: any;
  /** The events, when the answer was a stream. */
  events?: SgEvent[];
}

/** The legacy form (no api-version): the trailing empty assistant message marks where the answer goes. */
export const LEGACY_BODY = {
  messages: [{ speaker: "human", text: "What is your name?" }, { speaker: "assistant" }],
  maxTokensToSample: 30,
  temperature: 0,
  stopSequences: [],
  timeoutMs: 5000,
  stream: true,
};

/** The api-version=1 form: a system message, no trailing assistant message. */
export const V1_BODY = {
  messages: [
    { speaker: "system", text: "You only answer using emoji." },
    { speaker: "human", text: "What is your name?" },
  ],
  maxTokensToSample: 30,
  temperature: 0,
  stopSequences: [],
  timeoutMs: 5000,
  stream: true,
};

/** The same conversation as api-version >= 2 sends it: `content` parts instead of `text`. */
export const V2_BODY = {
  ...V1_BODY,
  messages: [
    { speaker: "system", content: [{ type: "text", text: "You only answer using emoji." }] },
    {
      speaker: "human",
      content: [
        { type: "text", text: "What is your " },
        { type: "text", text: "name?" },
      ],
    },
  ],
};

export const STREAM = "/.api/completions/stream";
export const CODE = "/.api/completions/code";

/** POSTs a body (with Cody's `Authorization: token` header unless told otherwise) and reads the whole answer. */
export async function sgPost(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<SgResponse> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "token sgp_local_test", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  const out: SgResponse = { status: res.status, headers: res.headers, text };
  if (res.status === 200 && type.startsWith("text/event-stream")) out.events = parseSse(text);
  else if (res.status === 200 && type.startsWith("application/json")) out.json = JSON.parse(text);
  return out;
}

/** The event names in order. */
export const names = (events: readonly SgEvent[]) => events.map((e) => e.event);

/**
 * A stream's checks shared by every backend: `completion` events then `done` `{}`; the last
 * completion carries `stopReason` and no other does. Answers the text: the last `completion` (up
 * to version 1, where each frame holds the text so far) or the `deltaText`s joined (from 2).
 */
export function expectCompletionStream(events: readonly SgEvent[], version: number): { text: string; stopReason: string } {
  const seq = names(events);
  expect(seq[seq.length - 1]).toBe("done");
  expect(events[events.length - 1].data).toEqual({});
  const completions = events.slice(0, -1);
  expect(completions.length).toBeGreaterThan(0);
  expect(new Set(names(completions))).toEqual(new Set(["completion"]));
  completions.forEach((e, i) => expect("stopReason" in e.data).toBe(i === completions.length - 1));
  const key = version >= 2 ? "deltaText" : "completion";
  const other = version >= 2 ? "completion" : "deltaText";
  for (const e of completions) {
    expect(typeof e.data[key]).toBe("string");
    expect(other in e.data).toBe(false);
  }
  if (version < 2) {
    // Accumulated: each frame's text begins with the one before.
    for (let i = 1; i < completions.length; i++) expect(completions[i].data.completion.startsWith(completions[i - 1].data.completion)).toBe(true);
  }
  const text = version >= 2 ? completions.map((e) => e.data.deltaText).join("") : completions[completions.length - 1].data.completion;
  return { text, stopReason: completions[completions.length - 1].data.stopReason };
}
