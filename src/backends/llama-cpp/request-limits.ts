/**
 * Bounds on what a client can make the embedded llama.cpp engine do before a single token is
 * generated. Grammars and JSON schemas end in llama.cpp's native grammar code, which parses
 * recursively (deep nesting overflows the native stack and kills the process) and matches by
 * expanding every way a grammar can go on (an ambiguous grammar costs seconds per character, on
 * the main thread). Tokenizing and templating run on the main thread too. Every limit here is
 * checked in O(size of the input) before any of that work starts, and going over one is a 400
 * naming the limit and the `UNDERSTUDY_*` setting that raises it (read once, at start).
 */
import { envLimit } from "../../core/env-limit.js";

export const GRAMMAR_LIMITS = {
  /** A GBNF grammar's size in UTF-8 bytes. Real grammars are a few KB. */
  bytes: envLimit("UNDERSTUDY_GRAMMAR_MAX_BYTES", 64 * 1024),
  /** Nesting of `( )` groups: llama.cpp parses groups recursively (20,000 levels overflow its stack). */
  depth: envLimit("UNDERSTUDY_GRAMMAR_MAX_DEPTH", 64),
  /**
   * Elements after llama.cpp's own rewriting: every terminal, rule reference and rule, with
   * repetitions (`x{m,n}`, `*`, `+`, `?`) expanded the way llama.cpp expands them.
   */
  elements: envLimit("UNDERSTUDY_GRAMMAR_MAX_ELEMENTS", 16 * 1024),
  /** Ways the grammar can go on from one point (llama.cpp keeps one parse stack for each). */
  alternatives: envLimit("UNDERSTUDY_GRAMMAR_MAX_ALTERNATIVES", 1024),
  /**
   * Ambiguity: the ways one point can be reached by skipping optional items, and the ratio of
   * the work of one matching step to the alternatives limit. llama.cpp's matcher redoes that work
   * for every parse stack at every character, so it grows with the square of the ambiguity.
   */
  ambiguity: envLimit("UNDERSTUDY_GRAMMAR_MAX_AMBIGUITY", 64),
} as const;

export const SCHEMA_LIMITS = {
  /** A JSON schema's size as JSON text (response_format and each tool's parameters). */
  bytes: envLimit("UNDERSTUDY_SCHEMA_MAX_BYTES", 64 * 1024),
  /** Nesting of subschemas (properties, items, oneOf, $defs...). */
  depth: envLimit("UNDERSTUDY_SCHEMA_MAX_DEPTH", 32),
  /** `enum` values and `const`s over the whole schema: each is one grammar alternative. */
  enumValues: envLimit("UNDERSTUDY_SCHEMA_MAX_ENUM_VALUES", 1024),
  /** Object properties over the whole schema. */
  properties: envLimit("UNDERSTUDY_SCHEMA_MAX_PROPERTIES", 1024),
  /**
   * minLength/maxLength/minItems/maxItems/minProperties/maxProperties summed over the schema:
   * llama.cpp writes a bound of n as n grammar rules (values over 2000 count as 2000: llama.cpp
   * leaves larger maxima unbounded).
   */
  repetitions: envLimit("UNDERSTUDY_SCHEMA_MAX_REPETITIONS", 8 * 1024),
  /**
   * Ways a value can be matched through anyOf/oneOf branches, multiplied through $refs
   * (schema-ambiguity.ts): llama.cpp keeps a parse stack for each and does the work of every one
   * at every character. With the demo model a whole 33-token request took ~15 ms at 4,096 ways
   * (the same as 256), ~25 ms at 65,536, ~100 ms at 2^20 and hangs at 2^30; the default keeps
   * that work unmeasurable, with room for a real model's larger vocabulary. Ordinary schemas (an
   * anyOf of a few object types, a 1,000-value enum) count a few to a thousand ways.
   */
  ambiguity: envLimit("UNDERSTUDY_SCHEMA_MAX_AMBIGUITY", 4096),
} as const;

/** llama.cpp refuses a repetition count above this (MAX_REPETITION_THRESHOLD) and makes a larger maximum unbounded. */
export const LLAMA_MAX_REPETITION = 2000;

/** At most this many prompts x n choices in one completions request: each holds the slot for a whole generation. */
export const MAX_COMPLETION_CHOICES = envLimit("UNDERSTUDY_MAX_COMPLETION_CHOICES", 64);
