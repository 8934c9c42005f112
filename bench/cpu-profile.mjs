#!/usr/bin/env node
// Where a server's CPU goes, from a V8 .cpuprofile (`node --cpu-prof --cpu-prof-dir=DIR bin/understudy.js serve`,
// stopped with SIGINT so the profile is written):
//
//   node bench/cpu-profile.mjs FILE.cpuprofile [--skip-ms N] [--requests N] [--by-function] [--top N]
//
// Each sample goes to its innermost frame that is Understudy's own code (dist/...) or a package
// (pkg:name); samples in Node's internals or native code go to the nearest such caller, so a
// syscall made for `res.end()` counts against the file that called it. --skip-ms drops the first
// N ms (start-up, warm-up); --requests N adds µs per request.
import fs from "node:fs";

function parseArgs(argv) {
  const opts = { file: undefined, skipMs: 0, requests: 0, byFunction: false, top: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--skip-ms") opts.skipMs = Number(argv[++i]);
    else if (a === "--requests") opts.requests = Number(argv[++i]);
    else if (a === "--by-function") opts.byFunction = true;
    else if (a === "--top") opts.top = Number(argv[++i]);
    else opts.file = a;
  }
  if (!opts.file) throw new Error("usage: cpu-profile.mjs FILE.cpuprofile [--skip-ms N] [--requests N] [--by-function] [--top N]");
  return opts;
}

const SPECIAL = new Set(["(garbage collector)", "(idle)", "(program)"]);

/** node id -> the label its samples are charged to (memoized walk towards the root). */
function owners(profile, byFunction) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map();
  const ownerOf = (id) => {
    // Iterative: deep stacks (recursive parsers) must not overflow this script's stack.
    const path = [];
    let cur = id;
    let found;
    while (cur !== undefined && found === undefined) {
      if (memo.has(cur)) found = memo.get(cur);
      else {
        const { functionName, url } = byId.get(cur).callFrame;
        const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
        if (functionName === "(root)") found = "node internals (no JS caller)";
        else if (pkg) found = `pkg:${pkg[1]}`;
        else if (url.includes("/dist/")) found = url.replace(/^.*\/dist\//, "") + (byFunction ? ` ${functionName || "(anonymous)"}` : "");
        else if (SPECIAL.has(functionName)) found = functionName;
        else (path.push(cur), (cur = parent.get(cur)));
      }
    }
    const label = found ?? "node internals (no JS caller)";
    for (const p of path) memo.set(p, label);
    memo.set(id, label);
    return label;
  };
  return ownerOf;
}

const opts = parseArgs(process.argv.slice(2));
const profile = JSON.parse(fs.readFileSync(opts.file, "utf8"));
const ownerOf = owners(profile, opts.byFunction);
const totals = new Map();
let clock = 0;
let total = 0;
profile.samples.forEach((id, i) => {
  const ms = (profile.timeDeltas[i] ?? 0) / 1000;
  clock += ms;
  if (clock < opts.skipMs) return;
  total += ms;
  const o = ownerOf(id);
  totals.set(o, (totals.get(o) ?? 0) + ms);
});
console.log(`${total.toFixed(0)} ms sampled${opts.requests ? ` over ${opts.requests} requests` : ""}`);
for (const [label, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, opts.top)) {
  const perReq = opts.requests ? `${((1000 * ms) / opts.requests).toFixed(1).padStart(8)} µs/req` : "";
  console.log(`${ms.toFixed(0).padStart(7)} ms${perReq}  ${label}`);
}
