/**
 * A Redis for the Redis-store tests (issue 14): UNDERSTUDY_TEST_REDIS_URL when set (CI may run one),
 * else a real `redis-server` (the Debian package) spawned on a free loopback port with persistence
 * off, and stopped afterwards. A missing binary fails the test naming what to install: the test
 * must not pass without a Redis.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { closedPort, sleep } from "./upstream-server.js";

export const REDIS_SERVER = "/usr/bin/redis-server";
/** How long a spawned redis-server has to answer PING. */
const READY_MS = 10_000;

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** Whether a Redis answers PING on the port. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    // Cleared once it exits: a pending 5 s timer kept jest waiting after every Redis suite.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
}

export async function startRedis(): Promise<RedisServer> {
  const given = process.env.UNDERSTUDY_TEST_REDIS_URL;
  if (given) return { url: given, stop: async () => undefined };
  if (!fs.existsSync(REDIS_SERVER))
    throw new Error(`${REDIS_SERVER} is missing: install the Debian package redis-server (apt-get install redis-server) or set UNDERSTUDY_TEST_REDIS_URL`);
  const port = await closedPort();
  const child = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => void (stderr += d.toString()));
  const stop = stopper(child);
  const deadline = Date.now() + READY_MS;
  while (!(await pings(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${port} (exit ${child.exitCode}): ${stderr.slice(0, 500)}`);
    }
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
