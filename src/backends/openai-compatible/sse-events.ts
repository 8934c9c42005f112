/**
 * Reads any spec-valid event stream (CRLF or CR line ends, comments, multi-line `data`, no space
 * after the colon, `event:`/`id:`/`retry:` fields, chunks split anywhere, even inside a UTF-8
 * character) into events, with eventsource-parser and a streaming TextDecoder.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** One event larger than this (or than max_response_bytes) is a broken upstream, not a reason to exhaust memory. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

export class SseOverflowError extends Error {
  constructor() {
    super("event stream buffer limit exceeded");
  }
}

/**
 * The events of `body`, pulled one network read at a time: nothing is read from the upstream
 * while the consumer is not asking, so a slow client holds the upstream back instead of filling memory.
 */
export async function* sseEvents(body: AsyncIterable<Uint8Array>, maxEventBytes: number, onText?: (text: string) => void): AsyncGenerator<EventSourceMessage> {
  const queue: EventSourceMessage[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: (event) => void queue.push(event),
    onError: (err) => {
      // Unknown fields and bad `retry:` values are ignored, as the spec says; only overflow is fatal.
      if (err.type === "max-buffer-size-exceeded") overflow = true;
    },
    maxBufferSize: Math.min(MAX_EVENT_BYTES, maxEventBytes),
  });
  const decoder = new TextDecoder();
  for await (const bytes of body) {
    const text = decoder.decode(bytes, { stream: true });
    onText?.(text);
    parser.feed(text);
    if (overflow) throw new SseOverflowError();
    for (let i = 0; i < queue.length; i++) yield queue[i];
    queue.length = 0;
  }
  // The spec drops a last event that lacks its blank line; we take it (some servers end on
  // `data: [DONE]\n`). A line cut in half still fails later, as JSON that does not parse.
  parser.feed(decoder.decode() + "\n\n");
  yield* queue;
}
