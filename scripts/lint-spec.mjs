#!/usr/bin/env node
// `node scripts/lint-spec.mjs`: the lint step of `npm test` on its own (exit 1 on any error).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/**
 * `redocly lint` on the published spec (GET /openapi.json serves this file), rules in redocly.yaml.
 * Errors fail; the warnings, by rule, are written into docs/conformance.md between its lint markers.
 */
export function lintSpec() {
  console.log("\n== lint: npx redocly lint openapi/extended.json");
  const r = spawnSync("npx", ["redocly", "lint", "openapi/extended.json", "--format=json", "--max-problems=100000"], {
    cwd: root,
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    maxBuffer: 256 * 1024 * 1024,
  });
  let result;
  try {
    result = JSON.parse(r.stdout.toString());
  } catch {
    console.log(r.stderr.toString());
    return false;
  }
  const byRule = new Map();
  for (const p of result.problems) {
    const key = `${p.severity === "error" ? "error" : "warning"} | ${p.ruleId}`;
    byRule.set(key, (byRule.get(key) ?? 0) + 1);
  }
  for (const p of result.problems.filter((p) => p.severity === "error")) console.log(`error ${p.ruleId} ${p.location?.[0]?.pointer}: ${p.message}`);
  const { errors, warnings } = result.totals;
  console.log(`${errors} errors, ${warnings} warnings`);
  const rows = [...byRule].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `| ${k} | ${n} |`);
  const section = [
    "<!-- lint:start (written by npm test) -->",
    `\`redocly lint openapi/extended.json\` (@redocly/cli ${result.version ?? ""}): **${errors} errors, ${warnings} warnings**.`,
    "",
    "| severity | rule | count |",
    "| --- | --- | --- |",
    ...rows,
    "<!-- lint:end -->",
  ].join("\n");
  const doc = path.join(root, "docs/conformance.md");
  const text = fs.readFileSync(doc, "utf8");
  const updated = text.replace(/<!-- lint:start[^]*?<!-- lint:end -->/, section);
  if (updated !== text) fs.writeFileSync(doc, updated);
  return errors === 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(lintSpec() ? 0 : 1);
