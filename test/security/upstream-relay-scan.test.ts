/**
 * The one-scan relay of upstream chunks (serialized-json.ts): what it relays without parsing must be
 * what a parse would have relayed. An error payload spelled with escapes, or a second top-level
 * `model` (a parser takes the last one), goes to the full parse instead.
 */
import { relayUnparsed, UnparsedRelay } from "../../src/core/serialized-json.js";

describe("relayUnparsed: never relays what a parse would read differently", () => {
  it.each([
    ['{"model":"up","\\u0065rror":{"message":"boom"}}', "an error key written with an escape"],
    ['{"model":"up","object":"\\u0065rror","message":"boom"}', "object: error written with an escape"],
    ['{"model":"up","choices":[],"model":"leaked-upstream-name"}', "a second top-level model"],
    ['{"model":"up","choices":[{"delta":{"content":"x\ny"}}]}', "a raw line break inside a string"],
    ['{"model":"up","choices":[{"delta":{"content":"x\ry"}}]}', "a raw carriage return inside a string"],
    ['{"model":"up","note":"unterminated}', "an unterminated string"],
  ])("leaves %s to the full parse (%s)", (text) => {
    expect(relayUnparsed(text, "mine", 128)).toBeUndefined();
  });

  it("relays the common chunk, content escapes and compact or spaced JSON alike", () => {
    const spaced = '{"id": "c", "model": "up", "choices": [{"delta": {"content": "a\\"b\\\\n"}, "finish_reason": null}]}';
    expect(JSON.parse(relayUnparsed(spaced, "mine", 128)!.json)).toEqual({ ...JSON.parse(spaced), model: "mine" });
  });

  it("notes a set finish_reason (the stream's completeness check), not a null one", () => {
    const relay = new UnparsedRelay("mine", 128);
    relay.relay('{"model":"up","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}');
    expect(relay.sawFinish).toBe(false);
    relay.relay('{"model":"up","choices":[{"index":0,"delta":{},"finish_reason" : "stop"}]}');
    expect(relay.sawFinish).toBe(true);
  });

  it("checks the rest of a chunk that begins like the last one (the resumed scan)", () => {
    const relay = new UnparsedRelay("mine", 8);
    const head = '{"id":"c","object":"chat.completion.chunk","model":"up"';
    expect(relay.relay(`${head},"choices":[{"delta":{"content":"a"}}]}`)).toBeDefined();
    for (const rest of [',"error":{"message":"boom"}}', ',"model":"leaked"}', ',"x":"a\nb"}', ',"\\u0065rror":1}', `,"x":${"[".repeat(9)}${"]".repeat(9)}}`]) {
      expect(relay.relay(head + rest)).toBeUndefined();
    }
    const out = relay.relay(`${head},"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}`);
    expect(JSON.parse(out!.json)).toMatchObject({ model: "mine", choices: [{ finish_reason: "stop" }] });
    expect(relay.sawFinish).toBe(true);
  });
});
