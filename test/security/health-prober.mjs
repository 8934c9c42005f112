// Polls GET /health from its own process for llama-tokens.test.ts. Measured from the jest process,
// a probe also counted that process's own pauses: late in an in-band run its heap is large and one
// major GC took longer than the 200 ms the check allows (CI, 227 ms), with the server idle.
// Protocol (IPC): sends { idleMs } (median of 5 idle probes); on "go" probes every 10 ms until
// "stop", then sends { probes: [{ ms, status }] } and exits. At least one probe follows "go".
import http from "node:http";

const [host, port] = [process.argv[2], Number(process.argv[3])];
let stopped = false;

function probe() {
  return new Promise((resolve) => {
    const started = performance.now();
    const done = (status) => resolve({ ms: performance.now() - started, status });
    const req = http.get({ host, port, path: "/health", agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode));
      res.on("error", () => done(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(0));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function idleMs() {
  const times = [];
  for (let i = 0; i < 5; i++) times.push((await probe()).ms);
  return times.sort((a, b) => a - b)[2];
}

async function probeUntilStopped() {
  const probes = [];
  do {
    probes.push(await probe());
    if (!stopped) await sleep(10);
  } while (!stopped);
  process.send({ probes }, () => process.exit(0));
}

process.on("message", (message) => {
  if (message === "go") void probeUntilStopped();
  if (message === "stop") stopped = true;
});
process.send({ idleMs: await idleMs() });
