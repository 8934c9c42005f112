/**
 * Every way an edit reaches the config directory must be seen: editors write in place or save
 * atomically (write, then rename over), `sed -i` replaces the file, people delete and re-create,
 * add subdirectories, and Kubernetes swaps a ConfigMap's `..data` symlink. After each, /health's
 * revision must equal what `understudy validate-config` (the CLI, a child process) reports.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { jest } from "@jest/globals";
import { projectRoot } from "../src/core/paths.js";
import { startTestServer, tempDir, writeConfigDir, type TestServer } from "./helpers/server.js";

const cli = path.join(projectRoot(), "bin/understudy.js");
const reg = (model: string, alias = "none") =>
  `registration:\n  model: ${model}\n  aliases: [${model}-${alias}]\nlocal_settings:\n  backend: llama-cpp\n  model: ${"m.gguf"}\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Bounded wait for a change to be seen: the debounce is 50 ms, the periodic check is off. */
const SEEN_WITHIN_MS = 5000;

/** The revision `understudy validate-config` reports for `dir` (it fails the test if the directory is invalid). */
function cliRevision(dir: string): string {
  const r = spawnSync(process.execPath, [cli, "validate-config", dir], { encoding: "utf8", timeout: 30_000 });
  expect(r.stderr).toBe("");
  const revision = /valid, revision ([0-9a-f]{16})\n/.exec(r.stdout)?.[1];
  expect(revision).toBeDefined();
  return revision!;
}

async function healthRevision(server: TestServer): Promise<string> {
  const h = await (await fetch(`${server.url}/health`)).json();
  return h.config.revision;
}

/** /health's revision once it equals `expected`, or the last one seen after SEEN_WITHIN_MS. */
async function revisionBecomes(server: TestServer, expected: string): Promise<string> {
  const deadline = Date.now() + SEEN_WITHIN_MS;
  let seen = await healthRevision(server);
  while (seen !== expected && Date.now() < deadline) {
    await sleep(25);
    seen = await healthRevision(server);
  }
  return seen;
}

/** Applies an edit, then checks the server reached the CLI's revision for the directory, and that it changed. */
async function expectSeen(server: TestServer, dir: string, edit: () => void): Promise<void> {
  const before = await healthRevision(server);
  edit();
  const expected = cliRevision(dir);
  expect(expected).not.toBe(before);
  expect(await revisionBecomes(server, expected)).toBe(expected);
}

/** Starts a server on `dir` whose only way to see edits is the file-system watcher (no periodic check). */
async function watchedServer(dir: string): Promise<TestServer> {
  const server = await startTestServer({ configDir: dir });
  await server.config.watch({ debounceMs: 50, pollMs: 0 });
  return server;
}

describe("hot reload sees every save pattern (the watcher alone)", () => {
  let server: TestServer;
  let dir: string;
  const file = () => path.join(dir, "first.yaml");
  beforeAll(async () => {
    dir = writeConfigDir({ "first.yaml": reg("first"), "m.gguf": "GGUF" });
    server = await watchedServer(dir);
  });
  afterAll(() => server.close());

  it("an in-place write", async () => {
    await expectSeen(server, dir, () => fs.writeFileSync(file(), reg("first", "inplace")));
  });

  it("a write, then a rename over the file (an editor's atomic save)", async () => {
    await expectSeen(server, dir, () => {
      fs.writeFileSync(path.join(dir, ".first.yaml.tmp"), reg("first", "atomic"));
      fs.renameSync(path.join(dir, ".first.yaml.tmp"), file());
    });
  });

  it("a later in-place write after the file was replaced by rename", async () => {
    await expectSeen(server, dir, () => fs.writeFileSync(file(), reg("first", "after-rename")));
    await expectSeen(server, dir, () => fs.writeFileSync(file(), reg("first", "after-rename-again")));
  });

  it("sed -i (the real one)", async () => {
    await expectSeen(server, dir, () => {
      const r = spawnSync("sed", ["-i", "s/after-rename-again/sed/", file()], { encoding: "utf8" });
      expect(r.status).toBe(0);
    });
    // And an in-place write after sed's replacement.
    await expectSeen(server, dir, () => fs.writeFileSync(file(), reg("first", "after-sed")));
  });

  it("a delete and a re-create", async () => {
    await expectSeen(server, dir, () => {
      fs.unlinkSync(file());
      fs.writeFileSync(file(), reg("first", "recreated"));
    });
  });

  it("a new subdirectory holding a registration, and an edit inside it", async () => {
    await expectSeen(server, dir, () => {
      fs.mkdirSync(path.join(dir, "team"));
      fs.writeFileSync(path.join(dir, "team", "second.yaml"), reg("second").replace("m.gguf", "../m.gguf"));
    });
    await expectSeen(server, dir, () => fs.writeFileSync(path.join(dir, "team", "second.yaml"), reg("second", "edited").replace("m.gguf", "../m.gguf")));
    expect((await server.client.models.list()).data.map((m) => m.id).sort()).toEqual(["first", "second"]);
  });

  it("a model file a rejected registration lacked, copied in afterwards", async () => {
    fs.writeFileSync(path.join(dir, "third.yaml"), reg("third").replace("m.gguf", "third.gguf"));
    const deadline = Date.now() + SEEN_WITHIN_MS;
    let health = await (await fetch(`${server.url}/health`)).json();
    while (health.config.status !== "error" && Date.now() < deadline) {
      await sleep(25);
      health = await (await fetch(`${server.url}/health`)).json();
    }
    expect(health.config.errors).toEqual([expect.stringMatching(/^third\.yaml:\d+: local_settings\.model: /)]);
    await expectSeen(server, dir, () => fs.writeFileSync(path.join(dir, "third.gguf"), "GGUF"));
    expect((await server.client.models.list()).data.map((m) => m.id)).toContain("third");
  });
});

