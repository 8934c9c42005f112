/**
 * Notices every change to the config directory. Node 20's recursive fs.watch on Linux stops
 * reporting a file once it is replaced by rename (editors' atomic saves, `sed -i`, `mv`), and
 * never follows the Kubernetes ConfigMap `..data` symlink swap; chokidar watches each directory
 * and re-watches replaced files. As a safety net against any event still lost (inotify queue
 * overflow, network file systems), a periodic fingerprint of the directory catches the rest.
 * Either way the caller is told only after a debounce, and decides from the fingerprint.
 */
import fs from "node:fs";
import path from "node:path";
import chokidar, { type FSWatcher } from "chokidar";
import { envLimit } from "../core/env-limit.js";

/**
 * How often the directory's fingerprint is checked when no event arrives (milliseconds). Each
 * check reads the YAML files (bounded by CONFIG_LIMITS) without parsing them.
 */
export const CONFIG_POLL_MS = envLimit("UNDERSTUDY_CONFIG_POLL_MS", 3000);

/** Watching deeper than a config directory is ever nested would only cost inotify watches. */
const MAX_WATCH_DEPTH = 16;

export interface ConfigWatcherOptions {
  debounceMs: number;
  /** 0: no periodic check (the tests of the watcher alone). */
  pollMs: number;
  /** false: no file-system events (the tests of the periodic check alone). */
  events?: boolean;
  /** Whether an event on this (non-YAML) file matters: a chat template a registration names, say. */
  matters(file: string): boolean;
  /** Called after the debounce; `fromEvent` is false for the periodic check. */
  onChange(fromEvent: boolean): void;
  onError(err: unknown): void;
}

const isYaml = (file: string) => /\.ya?ml$/.test(file);

/**
 * A symlinked directory is not followed, as the loader does not follow one: `evil -> /` would
 * watch a whole file system, and `a -> .` with `b -> .` 2^depth copies of the directory. A
 * ConfigMap's `..data` needs no following: its target, a `..<timestamp>` directory, is a real
 * directory beside it and is watched as such. Symlinked files are followed: the loader reads
 * them, and each costs one watch.
 */
function isSymlinkedDirectory(realRoot: string, file: string): boolean {
  try {
    return file !== realRoot && fs.lstatSync(file).isSymbolicLink() && fs.statSync(file).isDirectory();
  } catch {
    // Gone already, or a dangling link: nothing to watch below it.
    return false;
  }
}

export class ConfigWatcher {
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private readonly watching: Promise<void>;

  constructor(
    dir: string,
    private readonly options: ConfigWatcherOptions,
  ) {
    if (options.events !== false) {
      const realRoot = fs.realpathSync(dir);
      this.watcher = chokidar.watch(realRoot, {
        ignoreInitial: true,
        // Kubernetes mounts a ConfigMap's keys as symlinks through `..data`: their targets are what changes.
        followSymlinks: true,
        depth: MAX_WATCH_DEPTH,
        ignored: (file) => path.basename(file) === "node_modules" || isSymlinkedDirectory(realRoot, file),
      });
      this.watcher.on("all", (event, file) => this.onEvent(event, file));
      // kubelet's swap renames a new `..data` link over the old one: chokidar reports no event for
      // it (the path still names a directory), so the watch's own report of the rename is used.
      this.watcher.on("raw", (_event, file) => {
        if (String(file).startsWith("..")) this.schedule();
      });
      this.watcher.on("error", (err) => options.onError(err));
    }
    const watcher = this.watcher;
    // An edit made while the watches were being set up has no event: one check once they are in place.
    this.watching = watcher
      ? new Promise((resolve) =>
          watcher.once("ready", () => {
            options.onChange(false);
            resolve();
          }),
        )
      : Promise.resolve();
    if (options.pollMs > 0) {
      this.poll = setInterval(() => options.onChange(false), options.pollMs);
      // The check is a safety net: it must not keep a process alive that is otherwise done.
      this.poll.unref();
    }
  }

  private onEvent(event: string, file: string): void {
    // Model files change often and mean nothing here; directories (a new one, the `..data` swap) might.
    const isFileEvent = event === "add" || event === "change" || event === "unlink";
    const throughKubernetesData = file.includes(`${path.sep}..`);
    if (isFileEvent && !isYaml(file) && !throughKubernetesData && !this.options.matters(file)) return;
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.options.onChange(true), this.options.debounceMs);
  }

  /** Resolves once the file-system watches are in place (changes before that may be seen by the poll only). */
  ready(): Promise<void> {
    return this.watching;
  }

  close(): void {
    clearTimeout(this.timer);
    clearInterval(this.poll);
    void this.watcher?.close();
  }
}
