/**
 * Hugging Face references resolved to a download URL and the sha256 Hugging Face publishes for the
 * file (an LFS file's oid is its sha256). `HF_ENDPOINT` names a mirror (and is how the tests point at
 * a loopback server); `HF_TOKEN` goes as `Authorization: Bearer` to that endpoint only.
 */
import { describeLimit } from "../core/env-limit.js";
import { PULL_LIMITS } from "./pull-limits.js";
import { PullError } from "./pull-error.js";
import { checkFetchableUrl } from "./pull-source.js";

const DEFAULT_ENDPOINT = "https://huggingface.co";
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The Hugging Face base URL (`HF_ENDPOINT` or huggingface.co), without a trailing slash. */
export function huggingFaceEndpoint(): URL {
  const raw = process.env.HF_ENDPOINT || DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PullError(`HF_ENDPOINT is not a URL: '${raw.slice(0, 96)}'`);
  }
  checkFetchableUrl(url, "HF_ENDPOINT");
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

const joinUrl = (base: URL, path: string) => new URL(`${base.href.replace(/\/+$/, "")}/${path}`);

/** `Authorization` for requests to the Hugging Face endpoint (never to another origin: a URL source's host gets no token). */
export function huggingFaceHeaders(target: URL): Record<string, string> {
  const token = process.env.HF_TOKEN;
  return token && target.origin === huggingFaceEndpoint().origin ? { Authorization: `Bearer ${token}` } : {};
}

export interface RepoFile {
  path: string;
  size?: number;
  /** The LFS sha256 (lowercase hex), when the API lists one. */
  sha256?: string;
}

export interface ResolvedFile {
  url: URL;
  /** The repository path of the file (the first part of a split GGUF). */
  file: string;
  /** Expected sha256 per local file name (every part of a split GGUF the API lists). */
  sha256: Map<string, string>;
  /** Total bytes of every part, when the API lists sizes. */
  size?: number;
}

