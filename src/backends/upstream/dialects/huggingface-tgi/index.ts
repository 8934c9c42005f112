/**
 * Hugging Face TGI: its /v1 serves the Messages API, which is OpenAI's chat wire format with the
 * `tgi` profile (OpenAI's fields only), so this dialect is the OpenAI codec, chat only.
 */
import type { Dialect } from "../../dialect.js";
import { openAiCodec } from "../openai-compatible/codec.js";
import { OPENAI_PATHS } from "../openai-compatible/index.js";

export const huggingFaceTgi: Dialect = {
  kind: "huggingface-tgi",
  paths: { chat: OPENAI_PATHS.chat },
  // TGI serves one model and ignores `model`; "tgi" is what its own docs send.
  defaultUpstreamModel: "tgi",
  checkProvider: (provider, problem) => {
    if (provider.profile !== undefined) {
      problem(`provider '${provider.id}' sets profile '${String(provider.profile)}', but huggingface-tgi providers always use the TGI profile`);
    }
    if (provider.extra_fields !== undefined) {
      problem(`provider '${provider.id}' sets extra_fields, but huggingface-tgi providers always reject unknown fields (TGI's Messages API would ignore them)`);
    }
    if (provider.responses !== undefined) {
      problem(`provider '${provider.id}' sets responses, but TGI has no Responses API: huggingface-tgi providers always serve /v1/responses through chat`);
    }
  },
  // TGI's Messages API would drop unknown fields silently: always a 400.
  codec: (provider) => openAiCodec({ kind: "huggingface-tgi", providerId: provider.id, profile: "tgi", extraFields: "reject" }),
};
