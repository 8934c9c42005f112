/**
 * Reads any spec-valid event stream (CRLF or CR line ends, comments, multi-line `data`, no space
 * after the colon, `event:`/`id:`/`retry:` fields, chunks split anywhere, even inside a UTF-8
 * character) into events, with eventsource-parser and a StringDecoder.
 */
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { batchesOf } from "../../core/async-queue.js";

/** One event larger than this (or than max_response_bytes) is a broken upstream, not a reason to exhaust memory. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

export class SseOverflowError extends Error {
  constructor() {
    super("event stream buffer limit exceeded");
  }
}

/**
 * The events of `body`, one batch per batch of network reads (those that complete no event yield nothing):
 * nothing is read from the upstream while the consumer is not asking, so a slow client holds the
 * upstream back instead of filling memory.
 */
export async function* sseEvents(
  body: AsyncIterable<Uint8Array>,
  maxEventBytes: number,
  onText?: (text: string) => void,
): AsyncGenerator<EventSourceMessage[]> {
  let batch: EventSourceMessage[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: (event) => void batch.push(event),
    onError: (err) => {
      // Unknown fields and bad `retry:` values are ignored, as the spec says; only overflow is fatal.
      if (err.type === "max-buffer-size-exceeded") overflow = true;
    },
    maxBufferSize: Math.min(MAX_EVENT_BYTES, maxEventBytes),
  });
  // Not TextDecoder: on Node 20 it makes an ICU converter per stream and decodes through it, several
  // times the cost of V8's own UTF-8 decoding, which StringDecoder uses (keeping a character split
  // between reads for the next one).
  const decoder = new StringDecoder("utf8");
  let first = true;
  const reads = batchesOf(body);
  try {
    for (let step = await reads.next(); !step.done; step = await reads.next()) {
      for (const bytes of step.value) {
        let text = decoder.write(bytes as Buffer);
        if (first && text !== "") {
          // The stream's byte order mark is not part of its text (TextDecoder's default; the SSE spec).
          first = false;
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        onText?.(text);
        parser.feed(text);
        if (overflow) throw new SseOverflowError();
      }
      if (batch.length === 0) continue;
      const events = batch;
      batch = [];
      yield events;
    }
  } finally {
    // Stopped early (the consumer returned, or an error): the body is released (connection dropped).
    await reads.return?.();
  }
  // The spec drops a last event that lacks its blank line; we take it (some servers end on
  // `data: [DONE]\n`). A line cut in half still fails later, as JSON that does not parse.
  parser.feed(decoder.end() + "\n\n");
  if (batch.length > 0) yield batch;
}
