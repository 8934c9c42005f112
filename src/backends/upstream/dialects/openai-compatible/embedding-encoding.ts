/**
 * Embeddings in the encoding the client asked for. The `openai` SDK asks `encoding_format: base64`
 * by default and decodes the answer as base64 whatever it is; several OpenAI-compatible servers
 * answer float arrays anyway (and a few base64 to a float request), which the SDK would turn into
 * garbage. So an answer in the other encoding is converted: base64 is little-endian float32, as
 * OpenAI encodes it. An answer already in the asked encoding is relayed as its text (no parse).
 */
import { UpstreamError } from "../../../../core/errors.js";

export type EmbeddingEncoding = "float" | "base64";

/** What the client asked: base64, else floats (OpenAI's default when `encoding_format` is absent or null). */
export const requestedEncoding = (request: Readonly<Record<string, unknown>>): EmbeddingEncoding => (request.encoding_format === "base64" ? "base64" : "float");

const KEY = '"embedding"';
const WHITESPACE = /\s/;

/**
 * True when every `"embedding"` key in the answer's text has a value that starts as `wanted` writes
 * it (`[` or `"`). One indexOf pass. Text with a backslash is never vouched for: an escape could
 * spell the key so that this reading does not see it; such text goes the parse path, which decides
 * exactly. `"embedding"` as a value (`"object":"embedding"`) is not followed by a colon, and skipped.
 */
export function encodingMatches(text: string, wanted: EmbeddingEncoding): boolean {
  if (text.indexOf("\\") >= 0) return false;
  const opener = wanted === "base64" ? '"' : "[";
  for (let at = text.indexOf(KEY); at >= 0; at = text.indexOf(KEY, at + KEY.length)) {
    let i = at + KEY.length;
    while (i < text.length && WHITESPACE.test(text[i])) i++;
    if (text[i] !== ":") continue;
    i++;
    while (i < text.length && WHITESPACE.test(text[i])) i++;
    if (text[i] !== opener) return false;
  }
  return true;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const FLOAT32_BYTES = 4;

function notAnEmbedding(providerId: string, index: number, why: string): UpstreamError {
  return new UpstreamError(502, `${providerId}: the upstream's embedding ${index} ${why}`, "upstream_protocol_error");
}

function toBase64(vector: unknown[], providerId: string, index: number): string {
  const bytes = Buffer.allocUnsafe(vector.length * FLOAT32_BYTES);
  vector.forEach((value, i) => {
    if (typeof value !== "number") throw notAnEmbedding(providerId, index, "holds something other than numbers");
    bytes.writeFloatLE(value, i * FLOAT32_BYTES);
  });
  return bytes.toString("base64");
}

function toFloats(encoded: string, providerId: string, index: number): number[] {
  const bytes = Buffer.from(encoded, "base64");
  if (!BASE64.test(encoded) || bytes.length % FLOAT32_BYTES !== 0) throw notAnEmbedding(providerId, index, "is not base64 of float32 values");
  const out = new Array<number>(bytes.length / FLOAT32_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * FLOAT32_BYTES);
  return out;
}

/** Rewrites, in place, each `data[i].embedding` of a parsed answer that is not in `wanted`. */
export function convertEmbeddings(answer: Record<string, unknown>, wanted: EmbeddingEncoding, providerId: string): void {
  if (!Array.isArray(answer.data)) return;
  answer.data.forEach((item: unknown, index) => {
    if (typeof item !== "object" || item === null) return;
    const entry = item as Record<string, unknown>;
    const { embedding } = entry;
    if (wanted === "base64" && Array.isArray(embedding)) entry.embedding = toBase64(embedding, providerId, index);
    else if (wanted === "float" && typeof embedding === "string") entry.embedding = toFloats(embedding, providerId, index);
  });
}
