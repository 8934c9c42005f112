/**
 * Download progress on stderr: a bar redrawn in place (bytes, rate, ETA) on a terminal; otherwise a
 * plain line every PULL_LIMITS.progressIntervalMs, so a CI log or `2> file` gets a bounded number of lines.
 */
import { PULL_LIMITS } from "./pull-limits.js";

export interface ProgressSample {
  totalSize: number;
  downloadedSize: number;
}

/** A terminal redraw at most this often: faster than the eye needs is only output. */
const TTY_REDRAW_MS = 100;
const BAR_WIDTH = 30;
/** Rate over this window of samples: smooth enough to read, recent enough to follow a change. */
const RATE_WINDOW_MS = 5_000;

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class ProgressReporter {
  private lastWrite = -Infinity;
  private readonly samples: { at: number; bytes: number }[] = [];
  /** The first sample: the final line's rate is the whole run's average (a resumed download starts above 0). */
  private first?: { at: number; bytes: number };
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(process.stderr.isTTY),
    private readonly now = () => Date.now(),
  ) {}

  /** Bytes per second over the recent window (0 until two samples exist). */
  private rate(at: number, bytes: number): number {
    this.first ??= { at, bytes };
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    return at > first.at ? ((bytes - first.bytes) * 1000) / (at - first.at) : 0;
  }

  line({ totalSize, downloadedSize }: ProgressSample, rate: number): string {
    const known = totalSize > 0;
    const pct = known ? Math.min(100, (downloadedSize / totalSize) * 100) : 0;
    const eta = known && rate > 0 ? (totalSize - downloadedSize) / rate : NaN;
    const bytes = `${formatBytes(downloadedSize)}${known ? ` / ${formatBytes(totalSize)}` : ""}`;
    const tail = `${bytes}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`;
    if (!this.tty) return `downloading: ${known ? `${pct.toFixed(1)}% ` : ""}${tail}`;
    const filled = Math.round((pct / 100) * BAR_WIDTH);
    return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${pct.toFixed(1).padStart(5)}%  ${tail}`;
  }

  update(sample: ProgressSample): void {
    const at = this.now();
    const rate = this.rate(at, sample.downloadedSize);
    if (at - this.lastWrite < (this.tty ? TTY_REDRAW_MS : PULL_LIMITS.progressIntervalMs.value)) return;
    this.lastWrite = at;
    this.write(this.line(sample, rate));
  }

  private write(text: string): void {
    if (this.tty) {
      this.out.write(`\r${text}\x1b[K`);
      this.drawn = true;
    } else this.out.write(`${text}\n`);
  }

  /** The final state, and the terminal's line ended so later messages start on their own line. */
  done(sample: ProgressSample): void {
    const at = this.now();
    const first = this.first ?? { at, bytes: sample.downloadedSize };
    const rate = at > first.at ? ((sample.downloadedSize - first.bytes) * 1000) / (at - first.at) : 0;
    this.write(this.line(sample, rate));
    if (this.tty) this.out.write("\n");
    this.drawn = false;
  }

  /** Ends a bar left mid-line (an error or Ctrl-C arrives while it is drawn). */
  interrupt(): void {
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
  }
}
