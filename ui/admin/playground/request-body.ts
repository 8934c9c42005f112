import type { ChatMessage, ChatRequest } from "./chat-stream";
import type { PlaygroundSettings } from "./settings";

/** The extensions object typed in the form, or why it is not one. */
export function parseExtensions(text: string): { value?: Record<string, unknown>; error?: string } {
  if (text.trim() === "") return { value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: "x-localai-extensions must be a JSON object" };
    return { value: value as Record<string, unknown> };
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
}

/** The request the form describes; fields left empty are not sent. */
export function chatRequest(settings: PlaygroundSettings, messages: ChatMessage[], extensions: Record<string, unknown>): ChatRequest {
  const request: ChatRequest = { model: settings.model, messages };
  if (settings.temperature.trim() !== "") request.temperature = Number(settings.temperature);
  if (settings.maxTokens.trim() !== "") request.max_tokens = Number(settings.maxTokens);
  const ext = settings.debug ? { ...extensions, debug: true } : extensions;
  if (Object.keys(ext).length > 0) request["x-localai-extensions"] = ext;
  return request;
}
