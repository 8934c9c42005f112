/**
 * Anthropic's wire format for one provider: `x-api-key` and `anthropic-version` headers; chat
 * translated both ways (request-chat.ts, response-chat.ts, stream-chat.ts); the native Messages
 * calls relayed as they are (native.ts).
 */
import type { Codec, DecodeContext, Decoded, UpstreamMethod } from "../../dialect.js";
import { parseUpstreamObject } from "../../response-limits.js";
import { streamPayloadError } from "../../upstream-errors.js";
import { errorInfoOf, isErrorPayload, isOverloaded, parseErrorBody } from "./error-body.js";
import { decodeNative, encodeNative, NativeStreamDecoder } from "./native.js";
import { encodeChat, jsonToolName } from "./request-chat.js";
import { chatCompletionOf } from "./response-chat.js";
import { AnthropicChatStreamDecoder } from "./stream-chat.js";

export interface AnthropicCodecSettings {
  providerId: string;
  /** The `anthropic-version` header. */
  version: string;
  /** local_settings.max_output_tokens: max_tokens when the request sets none. */
  maxOutputTokens?: number;
}

function decodeChat(text: string, ctx: DecodeContext): Decoded {
  const message = parseUpstreamObject(text, ctx.providerId);
  if (isErrorPayload(message)) throw streamPayloadError(ctx.providerId, errorInfoOf(message, ctx.redact));
  return chatCompletionOf(message, ctx.requestedModel, jsonToolName(ctx.request), ctx.providerId);
}

/** The methods this codec serves (the dialect's paths): anything else is a programming error. */
function unexpected(method: UpstreamMethod): never {
  throw new Error(`the anthropic dialect does not serve ${method}`);
}

export function anthropicCodec(settings: AnthropicCodecSettings): Codec {
  return {
    label: `anthropic (provider '${settings.providerId}')`,
    // Anthropic's API refuses unknown top-level fields; and OpenAI's would mean nothing to it.
    passesExtraFields: false,
    addHeaders: (headers, key) => {
      if (key) headers["x-api-key"] = key;
      headers["anthropic-version"] = settings.version;
    },
    encode: (method, request, upstreamModel) => {
      if (method === "chat") return JSON.stringify(encodeChat(request, upstreamModel, settings.maxOutputTokens));
      if (method === "messages" || method === "countMessageTokens") return encodeNative(request, upstreamModel);
      return unexpected(method);
    },
    decodeResponse: (method, text, ctx) => {
      if (method === "chat") return decodeChat(text, ctx);
      if (method === "messages" || method === "countMessageTokens") return decodeNative(text, ctx, method === "messages");
      return unexpected(method);
    },
    decodeError: (text, status, ctx) => parseErrorBody(text, status, ctx.redact),
    streamDecoder: (method, ctx) => (method === "messages" ? new NativeStreamDecoder(ctx) : new AnthropicChatStreamDecoder(ctx)),
    overloaded: isOverloaded,
  };
}
