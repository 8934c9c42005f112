/** Writing responses on a plain node ServerResponse, so express and the fast path share them. */
import type { ServerResponse } from "node:http";
import type { ApiError } from "../core/errors.js";
import { SerializedJson } from "../core/serialized-json.js";
import type { Surface } from "../surfaces/types.js";
import { writeHead } from "./request-id.js";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

function writeText(res: ServerResponse, status: number, contentType: string, text: string, headers: Readonly<Record<string, string>>): void {
  // Copied key by key: a spread here kept every response's headers alive through minor GCs.
  const all: Record<string, string | number> = {};
  for (const name in headers) all[name] = headers[name];
  all["Content-Type"] = contentType;
  all["Content-Length"] = Buffer.byteLength(text);
  writeHead(res, status, all);
  res.end(text);
}

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  writeText(res, status, JSON_CONTENT_TYPE, body instanceof SerializedJson ? body.json : JSON.stringify(body), headers);
}

/** How long a refused request's connection stays half-open after its answer, reading and dropping what the client still sends. */
const LINGER_MS = 2000;

/**
 * Closes a refused request's connection the way nginx's lingering close does. Node destroys a
 * `Connection: close` socket as soon as the answer is written (`destroySoon`); a client still
 * sending its body then gets a reset for the bytes nobody read, and a reset makes the client's
 * kernel drop what it had not read yet: the 413 itself. Here the answer is followed by a FIN only,
 * the rest of the body is read and dropped (no listener holds it), and the socket is destroyed once
 * the client closes its side or after LINGER_MS, whichever is first.
 */
function lingerOnClose(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null || socket.destroyed) return;
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("end", () => socket.destroy());
    socket.once("close", () => clearTimeout(timer));
  };
}

/** An error before the first byte, in the shape of the surface that answers the request. */
export function sendError(res: ServerResponse, surface: Surface, error: ApiError): void {
  // Answered before the request was all received (a refused body, a 501 that never reads one):
  // the connection cannot carry another request, and the rest of the body is not worth reading.
  if (res.req && !res.req.complete) {
    res.shouldKeepAlive = false;
    lingerOnClose(res);
  }
  const wire = surface.errorResponse(error);
  writeText(res, wire.status, wire.contentType, wire.body, wire.headers);
}

/**
 * Cuts a response the client has stopped reading: if what is still buffered for it is not flushed
 * within `stallMs`, the socket is destroyed (its 'close' aborts the work behind the response).
 * Costs nothing when the response is already flushed, as nearly all are.
 */
export function cutIfNotFlushed(res: ServerResponse, stallMs: number): void {
  if (res.writableFinished || res.destroyed || res.writableLength === 0) return;
  const timer = setTimeout(() => res.destroy(), stallMs);
  timer.unref();
  const clear = () => clearTimeout(timer);
  res.once("finish", clear);
  res.once("close", clear);
}
