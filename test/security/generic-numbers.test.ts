/**
 * Huge, non-finite and odd numbers, sent as JSON text over a socket so that `1e400` (which
 * JSON.parse turns into Infinity), `-0` and 2^53+1 reach the server as written; NaN-like strings;
 * number tokens that are not JSON. Expectations: a bounded field out of range is a 400; an
 * unbounded one may be served (200) or refused (400), never a 500, a hang or a runaway generation.
 */
import {
  CHAT,
  COMPLETIONS,
  EMBEDDINGS,
  chatBody,
  completionBody,
  demoCategoryConfig,
  embeddingBody,
  hostileCategory,
  inGroup,
  paramNames,
  postCase,
  withValue,
  type HostileCase,
} from "./harness.js";

/** The number texts, in the column order of the table below. */
const VALUES = [
  "1e308",
  "-1e308",
  "1e400",
  "-1e400",
  "9007199254740993",
  "-9007199254740993",
  "-0",
  "1234567890123456789012345678901234567890",
  "5e-324",
] as const;

const BAD = 400;
const EITHER = [200, 400];
/** Fields whose range the spec bounds on both sides: only -0 and the denormal fit. */
const BOUNDED_NUMBER = [BAD, BAD, BAD, BAD, BAD, BAD, 200, BAD, 200];
/** Integers with a lower bound and a small upper one (or refused outright). */
const ALL_BAD = [BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD];
/** Integers bounded below only: large ones may be served or refused; -0 is 0. */
const OPEN_INTEGER = [EITHER, BAD, BAD, BAD, EITHER, BAD, 200, EITHER, BAD];

/** [path in the chat body, expected status per VALUES column]. */
const CHAT_ROWS: [(string | number)[], (number | number[])[]][] = [
  [["temperature"], BOUNDED_NUMBER],
  [["top_p"], BOUNDED_NUMBER],
  [["frequency_penalty"], BOUNDED_NUMBER],
  [["presence_penalty"], BOUNDED_NUMBER],
  // -0 is 0: issue 9 item 2 (max_tokens <= 0 must be a 400, never "no limit").
  [["max_tokens"], ALL_BAD],
  [["max_completion_tokens"], ALL_BAD],
  [["n"], ALL_BAD],
  // int64 bounds: 2^53+1 is inside them.
  [["seed"], [BAD, BAD, BAD, BAD, EITHER, EITHER, 200, BAD, BAD]],
  [["top_logprobs"], ALL_BAD],
  // OpenAI documents bias values from -100 to 100.
  [
    ["logit_bias", "1"],
    [BAD, BAD, BAD, BAD, BAD, BAD, 200, BAD, BAD],
  ],
  [["x-localai-extensions", "top_k"], OPEN_INTEGER],
  [["x-localai-extensions", "min_p"], BOUNDED_NUMBER],
  [["x-localai-extensions", "typical_p"], ALL_BAD],
  [
    ["x-localai-extensions", "repeat_penalty"],
    [EITHER, BAD, BAD, BAD, EITHER, BAD, 200, EITHER, 200],
  ],
  [["x-localai-extensions", "repeat_last_n"], OPEN_INTEGER],
  [["x-localai-extensions", "n_keep"], ALL_BAD],
  // mirostat 0 (and -0) is "off", the only value this backend takes.
  [
    ["x-localai-extensions", "mirostat"],
    [BAD, BAD, BAD, BAD, BAD, BAD, 200, BAD, BAD],
  ],
  [["x-localai-extensions", "mirostat_tau"], ALL_BAD],
];

const MARK = "__NUMBER__";

/** The JSON text of `base` with the number text `value` at `at`. */
function jsonWith(base: Record<string, unknown>, at: (string | number)[], value: string): string {
  return JSON.stringify(withValue(base, at, MARK)).replace(`"${MARK}"`, value);
}

const label = (at: (string | number)[]) => at.join(".");

function chatNumberCases(): HostileCase[] {
  return CHAT_ROWS.flatMap(([at, statuses]) => {
    const base = at[0] === "max_completion_tokens" ? withValue(chatBody(), ["max_tokens"], undefined) : chatBody();
    return VALUES.map((value, i) =>
      postCase(`chat: ${label(at)} = ${value}`, CHAT, jsonWith(base, at, value), statuses[i], {
        // A huge max_tokens may fairly be a context_length_exceeded naming `messages`.
        check: String(at[0]).startsWith("max_")
          ? undefined
          : (a) => (a.status === 400 ? paramNames(at[0] === "logit_bias" ? "logit_bias" : label(at))(a) : undefined),
      }),
    );
  });
}

