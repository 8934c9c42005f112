/** Writing responses on a plain node ServerResponse, so express and the fast path share them. */
import type { ServerResponse } from "node:http";
import type { ApiError } from "../errors.js";
import { SerializedJson } from "../backends/serialized-json.js";

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = body instanceof SerializedJson ? body.json : JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  writeJson(res, error.status, error.toBody(), error.headers);
}
