/**
 * The admin page (issue 16): its files at /admin (admin-assets.ts) and its JSON API at
 * /admin/api/* (contract: .scratch/admin-contract.md, README "Admin page"). The API needs a key
 * with role admin when keys.yaml lists keys; an open server (no keys, loopback) is open here too.
 * The request listener has already refused a missing or unknown key (401) before express runs.
 */
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { AdminKeyRequiredError, InvalidApiKeyError } from "../../core/errors.js";
import type { Services } from "../../services.js";
import { apiKeyOf } from "../auth.js";
import { quietActivity } from "../request-log.js";
import { wallClock, type AdminActivity } from "./activity.js";
import { adminAsset, adminIndex, defaultAdminDir, listAdminFiles } from "./admin-assets.js";
import { loadOrUnload, type LoadAction } from "./load-model.js";
import { overview } from "./overview.js";
import type { RecentRequestsJson, WhoAmIJson } from "./admin-json.js";

export interface AdminOptions {
  services: Services;
  activity: AdminActivity;
  /** The built page (default: dist/admin next to the compiled server). */
  dir?: string;
}

/** Where the page and its API are mounted. */
export const ADMIN_PATH = "/admin";

/** Admin answers are live state: never cached by a browser or proxy. */
function json(res: Response, body: unknown): void {
  res.set("Cache-Control", "no-store").json(body);
}

export function mountAdmin(app: Express, options: AdminOptions): void {
  const { services, activity } = options;
  const files = listAdminFiles(options.dir ?? defaultAdminDir());
  // Case-sensitive like every other route (/Admin is no admin path).
  const router = express.Router({ caseSensitive: true });
  router.use((_req, res, next) => {
    // The page polls every second: its own requests would swamp the traffic and table it shows.
    quietActivity(res);
    next();
  });
  router.get("/", adminIndex(files));
  router.get("/assets/:file", adminAsset(files));

  const api = express.Router({ caseSensitive: true });
  api.use(requireAdmin(services));
  api.get("/whoami", (_req, res) => {
    const key = apiKeyOf(res);
    const answer: WhoAmIJson = {
      key: key?.name ?? null,
      role: key?.role === "admin" ? "admin" : null,
      open: services.config.current().config.keys === undefined,
    };
    json(res, answer);
  });
  api.get("/overview", (_req, res) => json(res, overview(services)));
  api.get("/traffic", (_req, res) => json(res, activity.traffic.read(Math.round(wallClock()))));
  api.get("/requests", (_req, res) => json(res, { requests: activity.recent.read() } satisfies RecentRequestsJson));
  for (const action of ["load", "unload"] as const satisfies readonly LoadAction[]) {
    api.post(`/models/:name/${action}`, (req, res, next) => {
      loadOrUnload(services, String(req.params.name), action).then((answer) => json(res, answer), next);
    });
  }
  router.use("/api", api);
  app.use(ADMIN_PATH, router);
}

/** Keys listed: only an admin key passes (the listener let in only listed keys). No keys: open, as the API is. */
function requireAdmin(services: Services) {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (services.config.current().config.keys === undefined) return next();
    const key = apiKeyOf(res);
    if (key === undefined) return next(new InvalidApiKeyError("The admin API needs an API key with role admin"));
    if (key.role !== "admin") return next(new AdminKeyRequiredError());
    next();
  };
}
