// Small helpers shared by the bench scripts.
import { spawn } from "node:child_process";
import net from "node:net";

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns a process in its own group so it (and its children) can be stopped together. */
export function spawnGroup(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "ignore", "pipe"], ...opts });
  child.stopGroup = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  return child;
}

export const fmt = (n, digits = 2) => Number(n).toFixed(digits);

/** The share of the machine's CPU time (all cores) spent busy over `ms`, from /proc/stat (Linux). */
async function busyPercent(ms) {
  const read = async () => {
    const { readFile } = await import("node:fs/promises");
    const f = (await readFile("/proc/stat", "utf8")).split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), busy: f[0] + f[1] + f[2] };
  };
  const a = await read();
  await sleep(ms);
  const b = await read();
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0;
}

/**
 * Waits, at most `maxMs`, until other processes use less than `pct`% of the machine (start-up
 * timings on a small shared box are skewed by whatever else runs); returns the last busy % seen.
 * Without /proc/stat it returns 0 at once.
 */
export async function waitForQuiet({ maxMs = 10_000, pct = 20 } = {}) {
  const end = Date.now() + maxMs;
  let busy = 0;
  try {
    do busy = await busyPercent(300);
    while (busy >= pct && Date.now() < end);
  } catch {
    return 0;
  }
  return busy;
}
