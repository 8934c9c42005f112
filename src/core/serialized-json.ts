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

/** A JSON answer or event as an object, whether it came as JSON text (relayed) or already parsed. */
export const jsonObjectOf = (value: unknown): Record<string, unknown> =>
  value instanceof SerializedJson ? value.toObject() : (value as Record<string, unknown>);

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
 * Relays the common chunk of one stream (or one response) without parsing it: see `scan` for what
 * qualifies. Holds the client's model name already quoted, and whether a chunk so far set a
 * `finish_reason` (the stream's completeness check), both found by the same scan.
 */
export class UnparsedRelay {
  sawFinish = false;
  private readonly field: string;
  /**
   * The text up to the end of the last relayed chunk's model value. A stream's chunks mostly begin
   * alike (id, object, created, model); a chunk that begins with exactly this text is scanned from
   * there, in the state the last scan had at that point.
   */
  private prefix = "";
  private prefixModel = 0;

  constructor(
    model: string,
    private readonly maxDepth = Infinity,
  ) {
    this.field = `"model":${JSON.stringify(model)}`;
  }

  /** `text` with the client's model name, or undefined: parse and check it in full. */
  relay(text: string): SerializedJson | undefined {
    // Not startsWith: on sliced strings (what the SSE parser hands out) it is several times slower.
    const known = this.prefix !== "" && text.slice(0, this.prefix.length) === this.prefix;
    if (!(known ? scan(text, this.maxDepth, this.prefix.length, this.prefixModel) : scan(text, this.maxDepth, 0, -1))) return undefined;
    if (found.finish) this.sawFinish = true;
    else if (!known) {
      // A prefix holding a set finish_reason is not kept: the resumed scan would not see it.
      this.prefix = text.slice(0, found.modelEnd);
      this.prefixModel = found.modelStart;
    }
    return new SerializedJson(text.slice(0, found.modelStart) + this.field + text.slice(found.modelEnd));
  }
}

/** The common case of a relayed response or chunk, without parsing (see `scan`); undefined: parse it in full. */
export function relayUnparsed(text: string, model: string, maxDepth = Infinity): SerializedJson | undefined {
  return new UnparsedRelay(model, maxDepth).relay(text);
}

/** What the last successful `scan` found (one scan runs at a time: it is synchronous). */
const found = { modelStart: 0, modelEnd: 0, finish: false };

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * One pass over `text` (string contents are skipped with indexOf). True for a one-line JSON object
 *   - with no line break anywhere: multi-line data would break our one-line SSE frame;
 *   - with no string `"error"` anywhere (key or value) and no escape in a top-level string: it cannot be
 *     an error payload (`error` key, `object: "error"`), however written;
 *   - whose first `"model"` key is the top-level one, with a string value, and comes before any
 *     nested object or array and any backslash (so a plain reading of the text finds it), and
 *     which has no second top-level `model` (a parser would take the last);
 *   - that nests no deeper than `maxDepth` (relayed as is, a 100,000-deep body would reach clients
 *     whose parsers recurse; the parse path refuses it).
 * Also notes whether some `"finish_reason"` has a string (non-null) value. Text that is not
 * well-formed may pass or not; whatever passes is relayed as the upstream wrote it. `from` > 0
 * resumes after a prefix already scanned (see UnparsedRelay), whose top-level model key is at `knownModel`.
 */
function scan(text: string, maxDepth: number, from: number, knownModel: number): boolean {
  const n = text.length;
  if (text.charCodeAt(0) !== 123 /* { */ || text.charCodeAt(n - 1) !== 125 /* } */) return false;
  // Line breaks inside strings are not seen by the structural loop below.
  if (text.indexOf("\n", from) >= 0 || text.indexOf("\r", from) >= 0) return false;
  let backslash = text.indexOf("\\", from);
  const firstBackslash = backslash < 0 ? n : backslash;
  // Resumed (`from` > 0): text[0, from) is a prefix an earlier scan passed, ending with the top-level
  // model's value; there it was at depth 1, had seen nothing nested, and no finish_reason.
  let depth = from > 0 ? 1 : 0;
  let nested = false;
  let model = knownModel;
  let finish = false;
  if (from > 0) {
    found.modelStart = knownModel;
    found.modelEnd = from;
  }
  for (let i = from; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // The closing quote: the next quote not escaped by an odd run of backslashes.
      let close = text.indexOf('"', i + 1);
      if (backslash >= 0 && backslash < i) backslash = text.indexOf("\\", i);
      const escaped = backslash >= 0 && backslash < close;
      while (escaped && close >= 0 && isEscaped(text, close)) close = text.indexOf('"', close + 1);
      if (close < 0) return false;
      const len = close - i - 1;
      if (len === 5 && text.startsWith("error", i + 1)) return false;
      if (depth === 1 && escaped) return false;
      if (len === 5 || len === 13) {
        const value = valueStringAfterColon(text, close + 1);
        if (value > 0) {
          if (len === 5 && text.startsWith("model", i + 1)) {
            if (depth === 1) {
              if (model >= 0 || nested || i > firstBackslash) return false;
              const end = closingQuote(text, value);
              if (end < 0) return false;
              model = i;
              found.modelStart = i;
              found.modelEnd = end + 1;
            } else if (model < 0) return false; // a nested model key first
          } else if (len === 13 && text.startsWith("finish_reason", i + 1)) finish = true;
        }
      }
      i = close;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return false;
      if (depth > 1) nested = true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  if (model < 0) return false;
  found.finish = finish;
  return true;
}

/** Whether the quote at `q` is escaped: an odd number of backslashes precede it. */
function isEscaped(text: string, q: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

/** The index of the quote closing the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close >= 0 && isEscaped(text, close)) close = text.indexOf('"', close + 1);
  return close;
}

/** After a key ending just before `i`: the index of its value's opening quote when the value is a string, else -1. */
function valueStringAfterColon(text: string, i: number): number {
  i = skipSpace(text, i);
  if (text.charCodeAt(i) !== 58 /* : */) return -1;
  i = skipSpace(text, i + 1);
  return text.charCodeAt(i) === QUOTE ? i : -1;
}

function skipSpace(text: string, i: number): number {
  for (let c = text.charCodeAt(i); c === 32 || c === 9; c = text.charCodeAt(++i));
  return i;
}
