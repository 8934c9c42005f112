/**
 * `understudy pull` (issue 16) as an operator runs it: the built CLI in a child process, against a
 * fake Hugging Face hub on loopback (HF_ENDPOINT), into a temp config directory; then a real server
 * on that directory serves chat from the pulled model. Covers the interrupted-then-resumed download,
 * a checksum mismatch and a non-GGUF file (nothing registered), quantization picking, HF_TOKEN,
 * URL and local sources.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { loadConfig } from "../src/config/loader.js";
import { projectRoot } from "../src/core/paths.js";
import { buildDemoModel, demoModelFile as demoGgufFile } from "../src/demo-model/demo-model.js";
import { buildGguf } from "../src/demo-model/gguf-writer.js";
import { pickQuantFile } from "../src/pull/hugging-face.js";
import { parsePullSource } from "../src/pull/pull-source.js";
import { nameFromFile, validateName } from "../src/pull/registration-file.js";
import { PullError } from "../src/pull/pull-error.js";
import { sha256Hex, startFakeHub, type FakeHub } from "./helpers/fake-hugging-face.js";
import { startTestServer, tempDir } from "./helpers/server.js";

const cli = path.join(projectRoot(), "bin/understudy.js");
const DEMO = buildDemoModel();
/** Longest a pull of a few MB from loopback may take before the test calls it hung. */
const RUN_TIMEOUT_MS = 45_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `understudy pull ...` against the hub; `during` may act on the child while it runs (send it SIGINT). */
function runPull(hub: FakeHub, args: string[], env: Record<string, string> = {}, during?: (child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url, UNDERSTUDY_PULL_PROGRESS_INTERVAL_MS: "200", ...env };
    if (!("HF_TOKEN" in env)) delete childEnv.HF_TOKEN;
    const child = spawn(process.execPath, [cli, "pull", ...args], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pull did not finish within ${RUN_TIMEOUT_MS} ms: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    during?.(child);
  });
}

async function waitFor(what: string, check: () => boolean, maxMs = 30_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A config directory with nothing in it but what the pull writes. */
const freshConfig = () => tempDir("understudy-pull-");
const yamlFiles = (dir: string) => fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub();
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.requests.length = 0;
  hub.stall = undefined;
});

