/** Writing responses on a plain node ServerResponse, so express and the fast path share them. */
import type { ServerResponse } from "node:http";
import type { ApiError } from "../errors.js";
import { SerializedJson } from "../backends/serialized-json.js";

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = body instanceof SerializedJson ? body.json : JSON.stringify(body);
  // Copied key by key: a spread here kept every response's headers alive through minor GCs.
  const all: Record<string, string | number> = {};
  for (const name in headers) all[name] = headers[name];
  all["Content-Type"] = "application/json; charset=utf-8";
  all["Content-Length"] = Buffer.byteLength(text);
  res.writeHead(status, all);
  res.end(text);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  writeJson(res, error.status, error.toBody(), error.headers);
}
