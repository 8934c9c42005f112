#!/usr/bin/env node
// Builds the admin page (ui/admin/, served at /admin) into dist/admin/: index.html and assets/app.js
// + assets/app.css (uPlot's stylesheet included), minified, everything bundled: the page loads
// nothing from a CDN. Run by `npm run build` after tsc.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = path.join(root, "ui/admin");
const out = path.join(root, "dist/admin");

const started = Date.now();
// Stale hashed or renamed files must not linger: the server serves what the directory lists.
fs.rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: [
    { in: path.join(src, "main.tsx"), out: "app" },
    { in: path.join(src, "styles.css"), out: "app" },
  ],
  outdir: path.join(out, "assets"),
  bundle: true,
  minify: true,
  sourcemap: false,
  legalComments: "none",
  format: "esm",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  logLevel: "warning",
});
fs.copyFileSync(path.join(src, "index.html"), path.join(out, "index.html"));
const sizes = fs.readdirSync(path.join(out, "assets")).map((f) => `${f} ${(fs.statSync(path.join(out, "assets", f)).size / 1024).toFixed(1)} KB`);
console.log(`admin page built in ${Date.now() - started} ms: ${sizes.join(", ")}`);
