/**
 * The overlay's Anthropic* schemas (patches/002-anthropic-messages.yaml, in the extended spec)
 * compiled with ajv, to check what the anthropic surface sends (SSE bodies: ./sse-text.ts).
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { extendedSpec } from "../../src/spec/extended-spec.js";
import { parseSse, type SseEvent } from "./sse-text.js";

let ajv: Ajv2020 | undefined;

function validator(name: string): ValidateFunction {
  if (!ajv) {
    const all = extendedSpec().components.schemas as Record<string, unknown>;
    const mine = Object.fromEntries(Object.entries(all).filter(([n]) => n.startsWith("Anthropic")));
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: "anthropic.json", components: { schemas: mine } });
  }
  return ajv.getSchema(`anthropic.json#/components/schemas/${name}`)!;
}

/** `value` is valid against the named Anthropic schema (a failure shows ajv's errors). */
export function expectAnthropicValid(name: string, value: unknown): void {
  const validate = validator(name);
  expect(validate).toBeDefined();
  const ok = validate(value);
  expect({ name, valid: ok, errors: validate.errors ?? null }).toEqual({ name, valid: true, errors: null });
}

export { parseSse };
export type RawEvent = SseEvent;

/** Every event is a valid AnthropicStreamEvent named by its type, and the sequence is the documented one. */
export function expectValidEventSequence(events: RawEvent[]): void {
  for (const e of events) {
    expect(e.event).toBe(e.data.type);
    expectAnthropicValid("AnthropicStreamEvent", e.data);
  }
  const types = events.map((e) => e.data.type).filter((t) => t !== "ping");
  expect(types[0]).toBe("message_start");
  expect(types.at(-1)).toBe("message_stop");
  expect(types.at(-2)).toBe("message_delta");
  // Blocks open, take deltas and close in order, one at a time, with consecutive indexes.
  let open: number | undefined;
  let next = 0;
  for (const e of events.map((x) => x.data)) {
    if (e.type === "content_block_start") {
      expect(open).toBeUndefined();
      expect(e.index).toBe(next);
      open = next++;
    } else if (e.type === "content_block_delta") expect(e.index).toBe(open);
    else if (e.type === "content_block_stop") {
      expect(e.index).toBe(open);
      open = undefined;
    }
  }
  expect(open).toBeUndefined();
}
