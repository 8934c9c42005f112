/**
 * The live configuration: an immutable snapshot swapped atomically on reload. Requests hold the
 * snapshot they started with; a retired snapshot releases its backend instances once idle.
 * An invalid directory never replaces a good snapshot: its problems are kept for /health.
 */
import fs from "node:fs";
import type { Logger } from "pino";
import { backendModule } from "../backends/registry.js";
import type { BackendInstance } from "../backends/types.js";
import type { EndpointId } from "../core/operations.js";
import { loadConfig, type LoadedConfig } from "./loader.js";
import { templateFingerprint, yamlFingerprint } from "./config-fingerprint.js";
import { CONFIG_POLL_MS, ConfigWatcher } from "./config-watcher.js";
import { ConfigError, formatProblem, type ConfigProblem } from "./problems.js";
import type { Registration } from "./registration.js";
import { buildIndex, resolveModel, type ModelIndex } from "./resolve.js";
import { collectingSlowChecks } from "../core/slow-checks.js";
import { telemetry } from "../core/telemetry.js";

/** Loads per reload while slow checks run: each pass caches the checks the directory needs. */
const MAX_RELOAD_PASSES = 3;

export class ConfigSnapshot {
  readonly index: ModelIndex;
  private readonly instances = new Map<Registration, BackendInstance>();
  private active = 0;
  private retired = false;

  constructor(
    readonly config: LoadedConfig,
    private readonly log: Logger,
  ) {
    this.index = buildIndex(
      config.registrations,
      config.providers.map((p) => p.id),
      config.defaultModels,
    );
  }

  resolve(model: string, endpoint?: EndpointId): Registration {
    return resolveModel(this.index, model, endpoint);
  }

  backend(reg: Registration): BackendInstance {
    let instance = this.instances.get(reg);
    if (!instance) {
      instance = backendModule(reg.backend).create({ settings: reg.settings, provider: reg.provider, log: this.log.child({ model: reg.model }) });
      this.instances.set(reg, instance);
    }
    return instance;
  }

  /** Registrations whose backend holds its model in memory now. */
  loadedModels(): string[] {
    return [...this.instances].filter(([, instance]) => instance.loaded?.() === true).map(([reg]) => reg.model);
  }

  /** Marks a request as using this snapshot; the returned function ends that use. */
  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
      if (this.retired && this.active === 0) void this.releaseAll();
    };
  }

  /** No new requests: its backends are released once the last request using it ends. Resolves when released now (none active). */
  retire(): Promise<void> {
    this.retired = true;
    return this.active === 0 ? this.releaseAll() : Promise.resolve();
  }

  async warm(): Promise<void> {
    await Promise.all(this.config.registrations.filter((r) => r.settings.load === "eager").map((r) => this.backend(r).warm?.()));
  }

  private async releaseAll(): Promise<void> {
    const instances = [...this.instances.values()];
    this.instances.clear();
    await Promise.allSettled(instances.map((i) => i.release?.()));
  }
}

export interface ConfigHealth {
  status: "ok" | "error";
  revision: string;
  models: number;
  errors: string[];
  loaded_at: string;
  /** Registrations whose model is in memory now (llama-cpp: loaded, not yet idle-unloaded). */
  loaded_models: string[];
}

export class ConfigStore {
  private snapshot: ConfigSnapshot;
  private lastProblems: readonly ConfigProblem[] = [];
  private loadedAt = new Date();
  /** When a reload last ended, whatever its outcome (undefined: none since start). */
  private reloadedAt?: Date;
  private watcher?: ConfigWatcher;
  /** The fingerprint of the directory as last loaded (taken before the load: a later edit differs). */
  private lastPrint: string;
  private reloading = false;
  private reloadAgain = false;
  private closed = false;

  private constructor(
    readonly dir: string,
    first: LoadedConfig,
    firstYamlPrint: string,
    private readonly log: Logger,
  ) {
    this.snapshot = new ConfigSnapshot(first, log);
    this.lastPrint = `${firstYamlPrint}:${templateFingerprint(this.templates())}`;
  }

  /** Loads the directory; throws ConfigError (with every problem) if it is invalid. */
  static open(dir: string, log: Logger): ConfigStore {
    const print = yamlFingerprint(dir);
    const loaded = loadConfig(dir);
    if (loaded.problems.length > 0) throw new ConfigError(loaded.problems);
    return new ConfigStore(loaded.dir, loaded, print, log);
  }

  current(): ConfigSnapshot {
    return this.snapshot;
  }

  /** Starts loading the current snapshot's `load: eager` models; a failure is logged, not thrown. */
  warmCurrent(): void {
    void this.snapshot.warm().catch((err) => this.log.error({ err }, "eager model load failed"));
  }

