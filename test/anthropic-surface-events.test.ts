/**
 * The anthropic surface's stream of events as a unit: pings while the backend is quiet, a timer
 * that stops with the stream, errors passed on, and the event sequence for text and tool calls.
 */
import type { SseFrame } from "../src/core/sse-frame.js";
import { messageFrames } from "../src/surfaces/anthropic/event-stream.js";
import { MessageEvents } from "../src/surfaces/anthropic/message-events.js";
import { expectAnthropicValid } from "./helpers/anthropic-schemas.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ choices: [{ index: 0, delta, finish_reason: finish }] });

async function* slowChunks(waitMs: number, fail = false): AsyncIterable<unknown> {
  yield chunk({ role: "assistant", content: "" });
  await sleep(waitMs);
  if (fail) throw new Error("backend broke");
  yield chunk({ content: "Hi" });
  yield chunk({}, "stop");
  yield { choices: [], usage: { prompt_tokens: 4, completion_tokens: 1 } };
}

async function collect(frames: AsyncIterable<SseFrame>): Promise<SseFrame[]> {
  const out: SseFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

describe("the anthropic surface's event stream", () => {
  it("pings while the backend is quiet, then ends with message_delta and message_stop", async () => {
    const frames = await collect(messageFrames(slowChunks(130), new MessageEvents("m", undefined), 25));
    const names = frames.map((f) => f.event);
    for (const f of frames) expectAnthropicValid("AnthropicStreamEvent", f.data);
    expect(names[0]).toBe("message_start");
    const pings = names.filter((n) => n === "ping").length;
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(pings).toBeLessThanOrEqual(6);
    expect(names.filter((n) => n !== "ping")).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(frames.find((f) => f.event === "message_delta")!.data).toMatchObject({
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { input_tokens: 4, output_tokens: 1 },
    });
  });

  it("sends no ping when the backend keeps talking, and none after the end", async () => {
    const frames = messageFrames(slowChunks(0), new MessageEvents("m", undefined), 40);
    const names = (await collect(frames)).map((f) => f.event);
    expect(names).not.toContain("ping");
    await sleep(100); // a timer left running would have nothing to wake; the test would also not end
  });

  it("passes a backend failure on to the SSE writer (which makes it the in-band error)", async () => {
    const frames = messageFrames(slowChunks(60, true), new MessageEvents("m", undefined), 20);
    await expect(collect(frames)).rejects.toThrow("backend broke");
  });
});
