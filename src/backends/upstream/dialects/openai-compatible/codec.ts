/**
 * The OpenAI wire format for one provider: `Authorization: Bearer`, the merged request as the body
 * (extensions translated for the profile), and answers that are already the internal shape, so
 * they are relayed as text with only `model` replaced wherever that is safe.
 */
import { relayUnparsed } from "../../../../core/serialized-json.js";
import type { Codec, DecodeContext, Decoded } from "../../dialect.js";
import { MAX_UPSTREAM_JSON_DEPTH, parseUpstreamObject } from "../../response-limits.js";
import { streamPayloadError } from "../../upstream-errors.js";
import { errorInfoFromPayload, isErrorPayload, parseErrorBody } from "./error-body.js";
import { PROFILES, upstreamBody, type ExtraFields, type ProfileName } from "./profiles.js";
import { OpenAiStreamDecoder } from "./stream-decoder.js";

export interface OpenAiCodecSettings {
  /** The backend kind, named in 400s. */
  kind: string;
  providerId: string;
  profile: ProfileName;
  extraFields: ExtraFields;
}

function decodeResponse(text: string, ctx: DecodeContext): Decoded {
  const relayed = relayUnparsed(text, ctx.requestedModel, MAX_UPSTREAM_JSON_DEPTH);
  if (relayed) return relayed;
  const out = parseUpstreamObject(text, ctx.providerId);
  if (isErrorPayload(out)) throw streamPayloadError(ctx.providerId, errorInfoFromPayload(out, ctx.redact));
  out.model = ctx.requestedModel;
  return out;
}

export function openAiCodec(settings: OpenAiCodecSettings): Codec {
  const profile = PROFILES[settings.profile];
  const label = `${settings.kind} (provider '${settings.providerId}', profile '${settings.profile}')`;
  return {
    label,
    passesExtraFields: settings.extraFields === "pass",
    addHeaders: (headers, key) => {
      if (key) headers.authorization = `Bearer ${key}`;
    },
    encode: (_method, request, upstreamModel) => JSON.stringify(upstreamBody(request, upstreamModel, profile, label)),
    decodeResponse: (_method, text, ctx) => decodeResponse(text, ctx),
    decodeError: (text, status, ctx) => parseErrorBody(text, status, ctx.redact),
    streamDecoder: (_method, ctx) => new OpenAiStreamDecoder(ctx),
  };
}