  /**
   * Loads the directory again and swaps the snapshot if it is valid. Slow checks (rendering a new
   * chat template in a child process) run asynchronously: the directory is loaded again once they
   * are done, their outcomes cached, so the event loop is never blocked on them. Resolves to
   * whether the directory was valid; undefined if it kept changing under the checks.
   */
  async reload(): Promise<boolean | undefined> {
    for (let attempt = 0; attempt < MAX_RELOAD_PASSES; attempt++) {
      const { result: loaded, pending } = collectingSlowChecks(() => loadConfig(this.dir));
      if (pending.length === 0) return this.apply(loaded);
      await Promise.all(pending);
    }
    this.log.warn("config reload deferred: the directory kept changing while its checks ran");
    telemetry().configReload("deferred");
    return undefined;
  }

  private apply(loaded: LoadedConfig): boolean {
    this.reloadedAt = new Date();
    if (loaded.problems.length > 0) {
      this.lastProblems = loaded.problems;
      for (const p of loaded.problems) this.log.error({ problem: formatProblem(p) }, "config reload rejected; still serving the last good config");
      telemetry().configReload("rejected");
      return false;
    }
    this.lastProblems = [];
    if (loaded.revision === this.snapshot.config.revision) {
      telemetry().configReload("unchanged");
      return true;
    }
    const old = this.snapshot;
    this.snapshot = new ConfigSnapshot(loaded, this.log);
    this.loadedAt = new Date();
    void old.retire();
    this.warmCurrent();
    this.log.info({ revision: loaded.revision, models: loaded.registrations.length }, "config reloaded");
    telemetry().configReload("applied");
    return true;
  }

  health(): ConfigHealth {
    return {
      status: this.lastProblems.length > 0 ? "error" : "ok",
      revision: this.snapshot.config.revision,
      models: this.snapshot.config.registrations.length,
      errors: this.lastProblems.map(formatProblem),
      loaded_at: this.loadedAt.toISOString(),
      loaded_models: this.snapshot.loadedModels(),
    };
  }

  /** The problems of the last load as they were found (file, line, field, message): /health formats them, the admin page shows them. */
  problems(): readonly ConfigProblem[] {
    return this.lastProblems;
  }

  /** When the snapshot in use was loaded, and when a reload last ended (any outcome; undefined: none since start). */
  times(): { loadedAt: Date; lastReloadAt: Date | undefined } {
    return { loadedAt: this.loadedAt, lastReloadAt: this.reloadedAt };
  }

  /**
   * Watches the directory (chokidar, and a fingerprint check every `pollMs` as a safety net);
   * changes are debounced, and the whole directory is reloaded, one reload at a time, only when
   * its content changed. Resolves once the file-system watches are in place.
   */
  watch(options: number | { debounceMs?: number; pollMs?: number; events?: boolean } = {}): Promise<void> {
    const { debounceMs = 150, pollMs = CONFIG_POLL_MS.value, events = true } = typeof options === "number" ? { debounceMs: options } : options;
    this.watcher?.close();
    this.watcher = new ConfigWatcher(this.dir, {
      debounceMs,
      pollMs,
      events,
      // While the directory is invalid, any file may be what it lacks (a model file not yet copied in).
      matters: (file) => this.lastProblems.length > 0 || this.usesTemplate(file),
      onChange: (fromEvent) => this.reloadIfChanged(fromEvent),
      onError: (err) => this.log.error({ err }, "config watcher failed"),
    });
    return this.watcher.ready();
  }

  private templates(): string[] {
    return this.snapshot.config.registrations.map((r) => r.settings.template).filter((t): t is string => typeof t === "string");
  }

  private usesTemplate(file: string): boolean {
    const templates = this.templates();
    if (templates.length === 0) return false;
    if (templates.includes(file)) return true;
    try {
      // Templates are named by their real path; an event may name a symlink to one.
      return templates.includes(fs.realpathSync(file));
    } catch {
      return false;
    }
  }

  private reloadIfChanged(fromEvent: boolean): void {
    if (this.closed) return;
    const print = `${yamlFingerprint(this.dir)}:${templateFingerprint(this.templates())}`;
    // An invalid directory is loaded again on any event: what it lacked (a model file) may have appeared.
    if (print === this.lastPrint && !(fromEvent && this.lastProblems.length > 0)) return;
    this.lastPrint = print;
    this.reloadSerially();
  }

  /** A change seen while a reload awaits its checks is loaded after it, not alongside it. */
  private reloadSerially(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    void this.reload()
      .catch((err) => this.log.error({ err }, "config reload failed"))
      .finally(() => {
        this.reloading = false;
        if (this.reloadAgain && !this.closed) {
          this.reloadAgain = false;
          this.reloadSerially();
        }
      });
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
  }
}
