/** A backend's error about a chat field, said in terms of the Responses field the client sent. */
import { inClientTerms } from "../param-names.js";

/** Chat fields the translation writes -> the Responses fields they came from. */
const RESPONSES_PARAM: Readonly<Record<string, string>> = {
  max_tokens: "max_output_tokens",
  messages: "input",
  response_format: "text.format",
  "response_format.json_schema": "text.format",
  "response_format.json_schema.schema": "text.format.schema",
  "response_format.json_schema.name": "text.format.name",
  user: "user",
};

/** `tools[i].function.<f>` -> `tools[i].<f>` (Responses tools are flat). */
function toolParam(err: unknown): unknown {
  const param = (err as { param?: unknown } | null)?.param;
  if (typeof param !== "string") return err;
  const match = /^tools\[(\d+)\]\.function(\.[\w.]+)?$/.exec(param);
  return match ? inClientTerms(err, { [param]: `tools[${match[1]}]${match[2] ?? ""}` }) : err;
}

export const inResponsesTerms = (err: unknown): unknown => toolParam(inClientTerms(err, RESPONSES_PARAM));
