import type { ConfigStore } from "./config/store.js";

/** What the handlers are given by the server. */
export interface Services {
  startedAt: number;
  version: string;
  config: ConfigStore;
}
