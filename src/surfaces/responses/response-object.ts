/**
 * The Response object (the spec's `Response`): the request's settings echoed as OpenAI echoes
 * them, the output items, the status and the usage. One builder for the JSON answer, the stream's
 * lifecycle events and the stored copy.
 */
import { nowSeconds } from "../../core/openai-shapes.js";
import type { ApiError } from "../../core/errors.js";

type Body = Record<string, unknown>;

export type Status = "in_progress" | "completed" | "incomplete" | "failed";

/** Chat usage as the Responses API counts it (prompt tokens include the cached ones in both). */
export function usageOf(usage: Body | undefined | null): Body {
  const input = typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  const output = typeof usage?.completion_tokens === "number" ? usage.completion_tokens : 0;
  const cached = (usage?.prompt_tokens_details as Body | undefined)?.cached_tokens;
  const reasoning = (usage?.completion_tokens_details as Body | undefined)?.reasoning_tokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: typeof cached === "number" ? cached : 0, cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: typeof reasoning === "number" ? reasoning : 0 },
    total_tokens: input + output,
  };
}

/** Why a chat answer stopped, as a Response's incomplete_details (null: it finished). */
export function incompleteReason(finish: unknown): Body | null {
  if (finish === "length") return { reason: "max_output_tokens" };
  if (finish === "content_filter") return { reason: "content_filter" };
  return null;
}

/** Responses' error codes are a closed list; ours map onto its nearest. */
function errorCode(err: ApiError): string {
  if (err.status === 429) return "rate_limit_exceeded";
  if (err.status === 400 && err.code === "context_length_exceeded") return "invalid_prompt";
  return "server_error";
}

export const responseError = (err: ApiError): Body => ({ code: errorCode(err), message: err.message });

/** The Response being made for one request: its fixed part from the request, then the result. */
export class ResponseObject {
  readonly createdAt = nowSeconds();

  constructor(
    readonly id: string,
    /** The model name the client asked for. */
    private readonly model: string,
    /** The request after registration defaults and overrides (what was applied is what is echoed). */
    private readonly request: Readonly<Body>,
  ) {}

  /** The Response with this status and output; `usage` once known. */
  build(status: Status, output: readonly Body[], extra: { usage?: Body; incomplete?: Body | null; error?: Body } = {}): Body {
    const r = this.request;
    const response: Body = {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status,
      completed_at: status === "completed" ? nowSeconds() : null,
      error: extra.error ?? null,
      incomplete_details: extra.incomplete ?? null,
      instructions: r.instructions ?? null,
      max_output_tokens: r.max_output_tokens ?? null,
      max_tool_calls: r.max_tool_calls ?? null,
      model: this.model,
      output,
      parallel_tool_calls: r.parallel_tool_calls ?? true,
      previous_response_id: r.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: r.store ?? true,
      temperature: r.temperature ?? null,
      text: { format: { type: "text" }, ...(r.text as Body | null | undefined) },
      tool_choice: r.tool_choice ?? "auto",
      tools: ((r.tools as Body[] | null | undefined) ?? []).map(echoTool),
      top_p: r.top_p ?? null,
      truncation: "disabled",
      metadata: r.metadata ?? {},
    };
    if (typeof r.user === "string") response.user = r.user;
    if (typeof r.safety_identifier === "string") response.safety_identifier = r.safety_identifier;
    if (extra.usage) response.usage = extra.usage;
    return response;
  }
}

/** A function tool as OpenAI echoes it: strict and parameters always present. */
const echoTool = (tool: Body): Body => ({ ...tool, parameters: tool.parameters ?? null, strict: tool.strict ?? false, description: tool.description ?? null });
