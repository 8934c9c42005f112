/**
 * A registration's Jinja chat template is code: `{% for i in range(999999999) %}` makes V8 die
 * ("invalid size"), a nested loop hangs. So validation renders it (as node-llama-cpp will) against
 * sample conversations in a child process with a time limit, a memory limit and an output cap:
 * a template that hangs, explodes or crashes is a config problem and never reaches the server.
 * Outcomes are cached by the template's content hash, so a reload does not re-render it.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { readFileBounded } from "../../core/bounded-file.js";
import { describeLimit, envLimit } from "../../core/env-limit.js";
import { deferSlowCheck, slowChecksDeferred } from "../../core/slow-checks.js";
import { TEMPLATE_RENDER_CHILD_SOURCE } from "./template-render-child.js";

export const TEMPLATE_LIMITS = {
  /** How long rendering the sample conversations may take (the child's start-up is not counted). */
  renderMs: envLimit("UNDERSTUDY_TEMPLATE_RENDER_TIMEOUT_MS", 2000),
  /** The largest prompt the template may render for a sample conversation. */
  outputBytes: envLimit("UNDERSTUDY_TEMPLATE_MAX_OUTPUT_BYTES", 1024 * 1024),
  /** A template file's size: real chat templates are a few KB. */
  fileBytes: envLimit("UNDERSTUDY_TEMPLATE_MAX_FILE_BYTES", 1024 * 1024),
} as const;
/** The child's heap: a template that builds a huge value dies here, not in the server. */
const CHILD_HEAP_MB = 256;
/** Start-up (node, importing node-llama-cpp) on top of the render time; only a stuck child reaches it. */
const CHILD_STARTUP_ALLOWANCE_MS = 15_000;
/** Outcomes kept: one per distinct template content. */
const CACHE_ENTRIES = 256;

/** undefined: the template renders within bounds; otherwise why not. */
type Outcome = { problem?: string };
const cache = new Map<string, Outcome>();

const hashOf = (text: string) => crypto.createHash("sha256").update(text).digest("hex");

function remember(hash: string, outcome: Outcome): Outcome {
  cache.set(hash, outcome);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return outcome;
}

/** The module the server renders with (deep path: importing the whole package costs ~0.3 s more), then the package. */
function wrapperUrls(): string[] {
  const entry = createRequire(import.meta.url).resolve("node-llama-cpp");
  const deep = path.join(path.dirname(entry), "chatWrappers", "generic", "JinjaTemplateChatWrapper.js");
  return [pathToFileURL(deep).href, pathToFileURL(entry).href];
}

function childArgs(template: string) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return {
    args: [`--max-old-space-size=${CHILD_HEAP_MB}`, "--input-type=module", "-e", TEMPLATE_RENDER_CHILD_SOURCE],
    input: JSON.stringify({ template, wrapperUrls: wrapperUrls(), timeoutMs: TEMPLATE_LIMITS.renderMs.value }),
    options: { env, timeout: TEMPLATE_LIMITS.renderMs.value + CHILD_STARTUP_ALLOWANCE_MS, killSignal: "SIGKILL" as const, maxBuffer: 64 * 1024 },
  };
}

function interpret(stdout: string, status: number | null, signal: string | null, timedOut: boolean): Outcome {
  let reply: { ok?: boolean; bytes?: number; reason?: string; message?: string } | undefined;
  try {
    reply = JSON.parse(stdout);
  } catch {
    reply = undefined;
  }
  if (reply?.ok === true) {
    const bytes = reply.bytes ?? 0;
    return bytes > TEMPLATE_LIMITS.outputBytes.value
      ? { problem: `renders ${bytes} bytes for a sample conversation, more than the limit of ${describeLimit(TEMPLATE_LIMITS.outputBytes, "bytes")}` }
      : {};
  }
  if (reply?.reason === "timeout" || timedOut)
    return { problem: `takes longer than the limit of ${describeLimit(TEMPLATE_LIMITS.renderMs, "ms")} to render a sample conversation` };
  if (reply?.reason === "error") return { problem: `fails to render a sample conversation: ${reply.message ?? "unknown error"}` };
  return { problem: `crashed the renderer process while rendering a sample conversation (${signal ?? `exit code ${status}`}; a ${CHILD_HEAP_MB} MB heap)` };
}

