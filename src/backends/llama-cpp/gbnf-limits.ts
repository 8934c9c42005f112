/**
 * Bounds on a client's GBNF grammar, checked before llama.cpp sees it.
 *
 * llama.cpp matches a grammar by keeping one parse stack per way the grammar can go on, and at
 * every character it re-expands each stack through every optional item. The work of one step is
 * about (stacks) x (ways from the next point), and it runs on the main thread. From the rules
 * alone this counts, for every point of the grammar:
 *   T  the terminals it can go on with, through optional items and rule references;
 *   E  the ways it can match nothing (each one continues in the enclosing rule);
 *   K  the terminals reached only by skipping at least one optional item.
 * A grammar whose counts stay small is cheap to match whatever text is generated: a plain
 * alternation of 1,000 words is fine (T = 1,000, but each step continues one way), whereas
 * `root ::= x x x ... x` with `x ::= "a"?` is not (every point can be reached by skipping).
 */
import { InvalidRequestError } from "../../core/errors.js";
import { GbnfError, readGbnf, TERMINAL } from "./gbnf-parse.js";
import { describeLimit } from "../../core/env-limit.js";
import { GRAMMAR_LIMITS } from "./request-limits.js";

/** Counts are capped here: exact far above any limit, and products of two never overflow a double's precision where it matters. */
const CAP = 2 ** 40;
const add = (a: number, b: number) => Math.min(CAP, a + b);
const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : Math.min(CAP, a * b));

interface RuleCounts {
  T: Float64Array;
  E: Float64Array;
  K: Float64Array;
}

interface DfsFrame {
  rule: number;
  alt: number;
  at: number;
  /** Ways to reach `at` by skipping everything before it in this alternative. */
  skip: number;
  altT: number;
  altK: number;
  T: number;
  E: number;
  K: number;
}

const frame = (rule: number): DfsFrame => ({ rule, alt: 0, at: 0, skip: 1, altT: 0, altK: 0, T: 0, E: 0, K: 0 });

/**
 * T, E and K of every rule. A rule depends on the rules it can start with (through optional
 * prefixes); a cycle there is left recursion, which llama.cpp refuses too.
 */
function ruleCounts(rules: number[][][]): RuleCounts {
  const n = rules.length;
  const counts = { T: new Float64Array(n), E: new Float64Array(n), K: new Float64Array(n) };
  const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
  for (let start = 0; start < n; start++) {
    if (state[start] !== 0) continue;
    state[start] = 1;
    const stack = [frame(start)];
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      const alts = rules[f.rule];
      if (f.alt >= alts.length) {
        counts.T[f.rule] = f.T;
        counts.E[f.rule] = f.E;
        counts.K[f.rule] = f.K;
        state[f.rule] = 2;
        stack.pop();
        continue;
      }
      const seq = alts[f.alt];
      if (f.skip === 0 || f.at >= seq.length) {
        f.T = add(f.T, f.altT);
        f.K = add(f.K, f.altK);
        if (f.skip !== 0) f.E = add(f.E, f.skip);
        Object.assign(f, { alt: f.alt + 1, at: 0, skip: 1, altT: 0, altK: 0 });
        continue;
      }
      const el = seq[f.at];
      if (el === TERMINAL) {
        f.altT = add(f.altT, f.skip);
        if (f.at > 0) f.altK = add(f.altK, f.skip);
        f.skip = 0;
        continue;
      }
      if (state[el] === 1) throw new GbnfError("The grammar is left-recursive (a rule can start with itself), which llama.cpp cannot match", "syntax");
      if (state[el] === 0) {
        state[el] = 1;
        stack.push(frame(el));
        continue;
      }
      f.altT = add(f.altT, mul(f.skip, counts.T[el]));
      f.altK = add(f.altK, f.at === 0 ? counts.K[el] : mul(f.skip, counts.T[el]));
      f.skip = mul(f.skip, counts.E[el]);
      f.at++;
    }
  }
  return counts;
}

export interface GrammarComplexity {
  /** The most ways the grammar can go on from one point. */
  alternatives: number;
  /** The most ways one point can be reached by skipping optional items. */
  skips: number;
  /** The most ways from a point reached by matching something (what each step re-expands). */
  stepWays: number;
}

/** The per-point counts, from the rules' counts, right to left over every sequence. */
function complexity(rules: number[][][], c: RuleCounts): GrammarComplexity {
  let alternatives = 0;
  let skips = 0;
  let stepWays = 0;
  for (let r = 0; r < rules.length; r++) {
    alternatives = Math.max(alternatives, add(c.T[r], c.E[r]));
    for (const seq of rules[r]) {
      let t = 0;
      let e = 1;
      for (let j = seq.length - 1; j >= 0; j--) {
        const el = seq[j];
        const [te, ee, ke] = el === TERMINAL ? [1, 0, 0] : [c.T[el], c.E[el], c.K[el]];
        skips = Math.max(skips, add(ke, mul(ee, t)));
        t = add(te, mul(ee, t));
        e = mul(ee, e);
        const ways = add(t, e);
        alternatives = Math.max(alternatives, ways);
        if (j > 0) stepWays = Math.max(stepWays, ways);
      }
    }
  }
  return { alternatives, skips, stepWays };
}

export function grammarComplexity(src: string): GrammarComplexity {
  const { rules } = readGbnf(src, {
    depth: GRAMMAR_LIMITS.depth.value,
    elements: GRAMMAR_LIMITS.elements.value,
    describe: (which) => describeLimit(GRAMMAR_LIMITS[which], which === "depth" ? "levels" : "elements"),
  });
  return complexity(rules, ruleCounts(rules));
}

function overLimit(src: string): string | undefined {
  const bytes = Buffer.byteLength(src, "utf8");
  if (bytes > GRAMMAR_LIMITS.bytes.value) return `The grammar is ${bytes} bytes, more than ${describeLimit(GRAMMAR_LIMITS.bytes, "bytes")}`;
  const c = grammarComplexity(src);
  const alts = GRAMMAR_LIMITS.alternatives;
  const amb = GRAMMAR_LIMITS.ambiguity;
  if (c.alternatives > alts.value) return `The grammar can go on in ${c.alternatives} ways at one point, more than ${describeLimit(alts, "alternatives")}`;
  if (c.skips > amb.value)
    return `The grammar is too ambiguous: one point can be reached in ${c.skips} ways by skipping optional items, more than ${describeLimit(amb, "ways")}`;
  const step = mul(c.alternatives, c.stepWays);
  if (step > alts.value * amb.value) {
    return `The grammar is too ambiguous: one matching step can take ${step} ways (${c.alternatives} alternatives x ${c.stepWays}), more than ${alts.value * amb.value} (${alts.env} x ${amb.env})`;
  }
  return undefined;
}

/**
 * Throws a 400 `invalid_grammar` naming `param` and the limit when the grammar is over one, or
 * is something llama.cpp would refuse in a way that matters here (unbalanced groups, left recursion).
 */
export function checkGrammarLimits(src: string, param: string): void {
  let problem: string | undefined;
  try {
    problem = overLimit(src);
  } catch (err) {
    if (!(err instanceof GbnfError)) throw err;
    problem = err.message;
  }
  if (problem) throw new InvalidRequestError(problem, param, "invalid_grammar");
}
