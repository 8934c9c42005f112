import { pino, type Logger } from "pino";

/** JSON lines on stderr; LOG_LEVEL (default info) sets the level. */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
