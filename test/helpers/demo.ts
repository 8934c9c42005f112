import fs from "node:fs";
import path from "node:path";
import { writeDemoModel } from "../../src/demo-model/demo-model.js";
import { tempDir, writeConfigDir } from "./server.js";

let demoFile: string | undefined;

/** The generated demo GGUF, written once per test process into a temp directory. */
export async function demoModelFile(): Promise<string> {
  if (!demoFile) {
    const file = path.join(tempDir("understudy-demo-"), "demo.gguf");
    await writeDemoModel(file);
    demoFile = file;
  }
  return demoFile;
}

/** A config dir whose registrations (YAML text, `MODEL` standing for the demo file's path) use the demo model. */
export async function demoConfigDir(files: Record<string, string>): Promise<string> {
  const dir = tempDir();
  fs.copyFileSync(await demoModelFile(), path.join(dir, "demo.gguf"));
  return writeConfigDir(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.replace(/MODEL/g, "demo.gguf")])), dir);
}

export const demoRegistration = (model: string, settings = "", extra = "") => `registration:
  model: ${model}
  allow_debug: true
  capabilities: [chat, completion, embeddings, tools, json_schema]
local_settings:
  backend: llama-cpp
  model: MODEL
  threads: 1
${settings}${extra}`;
