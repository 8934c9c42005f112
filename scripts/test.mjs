#!/usr/bin/env node
// The test command (`npm test`): regenerate and diff the generated files, type-check, check the
// formatting, run jest, and end with the plain line "N passed, N failed".
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { lintSpec } from "./lint-spec.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
let passed = 0;
let failed = 0;

function step(name, cmd, args, env = {}) {
  console.log(`\n== ${name}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  return r.status === 0;
}

function check(name, ok) {
  console.log(`${ok ? "PASS" : "FAIL"} ${name}`);
  if (ok) passed++;
  else failed++;
}

check("npm run generate", step("generate", "npm", ["run", "--silent", "generate"]));
check(
  "generated files match the committed ones",
  step("diff", "git", ["diff", "--exit-code", "--stat", "--", "openapi", "src/generated", "clients/typescript"]) &&
    spawnSync("git", ["status", "--porcelain", "--", "openapi", "src/generated", "clients/typescript"], { cwd: root }).stdout.toString().trim() === "",
);
check("redocly lint: 0 errors (warnings counted in docs/conformance.md)", lintSpec());
check("build (tsc)", step("build", "npm", ["run", "--silent", "build"]));
check("type-check (src, test)", step("tsc", "npx", ["tsc", "-p", "tsconfig.test.json"]));
check("type-check (ui: the admin page)", step("tsc ui", "npx", ["tsc", "-p", "ui/tsconfig.json"]));
check("format (prettier --check)", step("format", "npm", ["run", "--silent", "format:check"]));

const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "understudy-jest-")), "report.json");
step("jest", "npx", ["jest", "--runInBand", "--json", `--outputFile=${report}`, ...process.argv.slice(2)], {
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --experimental-vm-modules --no-warnings`.trim(),
  LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
});
if (fs.existsSync(report)) {
  const r = JSON.parse(fs.readFileSync(report, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  if (r.numTotalTests === 0) failed++;
} else {
  failed++;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
