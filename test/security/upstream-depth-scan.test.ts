/** The depth scan run on upstream JSON before anything recursive touches it (issue 9, item 12). */
import { relayUnparsed } from "../../src/core/serialized-json.js";
import { jsonNestsDeeperThan } from "../../src/core/json-depth.js";

const nest = (depth: number, inner = "1") => "[".repeat(depth) + inner + "]".repeat(depth);

describe("jsonNestsDeeperThan", () => {
  it.each([
    [nest(128), 128, false],
    [nest(129), 128, true],
    [`{"a":${nest(127)}}`, 128, false],
    [`{"a":${nest(128)}}`, 128, true],
    [nest(100_000), 128, true],
  ])("counts nesting (%#)", (text, max, expected) => {
    expect(jsonNestsDeeperThan(text, max)).toBe(expected);
  });

  it("ignores brackets inside strings, escaped quotes and backslashes included", () => {
    const brackets = "[".repeat(300);
    expect(jsonNestsDeeperThan(JSON.stringify({ s: brackets, t: `\\"${brackets}`, u: `\\\\${brackets}` }), 2)).toBe(false);
    // An escaped backslash ends the string: the brackets after it count.
    expect(jsonNestsDeeperThan(`{"s":"\\\\",${"[".repeat(300)}"x":1}`, 128)).toBe(true);
  });

  it("keeps the common relayed chunk on the fast path, and leaves a deep one to the parse", () => {
    expect(relayUnparsed('{"id":"c","model":"up","choices":[{"delta":{"content":"x"}}]}', "mine", 128)).toBeDefined();
    expect(relayUnparsed(`{"id":"c","model":"up","x":${nest(200)}}`, "mine", 128)).toBeUndefined();
  });
});
