/**
 * Issue 9 items 12, 13 and 14 on the llama-cpp backend: names a client sends are looked up in own
 * entries only (`tool_choice` naming `toString` found Object.prototype's and forced a call to it),
 * a function name node-llama-cpp cannot call is a 400 naming it (it was a 500), and `tool_choice`
 * asking for a call without tools is a 400.
 */
import { CHAT, chatBody, demoCategoryConfig, hostileCategory, paramNames, postCase, type Answer, type HostileCase } from "./harness.js";

const fn = (name: unknown) => ({
  type: "function",
  function: { name, parameters: { type: "object", properties: { city: { type: "string", maxLength: 4 } } } },
});
const named = (name: string) => ({ type: "function", function: { name } });
const refused = (name: string, body: unknown, param: string): HostileCase => postCase(name, CHAT, body, 400, { check: paramNames(param) });

/** The answer's tool calls all name `name`. */
const callsOnly = (name: string) => (a: Answer) => {
  const calls = JSON.parse(a.body).choices[0].message.tool_calls ?? [];
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) expect(call.function.name).toBe(name);
};

const cases: HostileCase[] = [
  // Inherited names: each was found on Object.prototype before.
  ...["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"].map((name) =>
    refused(`tool_choice names '${name}', which is not a tool`, chatBody({ tools: [fn("get_weather")], tool_choice: named(name) }), "tool_choice"),
  ),
  refused("tool_choice 'required' without tools", chatBody({ tool_choice: "required" }), "tool_choice"),
  refused("tool_choice 'required' with an empty tools list", chatBody({ tools: [], tool_choice: "required" }), "tool_choice"),
  refused("a named tool_choice without tools", chatBody({ tool_choice: named("get_weather") }), "tool_choice"),
  refused("a function name with a space", chatBody({ tools: [fn("get weather")] }), "tools[0].function.name"),
  refused("a function name with a newline", chatBody({ tools: [fn("ok"), fn("get\nweather")] }), "tools[1].function.name"),
  refused("a 65-character function name", chatBody({ tools: [fn("f".repeat(65))] }), "tools[0].function.name"),
  refused("an empty function name", chatBody({ tools: [fn("")] }), "tools[0].function.name"),
  refused("a function name with a dot", chatBody({ tools: [fn("a.b")] }), "tools[0].function.name"),
  refused("two tools with one name", chatBody({ tools: [fn("twice"), fn("twice")] }), "tools[1].function.name"),
  refused("logit_bias key ' 1' (not a plain token id)", chatBody({ logit_bias: { " 1": 5 } }), "logit_bias"),
  refused("logit_bias key '0x1'", chatBody({ logit_bias: { "0x1": 5 } }), "logit_bias"),
  refused("logit_bias key 'toString'", chatBody({ logit_bias: { toString: 5 } }), "logit_bias"),
  // A tool that really has an inherited name is called by that name.
  ...["constructor", "toString"].map((name) =>
    postCase(
      `a tool named '${name}' is called when tool_choice names it`,
      CHAT,
      chatBody({ max_tokens: 120, tools: [fn(name), fn("other")], tool_choice: named(name), parallel_tool_calls: false }),
      200,
      {
        check: callsOnly(name),
      },
    ),
  ),
];

hostileCategory("llama-cpp: tool names and tool_choice", async () => ({ configDir: await demoCategoryConfig() }), cases);