const OTHER_ROWS: HostileCase[] = [
  ...["1e308", "1e400", "-1e308", "9007199254740993", "-0"].map((v) =>
    postCase(`completions: max_tokens = ${v}`, COMPLETIONS, jsonWith(completionBody(), ["max_tokens"], v), 400),
  ),
  ...["1e308", "1e400", "9007199254740993", "-0"].map((v) =>
    postCase(`completions: n = ${v}`, COMPLETIONS, jsonWith(completionBody(), ["n"], v), 400, { check: paramNames("n") }),
  ),
  ...["1e308", "1e400", "9007199254740993"].map((v) =>
    postCase(`completions: best_of = ${v}`, COMPLETIONS, jsonWith(completionBody(), ["best_of"], v), 400, { check: paramNames("best_of") }),
  ),
  ...["1e308", "1e400", "9007199254740993"].map((v) =>
    postCase(`completions: logprobs = ${v}`, COMPLETIONS, jsonWith(completionBody(), ["logprobs"], v), 400, { check: paramNames("logprobs") }),
  ),
  ...["1e308", "1e400", "-1", "9007199254740993", "4294967297", "0.5"].map((v) =>
    postCase(`completions: prompt token id ${v}`, COMPLETIONS, jsonWith(completionBody(), ["prompt", 0], v), 400, { check: paramNames("prompt") }),
  ),
  postCase("completions: prompt token id -0 (token 0)", COMPLETIONS, jsonWith(completionBody(), ["prompt", 0], "-0"), 200),
  ...["1e308", "1e400", "-1", "9007199254740993", "4294967297"].map((v) =>
    postCase(`embeddings: input token id ${v}`, EMBEDDINGS, jsonWith(embeddingBody(), ["input", 0], v), 400, { check: paramNames("input") }),
  ),
  postCase("embeddings: input token id -0 (token 0)", EMBEDDINGS, jsonWith(embeddingBody(), ["input", 0], "-0"), 200),
  postCase("chat: temperature = 1e400 is named for what it is", CHAT, jsonWith(chatBody(), ["temperature"], "1e400"), 400, {
    check: (a) => expect(JSON.parse(a.body).error.message).toBe("Invalid type for 'temperature': expected number, but got a number too large to represent."),
  }),
  ...["1e308", "1e400", "-1e308", "9007199254740993", "-0"].map((v) =>
    postCase(`embeddings: dimensions = ${v}`, EMBEDDINGS, jsonWith(embeddingBody(), ["dimensions"], v), 400, { check: paramNames("dimensions") }),
  ),
];

/** Strings that look like numbers to a lax parser (parseFloat, Number()): never coerced. */
const NAN_LIKE = ["NaN", "Infinity", "-Infinity", "1e400", "0x10", " 1", "1_000", "", "null", "２"];
const NAN_LIKE_CASES: HostileCase[] = [
  ...NAN_LIKE.map((s) => postCase(`chat: temperature = ${JSON.stringify(s)}`, CHAT, chatBody({ temperature: s }), 400, { check: paramNames("temperature") })),
  ...NAN_LIKE.map((s) => postCase(`chat: max_tokens = ${JSON.stringify(s)}`, CHAT, chatBody({ max_tokens: s }), 400, { check: paramNames("max_tokens") })),
  ...["NaN", "1e400", "0x10"].map((s) =>
    postCase(`chat: logit_bias value ${JSON.stringify(s)}`, CHAT, chatBody({ logit_bias: { 1: s } }), 400, { check: paramNames("logit_bias") }),
  ),
  ...["NaN", "Infinity"].map((s) =>
    postCase(`chat: x-localai-extensions.top_k = ${JSON.stringify(s)}`, CHAT, chatBody({ "x-localai-extensions": { top_k: s } }), 400, {
      check: paramNames("x-localai-extensions.top_k"),
    }),
  ),
  ...["NaN", "1e400"].map((s) =>
    postCase(`completions: prompt token ${JSON.stringify(s)} in an id list`, COMPLETIONS, completionBody({ prompt: [1, s] }), 400, {
      check: paramNames("prompt"),
    }),
  ),
];

/** Number tokens JSON does not have: a 400 invalid_json, not a lax parse. */
const NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "+1", "01", ".5", "1.", "0x10", "1e", "--1", "1_0"];
const NOT_JSON_CASES = NOT_JSON_NUMBERS.map((v) =>
  postCase(`chat: temperature = ${v} (not a JSON number)`, CHAT, jsonWith(chatBody(), ["temperature"], v), 400, { code: "invalid_json" }),
);

const setup = async () => ({ configDir: await demoCategoryConfig() });

hostileCategory("generic: huge numbers, NaN-like strings, non-JSON number tokens", setup, [
  ...inGroup("huge", [...chatNumberCases(), ...OTHER_ROWS]),
  ...inGroup("NaN-like", [...NAN_LIKE_CASES, ...NOT_JSON_CASES]),
]);
