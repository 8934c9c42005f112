/**
 * A fake upstream that speaks OpenAI's Responses API (`POST /v1/responses`), JSON and SSE, with
 * Response objects and events that are valid against the spec (openapi/extended.json), as OpenAI
 * sends them; every other path is the fake OpenAI-compatible upstream's default route.
 */
import type http from "node:http";
import { defaultRoute, sendJson, startSse, writeFrames, type Route, type UpstreamRequest } from "./upstream-server.js";

export const UPSTREAM_RESPONSE_ID = "resp_upstream_1";
const MESSAGE_ID = "msg_upstream_1";

/** A completed Response with one assistant message holding `text`, as OpenAI writes it (`error: null` included). */
export function responseObject(model: string, text: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: UPSTREAM_RESPONSE_ID,
    object: "response",
    created_at: 1_700_000_000,
    status: "completed",
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output: text === "" ? [] : [message(text, "completed")],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    truncation: "disabled",
    usage: {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 7,
    },
    metadata: {},
    ...overrides,
  };
}

function message(text: string, status: "in_progress" | "completed") {
  return { id: MESSAGE_ID, type: "message", status, role: "assistant", content: text === "" ? [] : [outputText(text)] };
}

const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

/** The semantic event sequence for one message streamed as `deltas`, each `[event name, data]`, sequence numbers from 0. */
export function responseEvents(model: string, deltas: string[]): [string, Record<string, unknown>][] {
  const text = deltas.join("");
  const where = { item_id: MESSAGE_ID, output_index: 0, content_index: 0 };
  const { usage: _usage, ...running } = responseObject(model, "", { status: "in_progress" });
  const events: [string, Record<string, unknown>][] = [
    ["response.created", { response: running }],
    ["response.in_progress", { response: running }],
    ["response.output_item.added", { output_index: 0, item: message("", "in_progress") }],
    ["response.content_part.added", { ...where, part: outputText("") }],
    ...deltas.map((delta): [string, Record<string, unknown>] => ["response.output_text.delta", { ...where, delta, logprobs: [] }]),
    ["response.output_text.done", { ...where, text, logprobs: [] }],
    ["response.content_part.done", { ...where, part: outputText(text) }],
    ["response.output_item.done", { output_index: 0, item: message(text, "completed") }],
    ["response.completed", { response: responseObject(model, text) }],
  ];
  return events.map(([type, data], sequence_number) => [type, { type, sequence_number, ...data }]);
}

/** SSE text of events, each named as OpenAI names them (`event:` repeats the data's type). */
export const sseOf = (events: [string, Record<string, unknown>][]) => events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);

export const STREAMED_DELTAS = ["Hello", " from", " upstream"];

/** Serves /responses as OpenAI does (JSON, or the event stream for stream: true); anything else as the default fake. */
export const responsesRoute: Route = async (req: UpstreamRequest, res: http.ServerResponse) => {
  if (!req.path.endsWith("/responses")) return defaultRoute(req, res);
  const model = String(req.body?.model ?? "unknown");
  if (!req.body?.stream) return sendJson(res, 200, responseObject(model, "Hello from upstream"));
  startSse(res);
  await writeFrames(res, sseOf(responseEvents(model, STREAMED_DELTAS)));
};