function renderSync(template: string): Outcome {
  const { args, input, options } = childArgs(template);
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, args, { ...options, input, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
  return interpret(r.stdout ?? "", r.status, r.signal, timedOut);
}

function renderAsync(template: string): Promise<Outcome> {
  const { args, input, options } = childArgs(template);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: options.env, stdio: ["pipe", "pipe", "ignore"] });
    let stdout = "";
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), child.kill("SIGKILL")), options.timeout);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.length > options.maxBuffer) child.kill("SIGKILL");
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    child.on("error", () => undefined);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve(interpret(stdout, status, signal, timedOut));
    });
  });
}

function readTemplate(file: string): { text: string } | { problem: string } {
  const read = readFileBounded(file, TEMPLATE_LIMITS.fileBytes.value);
  if ("tooLarge" in read) return { problem: `the template file is larger than the limit of ${describeLimit(TEMPLATE_LIMITS.fileBytes, "bytes")}` };
  if ("problem" in read) return { problem: `the template file: ${read.problem}` };
  return { text: read.text };
}

/**
 * Why the template file cannot be used, or undefined if it renders within bounds. Inside a hot
 * reload (slowChecksDeferred) an unchecked template is rendered asynchronously and reports no
 * problem yet: the store loads again once the outcome is cached.
 */
export function checkTemplateFile(file: string): string | undefined {
  const stamp = statStamp(file);
  const entry = stamp ? hashByFile.get(file) : undefined;
  if (entry && entry.stamp === stamp) {
    const known = cache.get(entry.hash);
    if (known) return problemOf(known);
    const pending = inflight.get(entry.hash);
    if (pending && slowChecksDeferred()) return void deferSlowCheck(pending);
  }
  const read = readTemplate(file);
  if ("problem" in read) return read.problem;
  const hash = hashOf(read.text);
  // Stamped before the read: a change during it leaves a stale stamp, which only causes a re-read.
  if (stamp) rememberFile(file, { stamp, hash });
  const cached = cache.get(hash);
  if (cached) return problemOf(cached);
  if (slowChecksDeferred()) return void deferSlowCheck(renderShared(hash, read.text));
  return problemOf(remember(hash, renderSync(read.text)));
}

/** Renders asynchronously, once per content however many registrations (or reloads) ask meanwhile. */
const inflight = new Map<string, Promise<Outcome>>();

function renderShared(hash: string, text: string): Promise<Outcome> {
  let pending = inflight.get(hash);
  if (!pending) {
    pending = renderAsync(text)
      .then((outcome) => remember(hash, outcome))
      .finally(() => inflight.delete(hash));
    inflight.set(hash, pending);
  }
  return pending;
}

const problemOf = (outcome: Outcome) => outcome.problem && `the chat template ${outcome.problem}`;

/**
 * The content hash of each template file by its stat: a list of a thousand aliased registrations
 * naming one 1 MB template reads and hashes it once, not a thousand times.
 */
const hashByFile = new Map<string, { stamp: string; hash: string }>();

function statStamp(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return undefined;
  }
}

function rememberFile(file: string, entry: { stamp: string; hash: string }): void {
  hashByFile.delete(file);
  hashByFile.set(file, entry);
  if (hashByFile.size > CACHE_ENTRIES) hashByFile.delete(hashByFile.keys().next().value!);
}

/**
 * The template text to serve with: the file as validated. The file is read again when a model
 * loads and may have changed since (only YAML changes trigger a reload), so an unchecked text is
 * checked here, asynchronously, before node-llama-cpp renders it in the server.
 */
export async function loadCheckedTemplate(file: string): Promise<string> {
  const read = readTemplate(file);
  if ("problem" in read) throw new Error(`${path.basename(file)}: ${read.problem}`);
  const hash = hashOf(read.text);
  const outcome = cache.get(hash) ?? (await renderShared(hash, read.text));
  if (outcome.problem) throw new Error(`${path.basename(file)}: the chat template ${outcome.problem}`);
  return read.text;
}
