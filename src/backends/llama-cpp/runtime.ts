/**
 * One registration's live llama.cpp state: a context with `parallel` sequences, each a slot with
 * its own LlamaChat and LlamaCompletion, handed out by a SlotPool; an embedding context on demand.
 * Loaded lazily (or eagerly on warm), unloaded after `idle_unload_s` without requests.
 */
import os from "node:os";
import type { ChatWrapper, LlamaChat, LlamaCompletion, LlamaContext, LlamaContextSequence, LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import type { Logger } from "pino";
import { clipEcho, ModelBusyError, ServiceUnavailableError } from "../../core/errors.js";
import { acquireModel, nodeLlamaCpp, releaseModel } from "./engine.js";
import type { LlamaCppSettings } from "./settings.js";
import { SlotPool, type Lease } from "./slots.js";
import { loadCheckedTemplate } from "./template-check.js";
import { telemetry } from "../../core/telemetry.js";
import type { BackendStatus } from "../types.js";

/** Longest load-failure message the admin page is shown (a template error may quote a long template). */
const MAX_LOAD_ERROR_CHARS = 300;

export interface Slot {
  sequence: LlamaContextSequence;
  chat: LlamaChat;
  completion: LlamaCompletion;
}

export interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  slots: SlotPool<Slot>;
  chatWrapper: ChatWrapper;
  embedding?: Promise<{ context: LlamaEmbeddingContext; pool: SlotPool<LlamaEmbeddingContext> }>;
}

/** A template that fails its check at load time is the operator's problem: a 503, never a 500. */
async function servableTemplate(file: string): Promise<string> {
  try {
    return await loadCheckedTemplate(file);
  } catch (err) {
    throw new ServiceUnavailableError(`The model cannot be loaded: ${(err as Error).message}`, "model_load_failed");
  }
}

export class LlamaRuntime {
  private loading?: Promise<Loaded>;
  /** True from the end of a load to the start of an unload. */
  isLoaded = false;
  private idleTimer?: NodeJS.Timeout;
  private inUse = 0;
  /** Ends the metrics' view of this model's queue and sequences (set while loaded). */
  private unwatch?: () => void;
  /** The generation slots while loaded (the admin page's queue and busy counts). */
  private pool?: SlotPool<Slot>;
  /** Why the last load failed; cleared by a load that succeeds. */
  private loadError?: string;

  constructor(
    readonly settings: Readonly<LlamaCppSettings>,
    private readonly log: Logger,
  ) {}

  get threads(): number {
    return this.settings.threads ?? Math.max(1, os.availableParallelism());
  }

  load(): Promise<Loaded> {
    this.loading ??= this.open().then(
      (loaded) => ((this.isLoaded = true), (this.loadError = undefined), loaded),
      (err) => {
        this.loading = undefined;
        this.loadError = clipEcho((err as Error).message, MAX_LOAD_ERROR_CHARS);
        throw err;
      },
    );
    return this.loading;
  }

  private async open(): Promise<Loaded> {
    const s = this.settings;
    const m = await nodeLlamaCpp();
    const model = await acquireModel(s.model, s.gpu_layers);
    try {
      const context = await model.createContext({ contextSize: s.context_size, sequences: s.parallel, threads: this.threads, batchSize: s.batch_size });
      const chatWrapper = s.template ? new m.JinjaTemplateChatWrapper({ template: await servableTemplate(s.template) }) : m.resolveChatWrapper(model);
      const slots: Slot[] = [];
      for (let i = 0; i < s.parallel; i++) {
        const sequence = context.getSequence();
        slots.push({
          sequence,
          chat: new m.LlamaChat({ contextSequence: sequence, chatWrapper }),
          completion: new m.LlamaCompletion({ contextSequence: sequence }),
        });
      }
      this.log.info({ file: s.model, context_size: context.contextSize, parallel: s.parallel, threads: this.threads }, "llama.cpp model loaded");
      const pool = new SlotPool(slots, s.queue_limit);
      this.pool = pool;
      this.unwatch = telemetry().localModel(this.registrationName(), () => ({ queued: pool.waiting, busy: slots.length - pool.available }));
      return { model, context, chatWrapper, slots: pool };
    } catch (err) {
      releaseModel(s.model, s.gpu_layers);
      throw err;
    }
  }

  /** A generation slot, waiting in line if all are busy; `release` must always be called. */
  async acquire(signal: AbortSignal): Promise<{ loaded: Loaded; lease: Lease<Slot> }> {
    const loaded = await this.load();
    const lease = await loaded.slots.acquire(signal);
    return { loaded, lease: this.track(lease) };
  }

  async acquireEmbedding(signal: AbortSignal): Promise<{ loaded: Loaded; lease: Lease<LlamaEmbeddingContext> }> {
    const loaded = await this.load();
    loaded.embedding ??= loaded.model
      .createEmbeddingContext({ contextSize: this.settings.context_size, threads: this.threads })
      .then((context) => ({ context, pool: new SlotPool([context], this.settings.queue_limit) }));
    const { pool } = await loaded.embedding;
    return { loaded, lease: this.track(await pool.acquire(signal)) };
  }

  private track<T>(lease: Lease<T>): Lease<T> {
    this.inUse++;
    clearTimeout(this.idleTimer);
    let done = false;
    return {
      slot: lease.slot,
      release: () => {
        if (done) return;
        done = true;
        lease.release();
        this.inUse--;
        this.scheduleIdleUnload();
      },
    };
  }

  private scheduleIdleUnload(): void {
    const idle = this.settings.idle_unload_s;
    if (!idle || this.inUse > 0) return;
    this.idleTimer = setTimeout(() => void this.unload().catch((err) => this.log.error({ err }, "idle unload failed")), idle * 1000);
    this.idleTimer.unref();
  }

  /** The registration's name: the store gives each backend a logger bound to it (config/store.ts). */
  private registrationName(): string {
    const bound = (this.log.bindings?.() as { model?: unknown } | undefined)?.model;
    return typeof bound === "string" ? bound : this.settings.model;
  }

  /** Loaded or not, and the generation slots' queue and use: read by the admin page, never per request. */
  status(): BackendStatus {
    const pool = this.isLoaded ? this.pool : undefined;
    return {
      loaded: this.isLoaded,
      loading: this.loading !== undefined && !this.isLoaded,
      loadError: this.loadError,
      queueDepth: pool?.waiting ?? 0,
      busySequences: pool === undefined ? 0 : pool.size - pool.available,
      sequences: this.settings.parallel,
    };
  }

  /**
   * Unloads on request (the admin page): refused while a request holds or waits for a slot, since
   * disposing the context under a generation would fail it. A later request loads the model again.
   */
  async unloadIdle(): Promise<void> {
    const waiting = this.pool?.waiting ?? 0;
    if (this.inUse > 0 || waiting > 0) {
      throw new ModelBusyError(`The model is serving ${this.inUse} request(s) with ${waiting} waiting; unload it once it is idle`);
    }
    await this.unload();
  }

  async unload(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.pool = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    const loading = this.loading;
    this.loading = undefined;
    this.isLoaded = false;
    const loaded = await loading?.catch(() => undefined);
    if (!loaded) return;
    const embedding = await loaded.embedding?.catch(() => undefined);
    await embedding?.context.dispose();
    await loaded.context.dispose();
    releaseModel(this.settings.model, this.settings.gpu_layers);
    this.log.info({ file: this.settings.model }, "llama.cpp model unloaded");
  }
}
