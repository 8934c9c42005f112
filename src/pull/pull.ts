/**
 * `understudy pull <source>`: resolve the source, download (or copy) the GGUF into
 * `<config>/models/`, check its sha256 and its header, and only then write the registration, so a
 * failure or Ctrl-C at any step leaves no registration (a Ctrl-C during the download leaves a
 * partial file the same pull resumes).
 */
import fs from "node:fs";
import path from "node:path";
import { verifySha256, sha256File } from "./checksum.js";
import { copyLocalModel, downloadModel, PARTIAL_SUFFIX, type Downloaded, type Interrupt } from "./download.js";
import { checkGguf } from "./gguf-check.js";
import { huggingFaceHeaders, headSource, resolveHuggingFace } from "./hugging-face.js";
import { formatBytes, ProgressReporter } from "./progress.js";
import { PullError } from "./pull-error.js";
import { describeSource, parsePullSource, type PullSource } from "./pull-source.js";
import { checkNameFree, nameFromFile, registrationYaml, validateName, writeRegistration } from "./registration-file.js";

export interface PullOptions {
  config: string;
  name?: string;
  quant?: string;
  sha256?: string;
  force?: boolean;
}

export interface PullResult {
  name: string;
  registration: string;
  model: string;
  warnings: string[];
}

/** Where the bytes come from and what they must hash to (by local file name). */
interface Plan {
  url?: URL;
  local?: string;
  fileName: string;
  sha256: Map<string, string>;
  /** Bytes to download, when the source says. */
  size?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const GGUF_NAME = /\.gguf(\.part\d+of\d+)?$/i;

function urlFileName(url: URL): string {
  const name = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf("/") + 1));
  if (!GGUF_NAME.test(name) || name.includes("\\") || name.startsWith("."))
    throw new PullError(`the URL must name a .gguf file (got '${name.slice(0, 96)}'); the file keeps that name under models/`);
  // A binary-split file (`x.gguf.part1of3`) is joined into `x.gguf`.
  return name.replace(/\.part\d+of\d+$/i, "");
}

async function plan(source: PullSource): Promise<Plan> {
  switch (source.kind) {
    case "hf-file":
    case "hf-quant": {
      const pick = source.kind === "hf-file" ? { file: source.file } : { quant: source.quant };
      const resolved = await resolveHuggingFace(source.repo, source.revision, pick);
      return { url: resolved.url, fileName: path.basename(resolved.file), sha256: resolved.sha256, size: resolved.size };
    }
    case "url": {
      const fileName = urlFileName(source.url);
      const head = await headSource(source.url);
      return { url: source.url, fileName, sha256: new Map(head.sha256 ? [[fileName, head.sha256]] : []), size: head.size };
    }
    case "local":
      return { local: source.path, fileName: path.basename(source.path), sha256: new Map() };
  }
}

/** --sha256 joins (and must agree with) what the source publishes for the file llama.cpp loads. */
function addExpectedSha(p: Plan, given: string | undefined): void {
  if (given === undefined) return;
  const want = given.toLowerCase();
  if (!SHA256_HEX.test(want)) throw new PullError(`--sha256 must be 64 hex digits`);
  const published = p.sha256.get(p.fileName);
  if (published && published !== want) throw new PullError(`--sha256 ${want} differs from the sha256 the source publishes for ${p.fileName} (${published})`);
  p.sha256.set(p.fileName, want);
}

/**
 * A model file already at the destination is kept only when it is provably the one asked for (its
 * sha256 matches); anything else needs --force, so a pull never silently replaces a file a
 * registration may be serving.
 */
async function checkExisting(dest: string, p: Plan, force: boolean): Promise<void> {
  if (force || !fs.existsSync(dest) || p.local) return;
  const want = p.sha256.get(p.fileName);
  if (want && (await sha256File(dest)) === want) return;
  throw new PullError(
    `${dest} exists and ${want ? "its sha256 differs from the source's" : "the source publishes no sha256 to check it against"}: --force to replace it`,
  );
}

/**
 * No size limit is put on a model (they run from 300 MB to hundreds of GB): the only bound is the
 * disk, checked up front when the source gives a size, so a pull does not fail hours in.
 */
async function checkDiskSpace(dir: string, p: Plan): Promise<void> {
  if (p.size === undefined || p.local) return;
  const stat = await fs.promises.statfs(fs.existsSync(dir) ? dir : path.dirname(dir)).catch(() => undefined);
  if (!stat) return;
  const free = stat.bavail * stat.bsize;
  // A partial download being resumed already holds its blocks.
  const partial = path.join(dir, p.fileName + PARTIAL_SUFFIX);
  const held = fs.existsSync(partial) ? fs.statSync(partial).blocks * 512 : 0;
  if (p.size - held > free) throw new PullError(`${p.fileName} is ${formatBytes(p.size)} and ${dir} has ${formatBytes(free)} free`);
}

const discard = (files: readonly string[]) => files.forEach((f) => fs.rmSync(f, { force: true }));

export async function pull(sourceText: string, opts: PullOptions, interrupt: Interrupt, say: (line: string) => void): Promise<PullResult> {
  const source = parsePullSource(sourceText, opts.quant);
  const configDir = path.resolve(opts.config);
  if (!fs.existsSync(configDir) || !fs.statSync(configDir).isDirectory()) throw new PullError(`config directory ${configDir} does not exist`);
  const modelsDir = path.join(configDir, "models");
  const p = await plan(source);
  addExpectedSha(p, opts.sha256);
  const name = validateName(opts.name ?? nameFromFile(p.fileName));
  checkNameFree(configDir, name, opts.force === true);
  const dest = path.join(modelsDir, p.fileName);
  await checkExisting(dest, p, opts.force === true);
  await checkDiskSpace(modelsDir, p);

  say(`pulling ${describeSource(source)} into ${path.relative(process.cwd(), dest) || dest}`);
  const progress = new ProgressReporter();
  let got: Downloaded;
  if (p.local) got = await copyLocalModel(p.local, modelsDir, opts.force === true);
  else
    got = await downloadModel({
      url: p.url!,
      dir: modelsDir,
      fileName: p.fileName,
      headers: huggingFaceHeaders(p.url!),
      replace: opts.force === true,
      progress,
      interrupt,
    });
  // Files this pull wrote may be deleted on a failed check; a file that was already there and kept is not.
  const ours = got.written;

  const checked = await verifySha256(got.files, p.sha256, () => discard(ours));
  if (checked === 0) say("warning: the source publishes no sha256 for this file (pass --sha256 to check one): only its GGUF header is checked");
  let facts;
  try {
    facts = await checkGguf(got.entry);
  } catch (err) {
    discard(ours);
    throw err;
  }
  for (const w of facts.warnings) say(`warning: ${w}`);
  const modelPath = path.relative(configDir, got.entry).split(path.sep).join("/");
  const text = registrationYaml({ name, modelPath, facts, source: describeSource(source), sha256: p.sha256.get(p.fileName) });
  const registration = writeRegistration(configDir, name, text);
  return { name, registration, model: got.entry, warnings: facts.warnings };
}
