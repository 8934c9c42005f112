#!/usr/bin/env node
// `npm run bench [-- name ...]`: runs the named benchmarks (default: all) and rewrites their
// sections of docs/benchmarks.md, leaving the other sections as they were.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const docPath = path.join(root, "docs/benchmarks.md");

const benches = {
  startup: async () => {
    const m = await import("./startup.mjs");
    return m.startupMarkdown(await m.benchStartup());
  },
  validation: async () => {
    const m = await import("./validation.mjs");
    return m.validationMarkdown(await m.benchValidation());
  },
};

const optional = ["tokens", "gateway", "soak"];
for (const name of optional) {
  const file = path.join(root, "bench", `${name}.mjs`);
  if (fs.existsSync(file)) benches[name] = async () => (await import(file)).run();
}

function replaceSection(doc, name, body) {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  return i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
}

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(benches);
let doc = fs.existsSync(docPath)
  ? fs.readFileSync(docPath, "utf8")
  : "# Benchmarks\n\nWritten by `npm run bench` (`node bench/run.mjs [name ...]`); each section says the command that reproduces it.\n";
for (const name of wanted) {
  if (!benches[name]) throw new Error(`unknown bench '${name}' (have: ${Object.keys(benches).join(", ")})`);
  console.error(`running bench: ${name}`);
  const body = await benches[name]();
  const stamp = `_Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}; load average at start ${os.loadavg()[0].toFixed(2)}._`;
  doc = replaceSection(doc, name, `${body.trim()}\n\n${stamp}`);
  console.log(body);
}
fs.mkdirSync(path.dirname(docPath), { recursive: true });
fs.writeFileSync(docPath, doc);