/** Reads at most PULL_LIMITS.apiMaxBytes of a body as text. */
async function boundedText(res: Response, what: string): Promise<string> {
  const max = PULL_LIMITS.apiMaxBytes.value;
  if (Number(res.headers.get("content-length") ?? 0) > max)
    throw new PullError(`${what}: the answer is larger than ${describeLimit(PULL_LIMITS.apiMaxBytes, "bytes")}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > max) throw new PullError(`${what}: the answer is larger than ${describeLimit(PULL_LIMITS.apiMaxBytes, "bytes")}`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, a bad port...) in its cause. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause ?? err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** One API call, bounded in time (PULL_LIMITS.apiTimeoutMs), with the token when it goes to the endpoint. */
export async function apiFetch(url: URL, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, {
      ...init,
      headers: { ...huggingFaceHeaders(url), ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(PULL_LIMITS.apiTimeoutMs.value),
    });
  } catch (err) {
    const cause = (err as Error).name === "TimeoutError" ? `no answer within ${describeLimit(PULL_LIMITS.apiTimeoutMs, "ms")}` : causeOf(err);
    throw new PullError(`${url.origin}${url.pathname}: ${cause}`);
  }
}

function statusError(res: Response, what: string): PullError {
  const hint =
    res.status === 401 || res.status === 403
      ? " (a gated or private repository needs HF_TOKEN)"
      : res.status === 404
        ? " (no such repository, revision or file)"
        : "";
  return new PullError(`${what}: HTTP ${res.status}${hint}`);
}

function toRepoFile(entry: unknown): RepoFile | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as { type?: unknown; path?: unknown; size?: unknown; lfs?: { oid?: unknown } };
  if (e.type !== "file" || typeof e.path !== "string") return undefined;
  const oid = typeof e.lfs?.oid === "string" ? e.lfs.oid.toLowerCase() : undefined;
  return { path: e.path, size: typeof e.size === "number" ? e.size : undefined, sha256: oid && SHA256_HEX.test(oid) ? oid : undefined };
}

const nextLink = (link: string | null): string | undefined => link?.match(/<([^>]+)>\s*;\s*rel="?next"?/)?.[1];

/** Every file of a repository revision, from `/api/models/<repo>/tree/<revision>?recursive=true`, following `Link: rel="next"` pages. */
export async function listRepoFiles(repo: string, revision: string): Promise<RepoFile[]> {
  const base = huggingFaceEndpoint();
  let url: URL | undefined = joinUrl(base, `api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`);
  const files: RepoFile[] = [];
  for (let page = 0; url; page++) {
    if (page >= PULL_LIMITS.apiMaxPages.value) throw new PullError(`hf:${repo}: more than ${describeLimit(PULL_LIMITS.apiMaxPages, "pages")} of files`);
    const what = `listing the files of hf:${repo}`;
    const res = await apiFetch(url);
    if (!res.ok) throw statusError(res, what);
    let entries: unknown;
    try {
      entries = JSON.parse(await boundedText(res, what));
    } catch (err) {
      if (err instanceof PullError) throw err;
      throw new PullError(`${what}: the answer is not JSON`);
    }
    if (!Array.isArray(entries)) throw new PullError(`${what}: the answer is not a list of files`);
    files.push(...entries.map(toRepoFile).filter((f): f is RepoFile => f !== undefined));
    const next = nextLink(res.headers.get("link"));
    // A next page on another origin would carry the token elsewhere: only the endpoint's own pages are followed.
    url = next ? new URL(next, base) : undefined;
    if (url && url.origin !== base.origin) throw new PullError(`${what}: the next page is on another host (${url.origin})`);
  }
  return files;
}

const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;
const baseName = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** Whether a file name carries the quantization as a whole tag: Q4_K matches `x.Q4_K.gguf`, not `x.Q4_K_M.gguf`; Q4_0 not `x.IQ4_0.gguf`. */
function hasQuant(file: string, quant: string): boolean {
  const name = baseName(file).toUpperCase().replace(SPLIT, ".gguf");
  for (let i = name.indexOf(quant); i >= 0; i = name.indexOf(quant, i + 1)) {
    const before = i === 0 ? "" : name[i - 1];
    const after = name[i + quant.length] ?? "";
    if (!/[A-Z0-9]/.test(before) && !/[A-Z0-9_]/.test(after)) return true;
  }
  return false;
}

/** The repository's GGUF file for a quantization: the first part of a split one; vision projectors (mmproj) never. */
export function pickQuantFile(files: readonly RepoFile[], quant: string, repo: string): RepoFile {
  const ggufs = files.filter((f) => f.path.toLowerCase().endsWith(".gguf") && !baseName(f.path).toLowerCase().startsWith("mmproj"));
  const entry = (f: RepoFile) => !SPLIT.test(f.path) || Number(SPLIT.exec(f.path)![1]) === 1;
  const matches = ggufs.filter((f) => entry(f) && hasQuant(f.path, quant));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    const listed = ggufs.filter(entry).map((f) => f.path);
    throw new PullError(
      `hf:${repo} has no GGUF file for ${quant}` + (listed.length ? `; its GGUF files: ${listed.slice(0, 20).join(", ")}` : "; it lists no GGUF file"),
    );
  }
  throw new PullError(`hf:${repo} has several GGUF files for ${quant} (${matches.map((f) => f.path).join(", ")}): name one as hf:${repo}/<file>`);
}

/** Every part of a split GGUF (`-00001-of-00003`, a repository path or a local one), or the file alone. */
export function splitParts(file: string): string[] {
  const m = SPLIT.exec(file);
  if (!m) return [file];
  const total = Number(m[2]);
  const stem = file.slice(0, m.index);
  return Array.from({ length: total }, (_, i) => `${stem}-${String(i + 1).padStart(5, "0")}-of-${m[2]}.gguf`);
}

export function resolveUrl(repo: string, revision: string, file: string): URL {
  return joinUrl(huggingFaceEndpoint(), `${repo}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`);
}

/** A `hf:` source resolved against the repository's file list (which also gives each file's sha256). */
export async function resolveHuggingFace(repo: string, revision: string, pick: { file: string } | { quant: string }): Promise<ResolvedFile> {
  const files = await listRepoFiles(repo, revision);
  const chosen = "quant" in pick ? pickQuantFile(files, pick.quant, repo) : files.find((f) => f.path === pick.file);
  if (!chosen) throw new PullError(`hf:${repo} has no file '${"file" in pick ? pick.file : ""}' at revision ${revision}`);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const sha256 = new Map<string, string>();
  let size: number | undefined = 0;
  for (const part of splitParts(chosen.path)) {
    const listed = byPath.get(part);
    if (!listed) throw new PullError(`hf:${repo}: part '${part}' of the split file ${chosen.path} is missing from the repository`);
    if (listed.sha256) sha256.set(baseName(part), listed.sha256);
    size = size !== undefined && listed.size !== undefined ? size + listed.size : undefined;
  }
  return { url: resolveUrl(repo, revision, chosen.path), file: chosen.path, sha256, size };
}

/**
 * What a HEAD says of a URL source: the sha256 a Hugging Face(-style) server publishes in
 * `X-Linked-Etag` (on the redirect to its storage, so the redirect is not followed), and the size
 * when the answer is the file itself. A missing or forbidden file is refused here, before any download.
 */
export async function headSource(url: URL): Promise<{ sha256?: string; size?: number }> {
  const res = await apiFetch(url, { method: "HEAD", redirect: "manual" });
  if (res.status === 404 || res.status === 401 || res.status === 403) throw statusError(res, `${url.origin}${url.pathname}`);
  const etag = (res.headers.get("x-linked-etag") ?? "").replace(/^W\//, "").replace(/"/g, "").toLowerCase();
  const linkedSize = Number(res.headers.get("x-linked-size"));
  const length = res.status === 200 ? Number(res.headers.get("content-length")) : NaN;
  const size = linkedSize > 0 ? linkedSize : length > 0 ? length : undefined;
  return { sha256: SHA256_HEX.test(etag) ? etag : undefined, size };
}
