/**
 * The live configuration: an immutable snapshot swapped atomically on reload. Requests hold the
 * snapshot they started with; a retired snapshot releases its backend instances once idle.
 * An invalid directory never replaces a good snapshot: its problems are kept for /health.
 */
import fs from "node:fs";
import type { Logger } from "pino";
import { backendModule } from "../backends/registry.js";
import type { BackendInstance, EndpointId } from "../backends/types.js";
import { loadConfig, type LoadedConfig } from "./loader.js";
import { ConfigError, formatProblem, type ConfigProblem } from "./problems.js";
import type { Registration } from "./registration.js";
import { buildIndex, resolveModel, type ModelIndex } from "./resolve.js";

export class ConfigSnapshot {
  readonly index: ModelIndex;
  private readonly instances = new Map<Registration, BackendInstance>();
  private active = 0;
  private retired = false;

  constructor(readonly config: LoadedConfig, private readonly log: Logger) {
    this.index = buildIndex(config.registrations);
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

  retire(): void {
    this.retired = true;
    if (this.active === 0) void this.releaseAll();
  }

  async warm(): Promise<void> {
    await Promise.all(
      this.config.registrations.filter((r) => r.settings.load === "eager").map((r) => this.backend(r).warm?.()),
    );
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
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;

  private constructor(readonly dir: string, first: LoadedConfig, private readonly log: Logger) {
    this.snapshot = new ConfigSnapshot(first, log);
  }

  /** Loads the directory; throws ConfigError (with every problem) if it is invalid. */
  static open(dir: string, log: Logger): ConfigStore {
    const loaded = loadConfig(dir);
    if (loaded.problems.length > 0) throw new ConfigError(loaded.problems);
    return new ConfigStore(loaded.dir, loaded, log);
  }

  current(): ConfigSnapshot {
    return this.snapshot;
  }

  /** Starts loading the current snapshot's `load: eager` models; a failure is logged, not thrown. */
  warmCurrent(): void {
    void this.snapshot.warm().catch((err) => this.log.error({ err }, "eager model load failed"));
  }

  reload(): boolean {
    const loaded = loadConfig(this.dir);
    if (loaded.problems.length > 0) {
      this.lastProblems = loaded.problems;
      for (const p of loaded.problems) this.log.error({ problem: formatProblem(p) }, "config reload rejected; still serving the last good config");
      return false;
    }
    this.lastProblems = [];
    if (loaded.revision === this.snapshot.config.revision) return true;
    const old = this.snapshot;
    this.snapshot = new ConfigSnapshot(loaded, this.log);
    this.loadedAt = new Date();
    old.retire();
    this.warmCurrent();
    this.log.info({ revision: loaded.revision, models: loaded.registrations.length }, "config reloaded");
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

  /** Watches the directory (recursively); changes are debounced, then the whole directory is reloaded. */
  watch(debounceMs = 150): void {
    this.watcher = fs.watch(this.dir, { recursive: true }, (_event, file) => {
      // Model files and exports change often and mean nothing here; directories (no extension) might.
      if (file && /\.[^/]+$/.test(String(file)) && !/\.ya?ml$/.test(String(file))) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        try {
          this.reload();
        } catch (err) {
          this.log.error({ err }, "config reload failed");
        }
      }, debounceMs);
    });
    this.watcher.on("error", (err) => this.log.error({ err }, "config watcher failed"));
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
