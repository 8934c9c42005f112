import fs from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { createLogger } from "./core/logger.js";
import { startServer } from "./http/server.js";
import { drain, drainOnSignals, Lifecycle, lifecycleSettingsFromEnv, type LifecycleSettings } from "./http/lifecycle.js";
import { httpLimitsFromEnv, type HttpLimits } from "./http/limits.js";
import { VERSION } from "./core/version.js";
import { ConfigStore } from "./config/store.js";
import { ConfigError, formatProblem } from "./config/problems.js";
import { loadConfig } from "./config/loader.js";
import { catalogue, stableJson } from "./config/catalogue.js";
import { sourcegraphCatalogue } from "./config/sourcegraph-catalogue.js";
import { projectRoot } from "./core/paths.js";
import { isLoopbackHost } from "./http/auth.js";
import { describeLimiter, limiterSettingsFromEnv, openLimiter, type LimiterSettings } from "./limits/open-limiter.js";
import { addKey, KeysFileError, readKeysFile } from "./config/keys-file.js";
import { demoModelPath, writeDemoModel } from "./demo-model/demo-model.js";
import { DEFAULT_URL as DOCTOR_URL, DOCTOR_DEFAULTS_HELP } from "./doctor/defaults.js";
import type { DoctorCliOptions } from "./doctor/report.js";
import { describeResponseStore, openResponseStore, responseStoreSettingsFromEnv, type ResponseStoreSettings } from "./stores/open-store.js";

const defaultConfigDir = () => process.env.UNDERSTUDY_CONFIG ?? path.join(projectRoot(), "config");

