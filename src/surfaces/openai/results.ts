/** Backend results as OpenAI responses: the body as it is, each chunk one `data:` frame. */
import type { DebugEcho, InferenceResult } from "../../handlers/inference.js";
import type { HandlerResult } from "../../handlers/types.js";
import type { SseFrame } from "../../core/sse-frame.js";
import { jsonObjectOf } from "../../core/serialized-json.js";
import { mapBatches } from "../map-batches.js";

type Body = Record<string, unknown>;

/** The body with the debug echo (`x-localai-debug`) added. */
const withEcho = (body: unknown, echo: DebugEcho): Body => ({
  ...jsonObjectOf(body),
  "x-localai-debug": echo,
});

function dataFrames(batch: readonly unknown[]): SseFrame[] {
  const frames = new Array<SseFrame>(batch.length);
  for (let i = 0; i < batch.length; i++) frames[i] = { data: batch[i] };
  return frames;
}

/** The chunks' frames; with a debug echo, the first chunk carries it. */
function chunkFrames(chunks: AsyncIterable<unknown>, echo: DebugEcho | undefined): AsyncIterable<SseFrame> {
  if (echo === undefined) return mapBatches(chunks, dataFrames);
  let first = true;
  return mapBatches(chunks, (batch) => {
    const frames = dataFrames(batch);
    if (first) frames[0] = { data: withEcho(batch[0], echo) };
    first = false;
    return frames;
  });
}

export function openAiResult(result: InferenceResult): HandlerResult {
  if (result.kind === "stream") {
    return { kind: "stream", frames: chunkFrames(result.chunks, result.debug), headers: result.headers, onEnd: result.onEnd };
  }
  return { kind: "json", body: result.debug ? withEcho(result.body, result.debug) : result.body, headers: result.headers };
}
