/** A whole server-sent-events body read with eventsource-parser, as the tests check it. */
import { createParser } from "eventsource-parser";

export interface SseEvent {
  /** The event's name (`message` when the frame names none, as the SSE spec says). */
  event: string;
  /** Its data, parsed as JSON. */
  data: any;
}

export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? "message", data: JSON.parse(e.data) }) });
  parser.feed(text);
  return events;
}
