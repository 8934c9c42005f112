import type { Logger } from "pino";
import type { Services } from "../services.js";
import type { ClientDisconnect } from "../core/client-disconnect.js";

/** What a handler receives: no express objects, so handlers stay testable and transport-free. */
export interface HandlerCall {
  operationId: string;
  /**
   * The body exactly as the client sent it, parsed once and validated. The validator adds nothing
   * (the validation subset has no `default`s), so this is what the defaults merge starts from.
   */
  body: any;
  params: Record<string, string>;
  query: Record<string, unknown>;
  /** Aborts the call's work when the client disconnects. */
  client: ClientDisconnect;
  requestId: string;
  services: Services;
  log: Logger;
}

export type HandlerResult =
  | { kind: "json"; body: unknown; status?: number; headers?: Record<string, string> }
  /** Each item is one `data:` event (an OpenAI chunk); the writer adds `data: [DONE]`. */
  | { kind: "stream"; events: AsyncIterable<unknown>; headers?: Record<string, string>; onEnd?: () => void };

export type Handler = (call: HandlerCall) => Promise<HandlerResult>;

export const json = (body: unknown, headers?: Record<string, string>): HandlerResult => ({ kind: "json", body, headers });
