/**
 * An Anthropic Messages request as the internal chat call, for backends that do not speak the
 * Messages API natively. What the chat path cannot honour is a 400 naming the field, never dropped:
 * thinking, documents, server tools, file sources, block types this server does not know.
 */
import { InvalidRequestError } from "../../core/errors.js";
import type { ChatRequest } from "../../backends/types.js";

type Body = Record<string, unknown>;
interface Block {
  type: string;
  [field: string]: unknown;
}
interface MessageParam {
  role: "user" | "assistant";
  content: string | Block[];
}
type ChatMessage = Body;

/**
 * Top-level fields the chat path maps, or deliberately ignores: `service_tier` and `cache_control`
 * only mean something to Anthropic's own service (the overlay documents them as ignored elsewhere).
 */
const MAPPED = new Set([
  "model",
  "messages",
  "max_tokens",
  "system",
  "stop_sequences",
  "temperature",
  "top_p",
  "top_k",
  "stream",
  "metadata",
  "tools",
  "tool_choice",
  "thinking",
]);
const IGNORED = new Set(["service_tier", "cache_control"]);
/** count_tokens takes no generation fields. */
const COUNT_FIELDS = new Set(["model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control"]);

const refuse = (param: string, why: string) =>
  new InvalidRequestError(`'${param}' ${why} on this model's backend (it does not speak Anthropic's Messages API natively)`, param, "unsupported_parameter");

function textOf(blocks: readonly Block[], param: string): string {
  let text = "";
  blocks.forEach((b, j) => {
    if (b.type !== "text") throw refuse(`${param}[${j}]`, `(a '${b.type}' block) cannot be used here`);
    text += b.text as string;
  });
  return text;
}

function systemText(system: unknown): string | undefined {
  if (system === undefined) return undefined;
  // Blocks are joined as Anthropic joins them: their texts, in order.
  return typeof system === "string" ? system : textOf(system as Block[], "system");
}

function imagePart(block: Block, param: string): Body {
  const source = block.source as Body;
  if (source.type === "base64") return { type: "image_url", image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source.type === "url") return { type: "image_url", image_url: { url: source.url } };
  throw refuse(`${param}.source`, `(a '${String(source.type)}' image source) is not supported`);
}

/** A tool_result's content as a tool message's text; `is_error` is said in the text (chat tool messages have no such flag). */
function toolResultText(block: Block, param: string): string {
  const content = block.content;
  const text = content === undefined ? "" : typeof content === "string" ? content : textOf(content as Block[], `${param}.content`);
  return block.is_error === true ? `Error: ${text}` : text;
}

/** A user turn: its tool_result blocks become tool messages (first: they answer the assistant turn before), the rest one user message. */
function userMessages(content: Block[], param: string): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: Body[] = [];
  content.forEach((block, j) => {
    const at = `${param}[${j}]`;
    if (block.type === "text") parts.push({ type: "text", text: block.text });
    else if (block.type === "image") parts.push(imagePart(block, at));
    else if (block.type === "tool_result") tools.push({ role: "tool", tool_call_id: block.tool_use_id, content: toolResultText(block, at) });
    else throw refuse(at, `(a '${block.type}' block) is not supported`);
  });
  if (parts.length === 0) return tools;
  const onlyText = parts.every((p) => p.type === "text");
  return [...tools, { role: "user", content: onlyText ? parts.map((p) => p.text).join("") : parts }];
}

/** An assistant turn: text, and tool_use blocks as tool_calls. Thinking blocks of earlier turns are left out, as Anthropic leaves them out of the context. */
function assistantMessage(content: Block[], param: string): ChatMessage {
  let text = "";
  const calls: Body[] = [];
  content.forEach((block, j) => {
    if (block.type === "text") text += block.text as string;
    else if (block.type === "tool_use") calls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input) } });
    else if (block.type !== "thinking" && block.type !== "redacted_thinking") throw refuse(`${param}[${j}]`, `(a '${block.type}' block) is not supported`);
  });
  const message: ChatMessage = { role: "assistant", content: calls.length > 0 && text === "" ? null : text };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function chatMessages(body: Body): ChatMessage[] {
  const out: ChatMessage[] = [];
  const system = systemText(body.system);
  if (system !== undefined) out.push({ role: "system", content: system });
  (body.messages as MessageParam[]).forEach((m, i) => {
    const param = `messages[${i}].content`;
    if (typeof m.content === "string") out.push({ role: m.role, content: m.content });
    else if (m.role === "user") out.push(...userMessages(m.content, param));
    else out.push(assistantMessage(m.content, param));
  });
  return out;
}

function chatTools(tools: readonly Body[]): Body[] {
  return tools.map((tool, i) => {
    if (tool.type !== undefined && tool.type !== null && tool.type !== "custom")
      throw refuse(`tools[${i}]`, `(Anthropic's '${String(tool.type)}' tool) is not available`);
    const fn: Body = { name: tool.name, parameters: tool.input_schema };
    if (tool.description !== undefined) fn.description = tool.description;
    return { type: "function", function: fn };
  });
}

function chatToolChoice(choice: Body, out: Body): void {
  if (choice.type === "auto") out.tool_choice = "auto";
  else if (choice.type === "any") out.tool_choice = "required";
  else if (choice.type === "tool") out.tool_choice = { type: "function", function: { name: choice.name } };
  else out.tool_choice = "none";
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
}

function checkFields(body: Body, known: ReadonlySet<string>): void {
  for (const field of Object.keys(body)) if (!known.has(field) && !IGNORED.has(field)) throw refuse(field, "is not supported");
  const thinking = body.thinking as Body | undefined;
  if (thinking && thinking.type !== "disabled") throw refuse("thinking", `(type '${String(thinking.type)}') is not supported: the model does not think aloud`);
}

/** The conversation part (messages, system, tools, tool_choice), shared by create and count_tokens. */
function conversation(body: Body): Body {
  const out: Body = { model: body.model, messages: chatMessages(body) };
  if (Array.isArray(body.tools) && body.tools.length > 0) out.tools = chatTools(body.tools as Body[]);
  if (body.tool_choice !== undefined) chatToolChoice(body.tool_choice as Body, out);
  return out;
}

export function toChatRequest(body: Body): ChatRequest {
  checkFields(body, MAPPED);
  const out = conversation(body);
  out.max_tokens = body.max_tokens;
  if (body.stop_sequences !== undefined) out.stop = body.stop_sequences;
  if (body.temperature !== undefined) out.temperature = body.temperature;
  if (body.top_p !== undefined) out.top_p = body.top_p;
  if (body.top_k !== undefined) out["x-localai-extensions"] = { top_k: body.top_k };
  const user = (body.metadata as Body | undefined)?.user_id;
  if (typeof user === "string") out.user = user;
  // The usage chunk is what gives message_delta its token counts.
  if (body.stream === true) Object.assign(out, { stream: true, stream_options: { include_usage: true } });
  return out as unknown as ChatRequest;
}

/** count_tokens' body as the chat request whose prompt it measures. */
export function toCountRequest(body: Body): ChatRequest {
  checkFields(body, COUNT_FIELDS);
  return conversation(body) as unknown as ChatRequest;
}
