/**
 * What `understudy pull <source>` names: a Hugging Face file or quantization, a URL, or a local file.
 * Parsing only; nothing is fetched here.
 */
import path from "node:path";
import { PullError } from "./pull-error.js";

export type PullSource =
  | { kind: "hf-file"; repo: string; file: string; revision: string }
  | { kind: "hf-quant"; repo: string; quant: string; revision: string }
  | { kind: "url"; url: URL }
  | { kind: "local"; path: string };

/** Hugging Face's repository id rules: `user/name`, each part letters, digits, `-`, `_`, `.` (no `..`, no leading `-`/`.`). */
const REPO_PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}$/;
/** A quantization tag as llama.cpp names them (Q4_K_M, IQ2_XS, F16, BF16, Q8_0...). */
const QUANT = /^[A-Za-z0-9_]{1,32}$/;
const DEFAULT_REVISION = "main";
/** The quantization picked when none is named: node-llama-cpp's and Ollama's usual default, a fair size/quality trade. */
export const DEFAULT_QUANT = "Q4_K_M";

/** Loopback hosts: plain http is allowed only there (a local mirror, the tests), never across a network. */
export function isLoopbackHostname(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** An http(s) URL that may be fetched: https anywhere, http on loopback only. */
export function checkFetchableUrl(url: URL, what: string): URL {
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopbackHostname(url.hostname)) return url;
  throw new PullError(`${what} must be an https:// URL (plain http:// is allowed for loopback hosts only): ${url.origin}`);
}

function checkRepo(repo: string, source: string): string {
  const parts = repo.split("/");
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p) && !p.includes("..")))
    throw new PullError(`'${source}': a Hugging Face repository is <user>/<name> (letters, digits, '-', '_', '.')`);
  return repo;
}

/** A repository file path: relative, no `..`, no empty or hidden-traversal steps. */
function checkRepoFile(file: string, source: string): string {
  const steps = file.split("/");
  if (steps.some((s) => s === "" || s === "." || s === "..") || !file.toLowerCase().endsWith(".gguf"))
    throw new PullError(`'${source}': the file must be a .gguf path inside the repository`);
  return file;
}

/** `hf:user/repo/dir/file.gguf[#revision]` or `hf:user/repo[:Q4_K_M][#revision]` (`--quant` fills in a missing quantization, else Q4_K_M). */
function parseHuggingFace(rest: string, source: string, quantOption?: string): PullSource {
  const [body, revision = DEFAULT_REVISION] = rest.split("#", 2);
  if (!/^[A-Za-z0-9_.\-/]{1,200}$/.test(revision)) throw new PullError(`'${source}': invalid revision '${revision}'`);
  const steps = body.split("/");
  if (steps.length >= 3) {
    if (quantOption) throw new PullError(`'${source}' names a file; --quant applies to hf:<user>/<repo> only`);
    return { kind: "hf-file", repo: checkRepo(steps.slice(0, 2).join("/"), source), file: checkRepoFile(steps.slice(2).join("/"), source), revision };
  }
  const [repo, tag] = body.split(":", 2);
  const quant = tag ?? quantOption ?? DEFAULT_QUANT;
  if (tag !== undefined && quantOption !== undefined && tag.toUpperCase() !== quantOption.toUpperCase())
    throw new PullError(`'${source}' names quantization ${tag} and --quant ${quantOption}: give one`);
  if (!QUANT.test(quant)) throw new PullError(`'${source}': invalid quantization '${quant}' (e.g. Q4_K_M, Q8_0, F16)`);
  return { kind: "hf-quant", repo: checkRepo(repo, source), quant: quant.toUpperCase(), revision };
}

export function parsePullSource(source: string, quantOption?: string): PullSource {
  if (source.startsWith("hf:")) return parseHuggingFace(source.slice(3).replace(/^\/\//, ""), source, quantOption);
  if (quantOption !== undefined) throw new PullError(`--quant applies to hf:<user>/<repo> sources only`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new PullError(`'${source}' is not a valid URL`);
    }
    if (url.username || url.password)
      throw new PullError(`a URL with credentials is refused (they would be logged and written into the registration); use HF_TOKEN`);
    return { kind: "url", url: checkFetchableUrl(url, "the source") };
  }
  return { kind: "local", path: path.resolve(source) };
}

/** A short, loggable description of the source (a URL without its query: it may hold a signature). */
export function describeSource(source: PullSource): string {
  switch (source.kind) {
    case "hf-file":
      return `hf:${source.repo}/${source.file}${source.revision === DEFAULT_REVISION ? "" : `#${source.revision}`}`;
    case "hf-quant":
      return `hf:${source.repo}:${source.quant}${source.revision === DEFAULT_REVISION ? "" : `#${source.revision}`}`;
    case "url":
      return `${source.url.origin}${source.url.pathname}`;
    case "local":
      return source.path;
  }
}
