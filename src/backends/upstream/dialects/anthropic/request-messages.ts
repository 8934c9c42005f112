/**
 * OpenAI chat messages -> Anthropic's `system` and `messages`. Anthropic takes the system prompt
 * apart from the turns, and requires the turns to alternate user/assistant: so system and
 * developer messages (anywhere) are gathered into `system`, tool results become user turns,
 * consecutive same-role turns are merged and empty ones dropped. A trailing assistant turn is a
 * prefill (Anthropic continues it).
 */
import { jsonNestsDeeperThan } from "../../../../core/json-depth.js";
import { InvalidRequestError, UnsupportedFieldError } from "../../../../core/errors.js";

type Json = Record<string, unknown>;
type Block = Json;
interface Turn {
  role: "user" | "assistant";
  blocks: Block[];
}

export const BACKEND_LABEL = "anthropic";
/**
 * Deepest tool-call `arguments` JSON parsed (they are a string, so the body's own depth limit does
 * not cover them): the parsed input is serialized again, and JSON.stringify recurses. Real
 * arguments nest a few levels; the body's default limit is 64.
 */
export const MAX_TOOL_ARGUMENTS_DEPTH = 128;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The text of a system/developer/tool message's content: a string or text parts. */
function textOf(content: unknown, at: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part, j) => {
      if (isObject(part) && part.type === "text" && typeof part.text === "string") return part.text;
      throw new UnsupportedFieldError(`${at}.content[${j}].type`, BACKEND_LABEL, "only text parts can be carried here");
    })
    .join("");
}

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,(.*)$/is;

/** An image_url part -> an image block: a data URL as a base64 source, an http(s) URL as a url source. */
function imageBlock(part: Json, at: string): Block {
  const url = isObject(part.image_url) ? part.image_url.url : undefined;
  if (typeof url !== "string") throw new InvalidRequestError(`${at}.image_url.url must be a string`, `${at}.image_url.url`);
  const data = DATA_URL.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1].toLowerCase(), data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  throw new InvalidRequestError(`${at}.image_url.url must be a data:image/...;base64 URL or an http(s) URL`, `${at}.image_url.url`);
}

function textBlock(text: string): Block[] {
  // Anthropic refuses empty text blocks.
  return text === "" ? [] : [{ type: "text", text }];
}

function userBlocks(content: unknown, at: string): Block[] {
  if (typeof content === "string") return textBlock(content);
  if (!Array.isArray(content)) return [];
  return content.flatMap((part, j) => {
    const where = `${at}.content[${j}]`;
    if (isObject(part) && part.type === "text") return textBlock(String(part.text ?? ""));
    if (isObject(part) && part.type === "image_url") return [imageBlock(part, where)];
    const type = isObject(part) ? String(part.type) : typeof part;
    throw new UnsupportedFieldError(`${where}.type`, BACKEND_LABEL, `'${type}' parts cannot be carried (text and image_url can)`);
  });
}

function toolUseBlock(call: unknown, at: string): Block {
  const fn = isObject(call) && isObject(call.function) ? call.function : undefined;
  if (!isObject(call) || call.type !== "function" || !fn)
    throw new UnsupportedFieldError(`${at}.type`, BACKEND_LABEL, "only function tool calls can be carried");
  const args = String(fn.arguments ?? "");
  if (jsonNestsDeeperThan(args, MAX_TOOL_ARGUMENTS_DEPTH)) {
    throw new InvalidRequestError(
      `${at}.function.arguments nest deeper than the ${MAX_TOOL_ARGUMENTS_DEPTH}-level limit`,
      `${at}.function.arguments`,
      "nesting_too_deep",
    );
  }
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    input = undefined;
  }
  // Anthropic's tool_use input is an object: arguments that are not one cannot be sent back.
  if (!isObject(input)) throw new InvalidRequestError(`${at}.function.arguments must be a JSON object`, `${at}.function.arguments`);
  return { type: "tool_use", id: call.id, name: fn.name, input };
}