export async function serve(opts: { host?: string; port?: string; config?: string; allowUnauthenticated?: boolean; drainGraceMs?: number }): Promise<void> {
  const log = createLogger();
  const host = opts.host ?? process.env.HOST ?? "127.0.0.1";
  const port = Number(opts.port ?? process.env.PORT ?? 8080);
  let limits: Partial<HttpLimits>;
  let storeSettings: ResponseStoreSettings;
  let limiterSettings: LimiterSettings;
  let lifecycleSettings: LifecycleSettings;
  try {
    limits = httpLimitsFromEnv();
    storeSettings = responseStoreSettingsFromEnv();
    limiterSettings = limiterSettingsFromEnv();
    lifecycleSettings = lifecycleSettingsFromEnv();
    if (opts.drainGraceMs !== undefined) lifecycleSettings.drainGraceMs = opts.drainGraceMs;
  } catch (err) {
    console.error(`understudy: refusing to start: ${(err as Error).message}`);
    process.exit(1);
  }
  const configDir = opts.config ?? defaultConfigDir();
  // The shipped config registers the generated demo model; a fresh clone may not have made it yet.
  if (path.resolve(configDir) === path.join(projectRoot(), "config") && !fs.existsSync(demoModelPath())) {
    await writeDemoModel(demoModelPath());
    log.info({ path: demoModelPath() }, "generated the demo model");
  }
  let config: ConfigStore;
  try {
    config = ConfigStore.open(configDir, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`understudy: refusing to start: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  // Open (no keys) only where no one else can reach it, unless the operator says so.
  const requireKeys = !isLoopbackHost(host) && opts.allowUnauthenticated !== true;
  if (requireKeys && config.current().config.keys === undefined) {
    console.error(
      `understudy: refusing to start: listening on ${host} (beyond loopback) with no API keys in ${path.join(config.dir, "keys.yaml")}; ` +
        `add one with 'understudy keys add <name> --config ${config.dir}', or start with --allow-unauthenticated to serve anyone who can reach the port`,
    );
    process.exit(1);
  }
  config.watch();
  const responses = openResponseStore(storeSettings);
  const services = { startedAt: Date.now(), version: VERSION, config, responses };
  const limiter = openLimiter(limiterSettings, log);
  const lifecycle = new Lifecycle(lifecycleSettings.maxConcurrentRequests);
  const running = await startServer({ host, port, log, services, limits, requireKeys, limiter, lifecycle });
  const models = config.current().config.registrations.length;
  log.info(
    { url: running.url, config: config.dir, models, responses: describeResponseStore(storeSettings), limits: describeLimiter(limiterSettings) },
    "understudy listening",
  );
  // SIGTERM/SIGINT: the drain (lifecycle.ts); the stores close after the server, so responses still being answered get their writes.
  drainOnSignals(
    () => drain({ server: running.server, lifecycle, services, log, graceMs: lifecycleSettings.drainGraceMs, closeAlso: () => limiter.close() }),
    log,
  );
}

function validateConfig(dir: string | undefined): void {
  const loaded = loadConfig(dir ?? defaultConfigDir());
  if (loaded.problems.length > 0) {
    for (const p of loaded.problems) console.error(formatProblem(p));
    console.error(`${loaded.problems.length} problem(s) in ${loaded.dir}`);
    process.exit(1);
  }
  const models = loaded.registrations.map((r) => `${r.model} (${r.backend}; ${r.endpoints.join(", ")})`);
  console.log(`${loaded.dir}: valid, revision ${loaded.revision}`);
  console.log(`${loaded.registrations.length} model(s): ${models.join("; ") || "none"}`);
  console.log(`${loaded.providers.length} provider(s)${loaded.providers.length ? `: ${loaded.providers.map((p) => p.id).join(", ")}` : ""}`);
}

const EXPORT_FORMATS = { understudy: catalogue, sourcegraph: sourcegraphCatalogue } as const;

function exportModels(opts: { config?: string; out?: string; format: string }): void {
  if (!Object.hasOwn(EXPORT_FORMATS, opts.format)) {
    console.error(`understudy: unknown format '${opts.format}' (the formats are: ${Object.keys(EXPORT_FORMATS).join(", ")})`);
    process.exit(1);
  }
  const loaded = loadConfig(opts.config ?? defaultConfigDir());
  if (loaded.problems.length > 0) {
    for (const p of loaded.problems) console.error(formatProblem(p));
    process.exit(1);
  }
  const text = stableJson(EXPORT_FORMATS[opts.format as keyof typeof EXPORT_FORMATS](loaded));
  if (opts.out) fs.writeFileSync(opts.out, text);
  else process.stdout.write(text);
}

const positiveInt = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`${flag} must be a positive integer`);
  return Number(value);
};

function addKeysCommands(program: Command): void {
  const keys = program.command("keys").description("API keys (keys.yaml in the config directory, by their SHA-256 hash)");
  keys
    .command("add <name>")
    .description("make a random key, print it once and append its hash to keys.yaml")
    .option("--models <list>", "comma-separated names, model refs or globs (* ?) the key may use (default: every model)")
    .option("--rpm <n>", "requests per minute", positiveInt("--rpm"))
    .option("--tpm <n>", "tokens per minute", positiveInt("--tpm"))
    .option("--max-concurrent <n>", "requests at once", positiveInt("--max-concurrent"))
    .option("--role <role>", "user or admin", "user")
    .option("--expires <iso>", "ISO 8601 date-time after which the key is refused")
    .option("--config <dir>", "config directory (env UNDERSTUDY_CONFIG, default ./config)")
    .action((name: string, opts: { models?: string; rpm?: number; tpm?: number; maxConcurrent?: number; role: string; expires?: string; config?: string }) => {
      const dir = opts.config ?? defaultConfigDir();
      const models = opts.models?.split(",").map((m) => m.trim());
      const { key, file } = keysOrExit(() =>
        addKey(dir, name, { models, rpm: opts.rpm, tpm: opts.tpm, max_concurrent: opts.maxConcurrent, role: opts.role, expires: opts.expires }),
      );
      console.error(`added key '${name}' to ${file}; it is shown once, here (only its SHA-256 hash is kept):`);
      console.log(key);
    });
  keys
    .command("list")
    .description("the keys of keys.yaml: names, roles, allow-lists and limits (never hashes)")
    .option("--config <dir>", "config directory (env UNDERSTUDY_CONFIG, default ./config)")
    .action((opts: { config?: string }) => {
      const { keys: listed } = keysOrExit(() => readKeysFile(opts.config ?? defaultConfigDir()));
      for (const k of listed) {
        const limits = (["rpm", "tpm", "max_concurrent"] as const).filter((f) => k[f] !== undefined).map((f) => `${f}=${k[f]}`);
        const expires = k.expires === undefined ? [] : [`expires=${new Date(k.expires).toISOString()}`];
        console.log([k.name, k.role, `models=${k.models?.join(",") ?? "(all)"}`, ...limits, ...expires].join("\t"));
      }
    });
}

function keysOrExit<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof KeysFileError)) throw err;
    console.error(`understudy: ${err.message}`);
    process.exit(1);
  }
}

export function buildCli(): Command {
  const program = new Command("understudy").version(VERSION).description("OpenAI-compatible server for local and self-hosted models");
  program
    .command("serve", { isDefault: true })
    .description("serve the OpenAI API on HOST:PORT (default 127.0.0.1:8080)")
    .option("--host <host>", "interface to listen on (env HOST)")
    .option("--port <port>", "port to listen on (env PORT)")
    .option("--config <dir>", "registration directory (env UNDERSTUDY_CONFIG, default ./config)")
    .option("--allow-unauthenticated", "serve without API keys on an interface beyond loopback")
    .option(
      "--drain-grace-ms <ms>",
      "on SIGTERM/SIGINT, how long in-flight requests may finish (env UNDERSTUDY_DRAIN_GRACE_MS, default 30000)",
      positiveInt("--drain-grace-ms"),
    )
    .action(serve);
  addKeysCommands(program);
  program.command("validate-config [dir]").description("check every file of a config directory; exit 1 listing every problem").action(validateConfig);
  program
    .command("models")
    .description("the model catalogue")
    .command("export")
    .description("write the catalogue deterministically (models.json, or Sourcegraph's supported-models.json)")
    .option("--config <dir>", "registration directory")
    .option("--format <format>", "understudy (models.json) or sourcegraph (supported-models.json)", "understudy")
    .option("--out <file>", "output file (default stdout)")
    .action(exportModels);
  program
    .command("demo-model")
    .description("write the tiny random-weight demo GGUF (its output is gibberish)")
    .option("--out <path>", "where to write it", demoModelPath())
    .option("--if-missing", "do nothing if the file exists")
    .action(async (opts: { out: string; ifMissing?: boolean }) => {
      if (opts.ifMissing && fs.existsSync(opts.out)) return;
      await writeDemoModel(opts.out);
      console.log(`wrote ${opts.out} (${fs.statSync(opts.out).size} bytes)`);
    });
  program
    .command("pull <source>")
    .description(
      "download a GGUF model into <config>/models/ and register it: hf:<user>/<repo>/<file>.gguf, hf:<user>/<repo>:<quant>, an https:// URL or a local path " +
        "(env HF_TOKEN, HF_ENDPOINT); Ctrl-C keeps a partial file the same pull resumes",
    )
    .option("--name <name>", "the model name, and <name>.yaml (default: from the file name)")
    .option("--config <dir>", "config directory (env UNDERSTUDY_CONFIG, default ./config)")
    .option("--quant <quant>", "quantization to pick from a hf:<user>/<repo> source (e.g. Q4_K_M)")
    .option("--sha256 <hex>", "the file's expected sha256 (Hugging Face's is checked without it)")
    .option("--force", "replace an existing registration file or model file of that name")
    // Loaded on use: node-llama-cpp's downloader stays out of the server's start-up.
    .action(async (source: string, opts: { name?: string; config?: string; quant?: string; sha256?: string; force?: boolean }) =>
      (await import("./pull/pull-command.js")).pullCommand(source, { ...opts, config: opts.config ?? defaultConfigDir() }),
    );
  program
    .command("doctor")
    .description(`check a running OpenAI-compatible server against the spec, model by model (bounds: ${DOCTOR_DEFAULTS_HELP}); exit 1 on any failure`)
    .option("--url <url>", "the server's root URL", DOCTOR_URL)
    .option("--key <key>", "API key to send (default env OPENAI_API_KEY)")
    .option("--model <model...>", "check these models (default: every model /v1/models lists)")
    .option("--json", "print the report as JSON")
    .option("--timeout <seconds>", "per-check timeout")
    .option("--total-timeout <seconds>", "timeout of the whole run")
    .option("--max-models <n>", "check at most this many models")
    // Loaded on use: the doctor (and the openai SDK) stay out of the server's start-up.
    .action(async (opts: DoctorCliOptions) => (await import("./doctor/report.js")).doctorCommand(opts));
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  await buildCli().parseAsync(argv);
}
