/**
 * Sourcegraph's prompt versions as chat messages. Legacy (no `api-version`): the trailing empty
 * assistant message (where the answer goes) and empty messages ("holes") are dropped, the system
 * prompt Cody sends as its first human turn stays an ordinary turn, except Cody's own preamble
 * (the introspection below), and `system` messages are the system prompt. From version 1,
 * `system` messages are the system prompt; from 2, a message may carry `content` (a string or
 * text and image parts) instead of `text`.
 */
import { InvalidRequestError } from "../../core/errors.js";

type Body = Record<string, unknown>;
export type Speaker = "system" | "human" | "assistant";
export interface SourcegraphMessage {
  speaker: Speaker;
  text?: string;
  content?: string | Body[];
}
type ChatMessage = Body;
type Part = Body;

/** How Cody's legacy prompts begin: this human turn and the assistant's reply to it are its system prompt. */
export const CODY_PREAMBLE = "You are Cody, an AI-powered coding assistant created by Sourcegraph.";

const ROLE: Readonly<Record<Speaker, string>> = { system: "system", human: "user", assistant: "assistant" };

/**
 * The message's parts (text and images), from `content` (which clients send from version 2 on;
 * read whatever the version, rather than dropped) or `text`.
 */
function partsOf(m: SourcegraphMessage, i: number): Part[] {
  const content = m.content;
  if (content === undefined) return m.text ? [{ type: "text", text: m.text }] : [];
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  return content.flatMap((part, j): Part[] => {
    if (part.type === "text") return typeof part.text === "string" && part.text !== "" ? [{ type: "text", text: part.text }] : [];
    if (part.type === "image_url") return [{ type: "image_url", image_url: { url: imageUrl(part, i, j) } }];
    throw new InvalidRequestError(
      `'messages[${i}].content[${j}]' (a '${String(part.type)}' part) is not supported: send text or image_url parts`,
      `messages[${i}].content[${j}]`,
      "unsupported_parameter",
    );
  });
}

function imageUrl(part: Body, i: number, j: number): string {
  const url = (part.image_url as Body | undefined)?.url;
  if (typeof url === "string" && url !== "") return url;
  const param = `messages[${i}].content[${j}].image_url.url`;
  throw new InvalidRequestError(`'${param}' is required for an image_url part`, param, "missing_required_parameter");
}

const textOf = (parts: readonly Part[]) => parts.map((p) => (p.type === "text" ? (p.text as string) : "")).join("");
const onlyText = (parts: readonly Part[]) => parts.every((p) => p.type === "text");

interface Turn {
  speaker: Speaker;
  parts: Part[];
}

/** The turns with content; holes (and so the legacy trailing empty assistant message) are left out. */
function turnsOf(messages: readonly SourcegraphMessage[]): Turn[] {
  const turns: Turn[] = [];
  messages.forEach((m, i) => {
    const parts = partsOf(m, i);
    if (parts.length > 0) turns.push({ speaker: m.speaker, parts });
  });
  return turns;
}

/** Legacy introspection: Cody's preamble turn and the assistant's reply after it, as system text. */
function preamble(turns: Turn[]): string[] {
  const first = turns.findIndex((t) => t.speaker !== "system");
  if (first < 0 || turns[first].speaker !== "human" || !textOf(turns[first].parts).startsWith(CODY_PREAMBLE)) return [];
  const taken = turns[first + 1]?.speaker === "assistant" ? 2 : 1;
  return turns.splice(first, taken).map((t) => textOf(t.parts));
}

/** The chat messages: one system message first (every system text, joined), then the turns. */
export function chatMessages(messages: readonly SourcegraphMessage[], version: number): ChatMessage[] {
  const turns = turnsOf(messages);
  const system: string[] = version === 0 ? preamble(turns) : [];
  const out: ChatMessage[] = [];
  for (const turn of turns) {
    if (turn.speaker === "system") system.push(textOf(turn.parts));
    else out.push({ role: ROLE[turn.speaker], content: onlyText(turn.parts) ? textOf(turn.parts) : turn.parts });
  }
  if (out.length === 0) throw new InvalidRequestError("'messages' has no human or assistant message with text", "messages", "empty_messages");
  if (system.length > 0) out.unshift({ role: "system", content: system.join("\n\n") });
  return out;
}