function assistantBlocks(m: Json, at: string): Block[] {
  if (m.function_call !== undefined && m.function_call !== null) throw new UnsupportedFieldError(`${at}.function_call`, BACKEND_LABEL, "use tool_calls");
  if (m.audio !== undefined && m.audio !== null) throw new UnsupportedFieldError(`${at}.audio`, BACKEND_LABEL, "audio cannot be carried");
  const content = m.content;
  const blocks: Block[] = [];
  if (typeof content === "string") blocks.push(...textBlock(content));
  else if (Array.isArray(content)) {
    content.forEach((part, j) => {
      if (isObject(part) && part.type === "text") blocks.push(...textBlock(String(part.text ?? "")));
      else if (isObject(part) && part.type === "refusal") blocks.push(...textBlock(String(part.refusal ?? "")));
      else throw new UnsupportedFieldError(`${at}.content[${j}].type`, BACKEND_LABEL, "only text and refusal parts can be carried");
    });
  }
  if (Array.isArray(m.tool_calls)) m.tool_calls.forEach((call, j) => blocks.push(toolUseBlock(call, `${at}.tool_calls[${j}]`)));
  return blocks;
}

function toolResultBlock(m: Json, at: string): Block {
  if (typeof m.tool_call_id !== "string") throw new InvalidRequestError(`${at}.tool_call_id must be a string`, `${at}.tool_call_id`);
  const text = textOf(m.content, at);
  return { type: "tool_result", tool_use_id: m.tool_call_id, content: text === "" ? [] : [{ type: "text", text }] };
}

/** Gathers system texts and turns, in order. */
function readMessages(messages: readonly unknown[]): { system: string[]; turns: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  messages.forEach((raw, i) => {
    const at = `messages[${i}]`;
    const m = isObject(raw) ? raw : {};
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOf(m.content, at);
        if (text !== "") system.push(text);
        return;
      }
      case "user":
        return void turns.push({ role: "user", blocks: userBlocks(m.content, at) });
      case "assistant":
        return void turns.push({ role: "assistant", blocks: assistantBlocks(m, at) });
      case "tool":
        return void turns.push({ role: "user", blocks: [toolResultBlock(m, at)] });
      default:
        throw new UnsupportedFieldError(`${at}.role`, BACKEND_LABEL, `'${String(m.role)}' messages cannot be carried`);
    }
  });
  return { system, turns };
}

/** Consecutive same-role turns as one (Anthropic requires alternation); empty turns dropped. */
function mergeTurns(turns: Turn[]): Turn[] {
  const out: Turn[] = [];
  for (const t of turns) {
    if (t.blocks.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.role === t.role) last.blocks.push(...t.blocks);
    else out.push({ role: t.role, blocks: [...t.blocks] });
  }
  for (const t of out) {
    // Anthropic wants a user turn's tool_result blocks before its other content.
    if (t.role === "user") t.blocks.sort((a, b) => Number(b.type === "tool_result") - Number(a.type === "tool_result"));
  }
  return out;
}

/** Anthropic refuses a prefill (final assistant turn) that ends in whitespace. */
function trimPrefill(turns: Turn[]): void {
  const last = turns[turns.length - 1];
  if (!last || last.role !== "assistant") return;
  const block = last.blocks[last.blocks.length - 1];
  if (block.type !== "text") return;
  const text = String(block.text).trimEnd();
  if (text === "") last.blocks.pop();
  else block.text = text;
  if (last.blocks.length === 0) turns.pop();
}

export interface AnthropicConversation {
  system?: string;
  messages: { role: string; content: Block[] }[];
}

export function toAnthropicMessages(messages: unknown): AnthropicConversation {
  const { system, turns } = readMessages(Array.isArray(messages) ? messages : []);
  const merged = mergeTurns(turns);
  trimPrefill(merged);
  const out: AnthropicConversation = { messages: merged.map((t) => ({ role: t.role, content: t.blocks })) };
  if (system.length > 0) out.system = system.join("\n\n");
  return out;
}
