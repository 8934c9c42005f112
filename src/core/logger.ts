import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger } from "pino";

/**
 * Logs go to stderr; LOG_LEVEL (default info) sets the level. JSON lines, except on a terminal, where
 * they are pretty-printed (pino-pretty, synchronously, no worker thread). `UNDERSTUDY_LOG_FORMAT=json`
 * forces JSON on a terminal too, `=pretty` forces pretty output anywhere.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? "info", format = process.env.UNDERSTUDY_LOG_FORMAT): Logger {
  const pretty = format === "pretty" || (format !== "json" && process.stderr.isTTY === true);
  return pino({ level, base: undefined }, pretty ? prettyStderr() : pino.destination(2));
}

/** pino-pretty, loaded only when used: a server logging JSON never pays for it. */
function prettyStderr(): DestinationStream {
  const pretty = createRequire(import.meta.url)("pino-pretty") as (options: Record<string, unknown>) => DestinationStream;
  return pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: "SYS:HH:MM:ss.l" });
}
