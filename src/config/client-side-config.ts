/**
 * `client_side_config`: the knobs Sourcegraph defines for an OpenAI-compatible model
 * (`clientSideConfig.openaicompatible`), which Cody clients read from supported-models.json to build
 * prompts and requests for the model behind the endpoint. Validated at load with Sourcegraph's types:
 * string arrays, strings, integers (character counts, milliseconds, token counts) and numbers
 * (sampling parameters).
 */
import type { JsonSchema } from "../backends/types.js";

/** Sourcegraph's counts are 32-bit integers: a larger value would not survive its config types. */
export const MAX_INT32 = 2 ** 31 - 1;
/** Sampling bounds, as OpenAI-compatible servers accept them. */
export const MAX_TEMPERATURE = 2;

export interface ClientSideConfig {
  stopSequences?: string[];
  endOfText?: string;
  contextSizeHintTotalCharacters?: number;
  contextSizeHintPrefixCharacters?: number;
  contextSizeHintSuffixCharacters?: number;
  chatPreInstruction?: string;
  editPostInstruction?: string;
  autocompleteSinglelineTimeout?: number;
  autocompleteMultilineTimeout?: number;
  chatTopK?: number;
  chatTopP?: number;
  chatTemperature?: number;
  chatMaxTokens?: number;
  autoCompleteTopK?: number;
  autoCompleteTopP?: number;
  autoCompleteTemperature?: number;
  autoCompleteSinglelineMaxTokens?: number;
  autoCompleteMultilineMaxTokens?: number;
  editTopK?: number;
  editTopP?: number;
  editTemperature?: number;
  editMaxTokens?: number;
}

const count = { type: "integer", minimum: 0, maximum: MAX_INT32 };
const tokens = { type: "integer", minimum: 1, maximum: MAX_INT32 };
const topK = { type: "number", minimum: 0, maximum: MAX_INT32 };
const topP = { type: "number", minimum: 0, maximum: 1 };
const temperature = { type: "number", minimum: 0, maximum: MAX_TEMPERATURE };
const text = { type: "string" };

export const clientSideConfigSchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    stopSequences: { type: "array", items: { type: "string", minLength: 1 } },
    endOfText: { type: "string", minLength: 1 },
    contextSizeHintTotalCharacters: count,
    contextSizeHintPrefixCharacters: count,
    contextSizeHintSuffixCharacters: count,
    chatPreInstruction: text,
    editPostInstruction: text,
    autocompleteSinglelineTimeout: count,
    autocompleteMultilineTimeout: count,
    chatTopK: topK,
    chatTopP: topP,
    chatTemperature: temperature,
    chatMaxTokens: tokens,
    autoCompleteTopK: topK,
    autoCompleteTopP: topP,
    autoCompleteTemperature: temperature,
    autoCompleteSinglelineMaxTokens: tokens,
    autoCompleteMultilineMaxTokens: tokens,
    editTopK: topK,
    editTopP: topP,
    editTemperature: temperature,
    editMaxTokens: tokens,
  },
};
