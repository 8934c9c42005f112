/**
 * A response or stream event that is already JSON text: a gateway relaying an upstream's answer
 * need not parse and re-serialize it to change one field. The JSON and SSE writers write `json` as it is.
 */
export class SerializedJson {
  constructor(readonly json: string) {}

  toObject(): Record<string, unknown> {
    return JSON.parse(this.json) as Record<string, unknown>;
  }
}

import { jsonNestsDeeperThan } from "../json-depth.js";

const MODEL_FIELD = /"model"\s*:\s*("(?:[^"\\]|\\.)*")/;

/**
 * The chunk's text with its top-level `model` replaced (re-serialized when that is not safe). `parsed` is the same text parsed: the
 * first `"model": "..."` in the text is only replaced if it is that top-level value.
 */
export function withModel(text: string, parsed: Record<string, unknown>, model: string): SerializedJson {
  // Multi-line data (JSON spread over several `data:` lines) would break our one-line frame.
  const match = hasLineBreak(text) ? null : MODEL_FIELD.exec(text);
  if (match && typeof parsed.model === "string" && JSON.parse(match[1]) === parsed.model) {
    return new SerializedJson(text.slice(0, match.index) + `"model":${JSON.stringify(model)}` + text.slice(match.index + match[0].length));
  }
  return new SerializedJson(JSON.stringify({ ...parsed, model }));
}

const hasLineBreak = (text: string) => text.includes("\n") || text.includes("\r");

/**
 * The common case of a relayed response or chunk, without parsing: a one-line JSON object that cannot be an
 * error payload (it never says "error"), whose first `"model"` key is at the top level, before
 * any nested object or array, and that nests no deeper than `maxDepth`. Anything else returns
 * undefined and is parsed and checked in full.
 */
export function relayUnparsed(text: string, model: string, maxDepth = Infinity): SerializedJson | undefined {
  if (text.charCodeAt(0) !== 123 /* { */ || text.charCodeAt(text.length - 1) !== 125 /* } */) return undefined;
  if (hasLineBreak(text) || text.includes('"error"')) return undefined;
  const match = MODEL_FIELD.exec(text);
  if (!match) return undefined;
  const before = text.slice(1, match.index);
  if (before.includes("{") || before.includes("[") || before.includes("\\")) return undefined;
  // Relayed as is, a 100,000-deep body would reach clients whose parsers recurse; the parse path refuses it.
  if (jsonNestsDeeperThan(text, maxDepth)) return undefined;
  return new SerializedJson(text.slice(0, match.index) + `"model":${JSON.stringify(model)}` + text.slice(match.index + match[0].length));
}
