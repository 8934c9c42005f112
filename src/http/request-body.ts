import type { IncomingHttpHeaders } from "node:http";

/** Whether the request carries a body at all (a declared length above 0, or chunked). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers["content-length"];
  return (length !== undefined && length !== "0") || headers["transfer-encoding"] !== undefined;
}