describe("understudy pull from a Hugging Face hub", () => {
  it("picks the quantization's file, sends HF_TOKEN, checks it, registers it, and a server serves chat from it", async () => {
    hub.repos.set(
      "acme/tiny-GGUF",
      new Map([
        ["tiny.Q8_0.gguf", { content: Buffer.from("not this one") }],
        ["mmproj-tiny-Q4_K_M.gguf", { content: Buffer.from("not the projector") }],
        ["tiny.Q4_K_M.gguf", { content: DEMO }],
        ["README.md", { content: Buffer.from("# tiny") }],
      ]),
    );
    const dir = freshConfig();
    // Already serving the directory: the pulled model must arrive by hot reload, whole (never a registration without its file).
    const server = await startTestServer({ configDir: dir, watch: true });
    try {
      const run = await runPull(hub, ["hf:acme/tiny-GGUF:Q4_K_M", "--config", dir], { HF_TOKEN: "hf_test_token" });
      expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(yamlFiles(dir)).toEqual(["tiny.q4_k_m.yaml"]);
      expect(run.stdout.trim()).toBe(path.join(dir, "tiny.q4_k_m.yaml"));
      // Only the chosen file was downloaded, and every request carried the token.
      const downloads = hub.requests.filter((r) => r.path.includes("/resolve/"));
      expect(new Set(downloads.map((r) => r.path))).toEqual(new Set(["/acme/tiny-GGUF/resolve/main/tiny.Q4_K_M.gguf"]));
      expect(hub.requests.every((r) => r.authorization === "Bearer hf_test_token")).toBe(true);
      expect(sha256Hex(fs.readFileSync(path.join(dir, "models/tiny.Q4_K_M.gguf")))).toBe(sha256Hex(DEMO));

      const doc = yaml.load(fs.readFileSync(path.join(dir, "tiny.q4_k_m.yaml"), "utf8")) as any;
      expect(doc.registration).toMatchObject({ model: "tiny.q4_k_m", context_window: 2048 });
      expect(doc.registration.capabilities).toEqual(expect.arrayContaining(["chat", "completion", "embeddings", "tools"]));
      expect(doc.local_settings).toEqual({ backend: "llama-cpp", model: "models/tiny.Q4_K_M.gguf", context_size: 2048 });

      await waitFor("the hot reload", () => server.config.current().config.registrations.some((r) => r.model === "tiny.q4_k_m"));
      expect(loadConfig(dir).problems).toEqual([]);
      const answer = await server.client.chat.completions.create({ model: "tiny.q4_k_m", messages: [{ role: "user", content: "Hello" }], max_tokens: 8 });
      expect(answer.object).toBe("chat.completion");
      expect(answer.choices).toHaveLength(1);
      expect(["stop", "length"]).toContain(answer.choices[0].finish_reason);
      expect(typeof answer.choices[0].message.content).toBe("string");
    } finally {
      await server.close();
    }
  });

  it("an interrupted download leaves a partial file and no registration; the same pull resumes it", async () => {
    // Larger than ipull's 5 MiB chunk, so a chunk completes before the interrupt and the resume skips it.
    const base = demoGgufFile();
    const padding = 2_750_000;
    const big = buildGguf({ ...base, tensors: [...base.tensors, { name: "pad.weight", dims: [padding], type: "F32", data: new Float32Array(padding) }] });
    hub.repos.set("acme/big-GGUF", new Map([["big.gguf", { content: big }]]));
    const dir = freshConfig();
    const partial = path.join(dir, "models/big.gguf.ipull");
    // Ranges not starting at 0 hang: the first chunk completes (and its progress is recorded at the file's end), the rest do not.
    hub.stall = (start) => start > 0;
    const first = await runPull(hub, ["hf:acme/big-GGUF/big.gguf", "--config", dir, "--name", "big"], {}, (child) => {
      void waitFor("the first chunk's progress record", () => fs.existsSync(partial) && fs.statSync(partial).size > big.length).then(
        () => child.kill("SIGINT"),
        () => child.kill("SIGKILL"),
      );
    });
    expect(first.code).toBe(130);
    expect(first.stderr).toContain("interrupted");
    expect(fs.existsSync(partial)).toBe(true);
    expect(fs.existsSync(path.join(dir, "models/big.gguf"))).toBe(false);
    expect(yamlFiles(dir)).toEqual([]);

    hub.requests.length = 0;
    hub.stall = undefined;
    const second = await runPull(hub, ["hf:acme/big-GGUF/big.gguf", "--config", dir, "--name", "big"]);
    expect({ code: second.code, stderr: second.code === 0 ? "" : second.stderr }).toEqual({ code: 0, stderr: "" });
    const ranged = hub.requests.filter((r) => r.method === "GET" && r.rangeStart !== undefined);
    // Resumed: the completed first chunk is not fetched again.
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((r) => r.rangeStart! > 0)).toBe(true);
    expect(sha256Hex(fs.readFileSync(path.join(dir, "models/big.gguf")))).toBe(sha256Hex(big));
    expect(fs.existsSync(partial)).toBe(false);
    expect(yamlFiles(dir)).toEqual(["big.yaml"]);
  });

  it("a download that stops receiving bytes is stopped after UNDERSTUDY_PULL_STALL_MS, registering nothing", async () => {
    hub.repos.set("acme/stall-GGUF", new Map([["stall.gguf", { content: DEMO }]]));
    const dir = freshConfig();
    // Every ranged GET sends a few bytes, then nothing: without the bound, the downloader retries for minutes.
    hub.stall = () => true;
    const run = await runPull(hub, ["hf:acme/stall-GGUF/stall.gguf", "--config", dir, "--name", "stall"], { UNDERSTUDY_PULL_STALL_MS: "1500" });
    hub.stall = undefined;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("UNDERSTUDY_PULL_STALL_MS");
    expect(fs.existsSync(path.join(dir, "models/stall.gguf"))).toBe(false);
    expect(yamlFiles(dir)).toEqual([]);
  });

  it("refuses a file whose sha256 differs from the published one: the file is deleted, nothing registered", async () => {
    hub.repos.set("acme/bad-GGUF", new Map([["bad.Q4_K_M.gguf", { content: DEMO, publishedSha256: "0".repeat(64) }]]));
    const dir = freshConfig();
    const run = await runPull(hub, ["hf:acme/bad-GGUF:Q4_K_M", "--config", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("checksum mismatch");
    expect(yamlFiles(dir)).toEqual([]);
    expect(fs.readdirSync(path.join(dir, "models"))).toEqual([]);
  });

  it("refuses before any download: a missing repository, and a file larger than the free disk", async () => {
    hub.repos.set("acme/huge-GGUF", new Map([["huge.Q4_K_M.gguf", { content: DEMO, listedSize: 2 ** 52 }]]));
    const dir = freshConfig();
    const missing = await runPull(hub, ["hf:acme/missing-GGUF:Q4_K_M", "--config", dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("HTTP 404");
    const huge = await runPull(hub, ["hf:acme/huge-GGUF", "--config", dir]);
    expect(huge.code).toBe(1);
    expect(huge.stderr).toContain("huge.Q4_K_M.gguf is 4096.0 TiB");
    expect(hub.requests.filter((r) => r.path.includes("/resolve/"))).toEqual([]);
    expect(yamlFiles(dir)).toEqual([]);
  });

  it("refuses a file that is not GGUF: nothing registered", async () => {
    hub.files.set("dl/notes.gguf", { content: Buffer.from("just some text, not a model\n".repeat(100)) });
    const dir = freshConfig();
    const run = await runPull(hub, [`${hub.url}/files/dl/notes.gguf`, "--config", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("not a GGUF");
    expect(yamlFiles(dir)).toEqual([]);
    expect(fs.readdirSync(path.join(dir, "models"))).toEqual([]);
  });

  it("a URL source is checked against its X-Linked-Etag and registered; --sha256 that disagrees is refused before any download", async () => {
    hub.files.set("dl/plain.gguf", { content: DEMO });
    const dir = freshConfig();
    const wrong = await runPull(hub, [`${hub.url}/files/dl/plain.gguf`, "--config", dir, "--sha256", "f".repeat(64)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("differs from the sha256 the source publishes");
    expect(hub.requests.some((r) => r.method === "GET")).toBe(false);
    const run = await runPull(hub, [`${hub.url}/files/dl/plain.gguf`, "--config", dir, "--name", "plain"]);
    expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(loadConfig(dir).registrations.map((r) => r.model)).toEqual(["plain"]);
  });
});

describe("understudy pull from a local path", () => {
  it("copies the file in and registers it; the same name again is refused without --force", async () => {
    const src = path.join(tempDir("understudy-pull-src-"), "Local-Demo.gguf");
    fs.writeFileSync(src, DEMO);
    const dir = freshConfig();
    const run = await runPull(hub, [src, "--config", dir]);
    expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(fs.readFileSync(path.join(dir, "models/Local-Demo.gguf")).equals(DEMO)).toBe(true);
    const loaded = loadConfig(dir);
    expect(loaded.problems).toEqual([]);
    expect(loaded.registrations.map((r) => r.model)).toEqual(["local-demo"]);
    expect(run.stderr).toContain("publishes no sha256");

    const again = await runPull(hub, [src, "--config", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("--force");
    expect((await runPull(hub, [src, "--config", dir, "--force"])).code).toBe(0);
    expect(hub.requests).toEqual([]);
  });
});

describe("pull's parsing and naming", () => {
  it("parses the source forms and refuses unsafe ones", () => {
    expect(parsePullSource("hf:a/b/dir/x.gguf")).toEqual({ kind: "hf-file", repo: "a/b", file: "dir/x.gguf", revision: "main" });
    expect(parsePullSource("hf:a/b:q4_k_m")).toEqual({ kind: "hf-quant", repo: "a/b", quant: "Q4_K_M", revision: "main" });
    expect(parsePullSource("hf:a/b", "Q8_0")).toMatchObject({ kind: "hf-quant", quant: "Q8_0" });
    expect(parsePullSource("hf:a/b")).toMatchObject({ kind: "hf-quant", quant: "Q4_K_M" });
    expect(parsePullSource("https://example.com/m.gguf")).toMatchObject({ kind: "url" });
    expect(parsePullSource("http://127.0.0.1:9/m.gguf")).toMatchObject({ kind: "url" });
    for (const bad of [
      "http://example.com/m.gguf",
      "hf:a/b:Q4_K_M#bad rev",
      "hf:a/b/x.bin",
      "hf:a/../b/x.gguf",
      "hf:a/b/../x.gguf",
      "https://u:p@example.com/m.gguf",
      "ftp://x/m.gguf",
    ])
      expect(() => parsePullSource(bad)).toThrow(PullError);
  });

  it("picks a quantization's file as a whole tag, never a projector", () => {
    const files = [
      "m.Q4_K.gguf",
      "m.Q4_K_M.gguf",
      "m.IQ4_XS.gguf",
      "mmproj-m-Q4_K_M.gguf",
      "big/m-Q8_0-00001-of-00002.gguf",
      "big/m-Q8_0-00002-of-00002.gguf",
    ].map((p) => ({ path: p }));
    expect(pickQuantFile(files, "Q4_K_M", "a/b").path).toBe("m.Q4_K_M.gguf");
    expect(pickQuantFile(files, "Q4_K", "a/b").path).toBe("m.Q4_K.gguf");
    expect(pickQuantFile(files, "Q8_0", "a/b").path).toBe("big/m-Q8_0-00001-of-00002.gguf");
    expect(() => pickQuantFile(files, "Q5_K_M", "a/b")).toThrow("no GGUF file for Q5_K_M");
  });

  it("derives and validates names", () => {
    expect(nameFromFile("Qwen2.5-0.5B-Instruct-Q4_K_M.gguf")).toBe("qwen2.5-0.5b-instruct-q4_k_m");
    expect(nameFromFile("m-Q8_0-00001-of-00002.gguf")).toBe("m-q8_0");
    for (const bad of ["", "../x", ".hidden", "a b", "default", "keys", "x".repeat(129)]) expect(() => validateName(bad)).toThrow(PullError);
  });
});
