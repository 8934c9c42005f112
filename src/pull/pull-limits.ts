/** The bounds of `understudy pull`, each settable by an `UNDERSTUDY_PULL_*` environment variable. */
import { envLimit } from "../core/env-limit.js";

export const PULL_LIMITS = {
  /**
   * One Hugging Face API call (a repository's file list, a HEAD for the checksum): they answer in
   * well under a second; a stalled mirror must not hang the command. The download itself has no
   * total time-out (a 40 GB file takes hours); node-llama-cpp's downloader retries a stalled
   * connection and resumes at the last completed chunk.
   */
  apiTimeoutMs: envLimit("UNDERSTUDY_PULL_API_TIMEOUT_MS", 30_000),
  /** A repository's file list as JSON: Hugging Face's tree pages are ~100 KB; a mirror answering more is broken or hostile. */
  apiMaxBytes: envLimit("UNDERSTUDY_PULL_API_MAX_BYTES", 8 * 1024 * 1024),
  /** Pages of a repository's file list followed (`Link: rel="next"`): 1000 files a page on Hugging Face. */
  apiMaxPages: envLimit("UNDERSTUDY_PULL_API_MAX_PAGES", 20),
  /**
   * A download that receives no byte for this long is stopped, its partial file kept for the next
   * pull: node-llama-cpp's downloader retries a dead host up to 150 times with back-off, which
   * kept a pull waiting for minutes with nothing said.
   */
  stallMs: envLimit("UNDERSTUDY_PULL_STALL_MS", 60_000),
  /** How often the plain (non-terminal) progress line is written, so a log gets a line every few seconds, not thousands. */
  progressIntervalMs: envLimit("UNDERSTUDY_PULL_PROGRESS_INTERVAL_MS", 5_000),
  /**
   * The context size written into a new registration when the GGUF trains a larger one: the KV
   * cache grows with it (a 128k context costs gigabytes), so a pulled model starts modest.
   */
  contextSize: envLimit("UNDERSTUDY_PULL_CONTEXT_SIZE", 4096),
} as const;
