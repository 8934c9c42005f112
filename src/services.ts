import type { ConfigStore } from "./config/store.js";
import type { ResponseStore } from "./stores/response-store.js";

/** What the handlers are given by the server. */
export interface Services {
  startedAt: number;
  version: string;
  config: ConfigStore;
  /** Stored Responses API responses (`store: true`): SQLite or Redis, chosen at start. */
  responses: ResponseStore;
}
