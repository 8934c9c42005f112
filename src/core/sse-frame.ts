/**
 * One server-sent event as a protocol surface produces it: an optional event name (Anthropic's
 * `message_start`, Sourcegraph's `completion`) and its data. OpenAI's frames have no name.
 */
import { SerializedJson } from "./serialized-json.js";

export interface SseFrame {
  readonly event?: string;
  /** A string is written as it is, a SerializedJson as its `.json`, anything else as JSON.stringify writes it. */
  readonly data: unknown;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * What an event name taken from an upstream may be before it is relayed as the client's `event:`
 * line: the names of Anthropic's and OpenAI's Responses events, and nothing that could end the line.
 */
const RELAYABLE_EVENT_NAME = /^[A-Za-z0-9_.]{1,128}$/;

export const isRelayableEventName = (name: string): boolean => RELAYABLE_EVENT_NAME.test(name);

/**
 * `data:` lines for the text. A line break inside one `data:` line would end it early (and a
 * blank line would end the event), so multi-line text becomes one `data:` line per line, which
 * a client joins back with "\n" (the SSE rule). JSON.stringify never writes a line break, and
 * relayed chunks have none (serialized-json.ts): the check is two native scans of short text.
 */
function dataLines(text: string): string {
  if (text.indexOf("\n") < 0 && text.indexOf("\r") < 0) return `data: ${text}\n`;
  let lines = "";
  for (const line of text.split(LINE_BREAK)) lines += `data: ${line}\n`;
  return lines;
}

/** The frame as it goes on the wire: `event: name` (when named), its `data:` lines, a blank line. */
export function sseFrameText(frame: SseFrame): string {
  const data = frame.data;
  const text = typeof data === "string" ? data : data instanceof SerializedJson ? data.json : JSON.stringify(data);
  if (frame.event === undefined) return `${dataLines(text)}\n`;
  return `event: ${eventName(frame.event)}\n${dataLines(text)}\n`;
}

/** Event names are a surface's constants; one with a line break would forge fields, so it is refused. */
function eventName(name: string): string {
  if (name.indexOf("\n") >= 0 || name.indexOf("\r") >= 0) throw new TypeError(`An SSE event name must be one line: ${JSON.stringify(name)}`);
  return name;
}
