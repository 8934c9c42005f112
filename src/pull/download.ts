/**
 * Fetching the model file(s) into `<config>/models/` with node-llama-cpp's model downloader (ipull):
 * parallel connections, split GGUF parts (`-00001-of-00003.gguf`) fetched together and binary-split
 * parts (`.gguf.part1of3`) joined into one file, and a partial file (`<file>.ipull`, progress
 * recorded at its end) that a later pull resumes with Range requests from its last complete chunk.
 * A local path is copied instead (the same final names, through a temp file).
 */
import fs from "node:fs";
import path from "node:path";
import { PullError, PullInterruptedError } from "./pull-error.js";
import type { ProgressReporter } from "./progress.js";
import { huggingFaceEndpoint, splitParts } from "./hugging-face.js";
import { PULL_LIMITS } from "./pull-limits.js";

/** The partial file ipull keeps while downloading (its PROGRESS_FILE_EXTENSION). */
export const PARTIAL_SUFFIX = ".ipull";
/** Files fetched at once (split parts); each file also uses several ranged connections. */
const PARALLEL_DOWNLOADS = 4;

export interface Downloaded {
  /** The file llama.cpp loads (the first part of a split model). */
  entry: string;
  /** Every file of the model. */
  files: string[];
  /** The files this pull wrote (not one that was already in place): only these may be deleted when a check fails. */
  written: string[];
}

/** How an in-flight pull is stopped: Ctrl-C cancels the download but keeps its partial file. */
export interface Interrupt {
  readonly requested: boolean;
  /** Called on SIGINT/SIGTERM while a download runs; resolves once the download has let go of its files. */
  onInterrupt?: () => Promise<void>;
}

export async function downloadModel(opts: {
  url: URL;
  dir: string;
  fileName: string;
  headers: Record<string, string>;
  replace: boolean;
  progress: ProgressReporter;
  interrupt: Interrupt;
}): Promise<Downloaded> {
  const { createModelDownloader } = await import("node-llama-cpp");
  fs.mkdirSync(opts.dir, { recursive: true });
  // A complete file already in place (the caller checked its sha256) is kept by the downloader, and never deleted by a later check.
  const existedBefore = fs.existsSync(path.join(opts.dir, opts.fileName));
  const stall = new StallWatch(PULL_LIMITS.stallMs.value);
  const downloader = await createModelDownloader({
    modelUri: opts.url.href,
    dirPath: opts.dir,
    fileName: opts.fileName,
    headers: opts.headers,
    endpoints: { huggingFace: huggingFaceEndpoint().href },
    // An existing complete file of the same size is kept unless the operator asked to replace it (checked by sha256 afterwards).
    skipExisting: !opts.replace,
    // Ctrl-C must leave the partial file for the next pull to resume.
    deleteTempFileOnCancel: false,
    parallelDownloads: PARALLEL_DOWNLOADS,
    onProgress: (s) => {
      stall.progressed(s.downloadedSize);
      opts.progress.update(s);
    },
  }).catch((err: Error) => {
    throw new PullError(`cannot start the download from ${opts.url.origin}${opts.url.pathname}: ${err.message.slice(0, 300)}`);
  });
  opts.interrupt.onInterrupt = () => downloader.cancel({ deleteTempFile: false });
  stall.watch(() => void downloader.cancel({ deleteTempFile: false }));
  try {
    await downloader.download();
  } catch (err) {
    opts.progress.interrupt();
    if (opts.interrupt.requested) throw new PullInterruptedError(downloader.entrypointFilePath + PARTIAL_SUFFIX);
    if (stall.stalled) throw stall.error();
    throw new PullError(`download failed: ${(err as Error).message.slice(0, 300)}; run the same pull again to resume it`);
  } finally {
    opts.interrupt.onInterrupt = undefined;
    stall.stop();
  }
  if (stall.stalled) {
    opts.progress.interrupt();
    throw stall.error();
  }
  // A cancelled ipull download returns as if done: the interrupt flag says whether it was.
  if (opts.interrupt.requested) {
    opts.progress.interrupt();
    throw new PullInterruptedError(downloader.entrypointFilePath + PARTIAL_SUFFIX);
  }
  const files = downloader.filesInfo.map((f) => f.filePath);
  for (const info of downloader.filesInfo) {
    const size = fs.existsSync(info.filePath) ? fs.statSync(info.filePath).size : -1;
    if (size < 0 || (info.totalSize > 0 && size !== info.totalSize))
      throw new PullError(`download of ${info.fileName} ended incomplete (${size} of ${info.totalSize} bytes); run the same pull again to resume it`);
  }
  opts.progress.done({ totalSize: downloader.totalSize, downloadedSize: downloader.totalSize });
  return { entry: downloader.entrypointFilePath, files, written: opts.replace || !existedBefore ? files : [] };
}

/** Stops a download that has received no byte for `stallMs` (checked every tenth of it). */
class StallWatch {
  stalled = false;
  private lastBytes = -1;
  private lastAt = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stallMs: number) {}

  progressed(bytes: number): void {
    if (bytes === this.lastBytes) return;
    this.lastBytes = bytes;
    this.lastAt = Date.now();
  }

  watch(cancel: () => void): void {
    this.lastAt = Date.now();
    this.timer = setInterval(
      () => {
        if (Date.now() - this.lastAt < this.stallMs) return;
        this.stalled = true;
        this.stop();
        cancel();
      },
      Math.max(10, Math.floor(this.stallMs / 10)),
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }

  error(): PullError {
    return new PullError(
      `the download received nothing for ${this.stallMs} ms (UNDERSTUDY_PULL_STALL_MS); the partial file is kept: run the same pull again to resume it`,
    );
  }
}

/** A local GGUF (every part of a split one) copied into `dir`: each through `<name>.copying`, renamed when whole. */
export async function copyLocalModel(source: string, dir: string, replace: boolean): Promise<Downloaded> {
  if (!fs.existsSync(source) || !fs.statSync(source).isFile()) throw new PullError(`${source}: no such file`);
  const sources = splitParts(source);
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const written: string[] = [];
  for (const from of sources) {
    const to = path.join(dir, path.basename(from));
    files.push(to);
    if (path.resolve(from) === path.resolve(to)) continue;
    if (fs.existsSync(to) && !replace) throw new PullError(`${to} exists: --force to replace it`);
    const temp = `${to}.copying`;
    try {
      // A copy-on-write clone where the file system has one, a plain copy elsewhere.
      await fs.promises.copyFile(from, temp, fs.constants.COPYFILE_FICLONE);
      fs.renameSync(temp, to);
    } catch (err) {
      fs.rmSync(temp, { force: true });
      throw new PullError(`cannot copy ${from}: ${(err as Error).message}`);
    }
    written.push(to);
  }
  return { entry: files[0], files, written };
}
