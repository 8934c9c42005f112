/**
 * The process-wide llama.cpp engine: node-llama-cpp is imported on first use (it costs ~0.5 s,
 * which a server with only upstream models should not pay), and each GGUF file is loaded once and
 * shared by every registration that names it, counted so the last user unloads it.
 */
import type { Llama, LlamaModel } from "node-llama-cpp";
import { ServiceUnavailableError } from "../../core/errors.js";
import { restrictJsonNumbers } from "./json-numbers.js";

type NodeLlamaCpp = typeof import("node-llama-cpp");

let moduleP: Promise<NodeLlamaCpp> | undefined;
let llamaP: Promise<Llama> | undefined;

export function nodeLlamaCpp(): Promise<NodeLlamaCpp> {
  // The number rule is replaced before any grammar can be built with it.
  moduleP ??= import("node-llama-cpp").then(async (m) => (await restrictJsonNumbers(), m));
  return moduleP;
}

/** Never downloads or compiles: a missing prebuilt binary is an error, not a build. */
export function llamaEngine(): Promise<Llama> {
  llamaP ??= nodeLlamaCpp().then((m) =>
    m.getLlama({
      build: "never",
      gpu: process.env.UNDERSTUDY_GPU === "auto" ? "auto" : false,
      skipDownload: true,
      progressLogs: false,
      logLevel: m.LlamaLogLevel.error,
    }),
  );
  return llamaP;
}

interface ModelEntry {
  model: Promise<LlamaModel>;
  users: number;
  disposeTimer?: NodeJS.Timeout;
}

/**
 * A config reload retires the old snapshot before the new one's first request loads the model:
 * an unused model is kept this long so a reload never re-reads the weights.
 */
const UNUSED_MODEL_GRACE_MS = 30_000;

const models = new Map<string, ModelEntry>();

const keyOf = (file: string, gpuLayers: "auto" | number) => `${file}\0${gpuLayers}`;

export async function acquireModel(file: string, gpuLayers: "auto" | number): Promise<LlamaModel> {
  const key = keyOf(file, gpuLayers);
  let entry = models.get(key);
  if (!entry) {
    const model = llamaEngine().then((llama) => llama.loadModel({ modelPath: file, gpuLayers }));
    entry = { model, users: 0 };
    models.set(key, entry);
    model.catch(() => models.delete(key));
  }
  clearTimeout(entry.disposeTimer);
  entry.users++;
  try {
    return await entry.model;
  } catch (err) {
    entry.users--;
    throw new ServiceUnavailableError(`The model file could not be loaded: ${(err as Error).message}`, "model_load_failed");
  }
}

export function releaseModel(file: string, gpuLayers: "auto" | number): void {
  const key = keyOf(file, gpuLayers);
  const entry = models.get(key);
  if (!entry) return;
  entry.users--;
  if (entry.users > 0) return;
  clearTimeout(entry.disposeTimer);
  entry.disposeTimer = setTimeout(() => {
    if (entry.users > 0 || models.get(key) !== entry) return;
    models.delete(key);
    void entry.model.then(
      (model) => model.dispose(),
      () => undefined,
    );
  }, UNUSED_MODEL_GRACE_MS);
  entry.disposeTimer.unref();
}