/** A ConfigMap volume as kubelet writes it: `<key> -> ..data/<key>`, `..data -> ..<timestamp>`, a directory per version. */
function kubeletWriteVersion(dir: string, files: Record<string, string>, stamp: string): string {
  const version = `..2026_11_30_20_00_${stamp}.000000001`;
  writeConfigDir(files, path.join(dir, version));
  return version;
}

/** kubelet's atomic swap: a new `..data` symlink renamed over the old one, then links for new keys, then the old version removed. */
function kubeletSwap(dir: string, version: string, keys: string[], removeOld = true): void {
  const old = fs.existsSync(path.join(dir, "..data")) ? fs.readlinkSync(path.join(dir, "..data")) : undefined;
  fs.symlinkSync(version, path.join(dir, "..data_tmp"));
  fs.renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
  for (const key of keys) if (!fs.existsSync(path.join(dir, key))) fs.symlinkSync(path.join("..data", key), path.join(dir, key));
  if (old && removeOld) fs.rmSync(path.join(dir, old), { recursive: true });
}

function kubeletWrite(dir: string, files: Record<string, string>, stamp: string): void {
  kubeletSwap(dir, kubeletWriteVersion(dir, files, stamp), Object.keys(files));
}

describe("hot reload of a Kubernetes ConfigMap volume", () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    kubeletWrite(dir, { "k8s.yaml": reg("k8s", "v1"), "m.gguf": "GGUF" }, "01");
    server = await watchedServer(dir);
  });
  afterAll(() => server.close());

  it("sees each ..data symlink swap", async () => {
    expect(await healthRevision(server)).toBe(cliRevision(dir));
    await expectSeen(server, dir, () => kubeletWrite(dir, { "k8s.yaml": reg("k8s", "v2"), "m.gguf": "GGUF" }, "02"));
    await expectSeen(server, dir, () => kubeletWrite(dir, { "k8s.yaml": reg("k8s", "v3"), "m.gguf": "GGUF" }, "03"));
    // A key added to the ConfigMap: a new top-level symlink.
    await expectSeen(server, dir, () => kubeletWrite(dir, { "k8s.yaml": reg("k8s", "v3"), "more.yaml": reg("more"), "m.gguf": "GGUF" }, "04"));
  });

  it("sees the swap itself, when the new version was written well before it and the old one is kept", async () => {
    const version = kubeletWriteVersion(dir, { "k8s.yaml": reg("k8s", "v5"), "more.yaml": reg("more"), "m.gguf": "GGUF" }, "05");
    // Longer than the debounce: the new directory's own events are handled (and change nothing served) before the swap.
    await sleep(400);
    await expectSeen(server, dir, () => kubeletSwap(dir, version, ["k8s.yaml", "more.yaml", "m.gguf"], false));
  });
});

describe("hot reload with symlinked directories in the config directory", () => {
  it("follows none (a link to / and link loops cost nothing) and still sees edits", async () => {
    const dir = writeConfigDir({ "first.yaml": reg("first"), "m.gguf": "GGUF", "sub/.keep": "" });
    fs.symlinkSync("/", path.join(dir, "root"));
    fs.symlinkSync(".", path.join(dir, "loop-a"));
    fs.symlinkSync(".", path.join(dir, "loop-b"));
    fs.symlinkSync("..", path.join(dir, "sub", "up"));
    const t0 = Date.now();
    const server = await watchedServer(dir);
    try {
      // Following `/` or 2^depth loop copies would take far longer than this.
      expect(Date.now() - t0).toBeLessThan(2000);
      await expectSeen(server, dir, () => fs.writeFileSync(path.join(dir, "sub", "second.yaml"), reg("second").replace("m.gguf", "../m.gguf")));
    } finally {
      await server.close();
    }
  });
});

describe("the periodic check (the watcher's safety net)", () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = writeConfigDir({ "first.yaml": reg("first"), "m.gguf": "GGUF" });
    server = await startTestServer({ configDir: dir });
    await server.config.watch({ debounceMs: 50, pollMs: 100, events: false });
  });
  afterAll(() => server.close());

  it("reloads nothing while the content is unchanged, even when files are touched", async () => {
    const reload = jest.spyOn(server.config, "reload");
    const now = new Date();
    fs.utimesSync(path.join(dir, "first.yaml"), now, now);
    // Several periods of the check: a fixed wait, since what is asserted is that nothing happens.
    await sleep(500);
    expect(reload).not.toHaveBeenCalled();
    reload.mockRestore();
  });

  it("sees an edit with no file-system event", async () => {
    await expectSeen(server, dir, () => fs.writeFileSync(path.join(dir, "first.yaml"), reg("first", "polled")));
  });
});
