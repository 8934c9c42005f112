/**
 * `debug_connections: true`: every upstream call logged at info level with method, URL, status,
 * timings and the full bodies (stream text as its lines complete). Credentials are redacted: the
 * auth headers by name, URL userinfo and query values, and every configured key value wherever it
 * appears, over whole lines (a key split across two network reads is still one string). Off, none of this runs.
 */
import type { Logger } from "pino";
import { redactSecrets, type UpstreamUrl, type UrlSet } from "./url-set.js";
import { redactUrl } from "./url-secrets.js";

const SECRET_HEADERS = new Set(["authorization", "api-key", "x-api-key", "proxy-authorization"]);
const REDACTED = "[REDACTED]";

export class DebugLog {
  private calls = 0;

  constructor(
    private readonly log: Logger,
    private readonly urls: UrlSet,
  ) {}

  start(u: UpstreamUrl, requestId: string, path: string, headers: Record<string, string>, body: string): DebugCall {
    return new DebugCall(this.log, this.urls.secrets(), { upstream: u.label, request_id: requestId, call: ++this.calls }, u.origin + path, headers, body);
  }
}

export class DebugCall {
  private readonly started = performance.now();
  private chunks = 0;
  /** Stream text after the last line break seen: logged once its line is complete. */
  private partial = "";

  constructor(
    private readonly log: Logger,
    private readonly secrets: readonly string[],
    private readonly fields: Record<string, unknown>,
    url: string,
    headers: Record<string, string>,
    body: string,
  ) {
    log.info(
      { ...fields, method: "POST", url: this.redact(redactUrl(url)), headers: this.redactHeaders(headers), body: this.redact(body) },
      "upstream request",
    );
  }

  redact(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  private redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(headers)) {
      out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? REDACTED : typeof v === "string" ? this.redact(v) : v;
    }
    return out;
  }

  private ms(): number {
    return Math.round((performance.now() - this.started) * 100) / 100;
  }

  response(status: number, headers: Record<string, string | string[] | undefined>): void {
    this.log.info({ ...this.fields, status, headers: this.redactHeaders(headers), first_byte_ms: this.ms() }, "upstream response");
  }

  body(text: string): void {
    this.log.info({ ...this.fields, body: this.redact(text) }, "upstream response body");
  }

  /** A network read of stream text: its complete lines are logged, the rest waits for the next read. */
  chunk(text: string): void {
    const cut = Math.max(text.lastIndexOf("\n"), text.lastIndexOf("\r"));
    if (cut < 0) {
      this.partial += text;
      return;
    }
    const lines = this.partial + text.slice(0, cut + 1);
    this.partial = text.slice(cut + 1);
    this.logChunk(lines);
  }

  private logChunk(text: string): void {
    this.log.info({ ...this.fields, chunk: ++this.chunks, data: this.redact(text), at_ms: this.ms() }, "upstream stream chunk");
  }

  end(outcome: string): void {
    if (this.partial !== "") {
      this.logChunk(this.partial);
      this.partial = "";
    }
    this.log.info({ ...this.fields, outcome: this.redact(outcome), total_ms: this.ms() }, "upstream call done");
  }
}
