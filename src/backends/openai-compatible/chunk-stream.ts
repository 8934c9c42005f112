/**
 * Upstream SSE events -> OpenAI chunk objects with the client's model name. The first chunk is read
 * before the stream is handed to the SSE writer, so everything up to it can still fail over or
 * become a proper HTTP error; after it, failures surface as the writer's in-band error frame.
 * Never a silent success: an error payload, `event: error`, a broken connection or a stream that
 * ends without `[DONE]` or a `finish_reason` all end the client's stream with an error.
 */
import { jsonNestsDeeperThan } from "../../core/json-depth.js";
import type { EventSourceMessage } from "eventsource-parser";
import { ApiError, UpstreamError } from "../../core/errors.js";
import { batched, type Batched } from "../../core/async-queue.js";
import { UnparsedRelay, withModel, type SerializedJson } from "../../core/serialized-json.js";
import { MAX_UPSTREAM_JSON_DEPTH, tooDeep } from "./response-limits.js";
import { errorInfoFromPayload, isErrorPayload, parseErrorBody, RetryableFailure, streamPayloadError } from "./upstream-errors.js";

type Json = Record<string, unknown>;
type Chunk = SerializedJson;
const DONE = Symbol("done");
/** Events read after [DONE] to keep the connection reusable, before giving up on it. */
const MAX_EVENTS_AFTER_DONE = 16;

export interface ChunkStreamHooks {
  providerId: string;
  requestedModel: string;
  redact(text: string): string;
  /** Maps a transport error (drop, idle timeout, client abort) to what the client should see. */
  failure(err: unknown): Error;
  /** Called once when the stream is over, however it ended. */
  finish(outcome: string): void;
}

/**
 * Works a network read at a time: the events of one read become one batch of chunks, so the layers
 * between the upstream's socket and the client's await once per read, not once per event.
 */
export class ChunkStream {
  private sawFinish = false;
  private sawDone = false;
  /** Events that followed [DONE] in its own read (they count towards MAX_EVENTS_AFTER_DONE). */
  private afterDone = 0;
  private first: Chunk[] | undefined;
  /** An event that failed after others of its read became chunks: thrown once those are relayed. */
  private deferred?: { error: unknown };
  private readonly relayer: UnparsedRelay;

  constructor(
    private readonly events: AsyncIterator<EventSourceMessage[]>,
    private readonly hooks: ChunkStreamHooks,
  ) {
    this.relayer = new UnparsedRelay(hooks.requestedModel, MAX_UPSTREAM_JSON_DEPTH);
  }

  /** Reads up to the first chunk. Transport trouble or an empty stream here is retryable. */
  async open(): Promise<void> {
    try {
      this.first = await this.nextChunks();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      const mapped = this.hooks.failure(err);
      throw mapped instanceof ApiError ? new RetryableFailure(mapped, true) : mapped;
    }
    if (this.first === undefined && !this.sawDone) {
      throw new RetryableFailure(new UpstreamError(502, `${this.hooks.providerId}: the upstream closed the stream without sending anything`), true);
    }
  }

  /** Releases the upstream connection without reading on (the attempt failed or was abandoned). */
  async abandon(): Promise<void> {
    await this.events.return?.(undefined);
  }

  /** The chunks, the first one included, in batches (or one by one). Read it once. */
  relay(): Batched<Chunk> {
    return batched(() => this.batches());
  }

  private async *batches(): AsyncGenerator<Chunk[]> {
    let outcome = "client stopped reading";
    try {
      if (this.first !== undefined) yield this.first;
      this.first = undefined;
      for (let chunks = await this.read(); chunks !== undefined; chunks = await this.read()) yield chunks;
      if (!this.sawDone && !this.sawFinish && !this.relayer.sawFinish) {
        throw new UpstreamError(502, `${this.hooks.providerId}: the upstream stream ended before the response was complete`, "upstream_stream_truncated");
      }
      outcome = "complete";
    } catch (err) {
      outcome = `error: ${(err as Error).message}`;
      throw err;
    } finally {
      if (this.sawDone) {
        // Reading to the end of the body (normally just the chunked terminator) keeps the
        // connection reusable; it happens in the background so the client's [DONE] is not delayed.
        void this.drain().then(() => this.hooks.finish(outcome));
      } else {
        await this.events.return?.(undefined);
        this.hooks.finish(outcome);
      }
    }
  }

  /** Normally nothing follows [DONE]; an upstream that keeps sending events loses its connection instead. */
  private async drain(): Promise<void> {
    try {
      let events = this.afterDone;
      for (;;) {
        if (events > MAX_EVENTS_AFTER_DONE) return void (await this.events.return?.(undefined));
        const step = await this.events.next();
        if (step.done) return;
        events += step.value.length;
      }
    } catch {
      // The connection failed after [DONE]: nothing the client needs to hear about.
    }
  }

  private async read(): Promise<Chunk[] | undefined> {
    try {
      return await this.nextChunks();
    } catch (err) {
      throw err instanceof ApiError ? err : this.hooks.failure(err);
    }
  }

  /** The chunks of the next read that has any, or undefined at `[DONE]` / end of stream. Error payloads throw. */
  private async nextChunks(): Promise<Chunk[] | undefined> {
    if (this.deferred) throw this.deferred.error;
    while (!this.sawDone) {
      const step = await this.events.next();
      if (step.done) return undefined;
      const chunks = this.toChunks(step.value);
      if (chunks.length > 0) return chunks;
    }
    return undefined;
  }

  /** One read's events as chunks, up to [DONE] or a failing event (thrown now if no chunk precedes it). */
  private toChunks(events: EventSourceMessage[]): Chunk[] {
    const chunks: Chunk[] = [];
    for (let i = 0; i < events.length; i++) {
      let chunk: Chunk | typeof DONE | undefined;
      try {
        chunk = this.toChunk(events[i]);
      } catch (error) {
        if (chunks.length === 0) throw error;
        this.deferred = { error };
        return chunks;
      }
      if (chunk === DONE) {
        this.sawDone = true;
        this.afterDone = events.length - i - 1;
        return chunks;
      }
      if (chunk) chunks.push(chunk);
    }
    return chunks;
  }

  private toChunk(event: EventSourceMessage): Chunk | typeof DONE | undefined {
    const { providerId } = this.hooks;
    if (event.event === "error") throw streamPayloadError(providerId, parseErrorBody(event.data, 502, this.hooks.redact));
    // Named events other than `message` are not OpenAI chunks (e.g. keep-alive pings): skipped.
    if (event.event !== undefined && event.event !== "message") return undefined;
    const data = event.data;
    if (data === "[DONE]") return DONE;
    const relayed = this.relayer.relay(data);
    if (relayed) return relayed;
    // Before the parse: the chunk is serialized again, and JSON.stringify recurses.
    if (jsonNestsDeeperThan(data, MAX_UPSTREAM_JSON_DEPTH)) throw tooDeep(providerId);
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch {
      throw new UpstreamError(502, `${providerId}: the upstream sent an event that is not JSON`, "upstream_protocol_error");
    }
    if (typeof chunk !== "object" || chunk === null) {
      throw new UpstreamError(502, `${providerId}: the upstream sent an event that is not a JSON object`, "upstream_protocol_error");
    }
    if (isErrorPayload(chunk)) throw streamPayloadError(providerId, errorInfoFromPayload(chunk, this.hooks.redact));
    if (!this.sawFinish) this.noteFinish(chunk);
    return withModel(data, chunk, this.hooks.requestedModel);
  }

  private noteFinish(chunk: Json): void {
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices) if (c && (c as Json).finish_reason) this.sawFinish = true;
  }
}
