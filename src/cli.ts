import { Command } from "commander";
import { createLogger } from "./logger.js";
import { startServer } from "./http/server.js";
import { VERSION } from "./version.js";

export async function serve(opts: { host?: string; port?: string }): Promise<void> {
  const log = createLogger();
  const host = opts.host ?? process.env.HOST ?? "127.0.0.1";
  const port = Number(opts.port ?? process.env.PORT ?? 8080);
  const bodyLimitBytes = process.env.UNDERSTUDY_BODY_LIMIT ? Number(process.env.UNDERSTUDY_BODY_LIMIT) : undefined;
  const services = { startedAt: Date.now(), version: VERSION };
  const running = await startServer({ host, port, log, services, bodyLimitBytes });
  log.info({ url: running.url }, "understudy listening");
  const stop = () => void running.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

export function buildCli(): Command {
  const program = new Command("understudy").version(VERSION).description("OpenAI-compatible server for local and self-hosted models");
  program
    .command("serve", { isDefault: true })
    .description("serve the OpenAI API on HOST:PORT (default 127.0.0.1:8080)")
    .option("--host <host>", "interface to listen on (env HOST)")
    .option("--port <port>", "port to listen on (env PORT)")
    .action(serve);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  await buildCli().parseAsync(argv);
}
