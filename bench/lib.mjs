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
