/**
 * The admin page's files: `dist/admin/index.html` at /admin and /admin/, and the files of
 * `dist/admin/assets/` at /admin/assets/<file>. The directory is listed once, when the server
 * starts: only those names are served (a name is looked up, never joined into a path from the
 * URL), so no request reaches another file. Public: the files hold no secrets; the data comes
 * from /admin/api/*, which needs an admin key.
 */
import fs from "node:fs";
import path from "node:path";
import type { NextFunction, Request, Response } from "express";
import { projectRoot } from "../../core/paths.js";
import { clipEcho, NotFoundError } from "../../core/errors.js";

export const NOT_BUILT = "the admin page is not built (npm run build)";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
};

const contentType = (file: string) => CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";

/** The built page's directory, found from this module (src/ under ts-jest, dist/ when compiled) as other dist files are. */
export const defaultAdminDir = () => path.join(projectRoot(), "dist", "admin");

export interface AdminFiles {
  /** index.html's path; undefined: the page is not built. */
  index: string | undefined;
  /** File name under assets/ -> its path. */
  assets: ReadonlyMap<string, string>;
}

/** Lists the built page once. A missing directory is not an error: the page answers 503 until a build and a restart. */
export function listAdminFiles(dir: string): AdminFiles {
  const index = path.join(dir, "index.html");
  if (!isFile(index)) return { index: undefined, assets: new Map() };
  const assetsDir = path.join(dir, "assets");
  const assets = new Map<string, string>();
  if (fs.existsSync(assetsDir)) {
    for (const entry of fs.readdirSync(assetsDir, { withFileTypes: true })) if (entry.isFile()) assets.set(entry.name, path.join(assetsDir, entry.name));
  }
  return { index, assets };
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function notBuilt(res: Response): void {
  res.status(503).type("text/plain; charset=utf-8").set("Cache-Control", "no-store").send(NOT_BUILT);
}

function sendFile(file: string, res: Response, next: NextFunction): void {
  fs.promises.readFile(file).then(
    (bytes) => {
      // no-cache: the names are not content-hashed, so a rebuilt page must be fetched again.
      res
        .status(200)
        .set({ "Content-Type": contentType(file), "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff" })
        .send(bytes);
    },
    (err: NodeJS.ErrnoException) => next(err.code === "ENOENT" ? gone(file) : err),
  );
}

/** Listed at start but removed since (a rebuild under way): a 404, not a 500. */
const gone = (file: string) => new NotFoundError(`The admin page file '${path.basename(file)}' is gone; rebuild and restart`, null, "unknown_url");

export function adminIndex(files: AdminFiles) {
  return (_req: Request, res: Response, next: NextFunction) => (files.index === undefined ? notBuilt(res) : sendFile(files.index, res, next));
}

export function adminAsset(files: AdminFiles) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (files.index === undefined) return notBuilt(res);
    const name = String(req.params.file);
    const file = files.assets.get(name);
    if (file === undefined) return next(new NotFoundError(`No admin page file '${clipEcho(name)}'`, null, "unknown_url"));
    sendFile(file, res, next);
  };
}
