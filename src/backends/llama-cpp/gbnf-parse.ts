/**
 * Reads a GBNF grammar (llama.cpp's grammar syntax) into rules the way llama.cpp's own parser
 * does, including its rewriting of repetitions into rules, but without recursion: llama.cpp
 * parses each `(` group with a recursive call, and a grammar nested 20,000 deep overflows its
 * native stack. Reading it here first lets the nesting, the size after expansion and the
 * ambiguity be bounded before llama.cpp sees it.
 *
 * Where this reader and llama.cpp could disagree, llama.cpp still parses the grammar afterwards
 * and has the last word: a grammar read here is not thereby valid.
 */

/** An element of a sequence: TERMINAL (a literal, character class, `.` or token) or a rule id. */
export const TERMINAL = -1;

export interface GbnfRules {
  /** rule id -> alternatives -> sequence of elements. */
  rules: number[][][];
  root: number;
}

/** A grammar llama.cpp would refuse, or one over a limit. */
export class GbnfError extends Error {
  constructor(
    message: string,
    readonly kind: "syntax" | "limit",
  ) {
    super(message);
  }
}

export interface GbnfReadLimits {
  depth: number;
  elements: number;
  /** The message naming each limit (value and setting). */
  describe(which: "depth" | "elements"): string;
}

/** llama.cpp: a larger minimum is an error, a larger maximum means "no maximum". */
const MAX_REPETITION = 2000;

const isWordChar = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "-";
const isDigit = (c: string) => c >= "0" && c <= "9";
const HEX_DIGITS = new Map([
  ["x", 2],
  ["u", 4],
  ["U", 8],
]);
const SIMPLE_ESCAPES = new Set(["t", "r", "n", "\\", '"', "[", "]", "-"]);

interface Frame {
  rule: number;
  nested: boolean;
  alts: number[][];
  seq: number[];
  /** Where the item a quantifier applies to starts; seq.length when there is none. */
  lastStart: number;
}

class Reader {
  private i = 0;
  private readonly ids = new Map<string, number>();
  private readonly defined: boolean[] = [];
  readonly rules: number[][][] = [];
  private elements = 0;

  constructor(
    private readonly src: string,
    private readonly limits: GbnfReadLimits,
  ) {}

  read(): GbnfRules {
    if (this.src.includes("\0")) this.fail("a NUL character (llama.cpp would ignore everything after it)");
    this.space(true);
    while (this.i < this.src.length) this.rule();
    for (const [name, id] of this.ids) if (!this.defined[id]) this.fail(`rule '${name.slice(0, 64)}' is used but never defined`);
    const root = this.ids.get("root");
    if (root === undefined) this.fail("there is no 'root' rule");
    return { rules: this.rules, root };
  }

  private fail(what: string): never {
    throw new GbnfError(`The grammar cannot be read at offset ${this.i}: ${what}`, "syntax");
  }

  private count(n: number): void {
    this.elements += n;
    if (this.elements > this.limits.elements) throw new GbnfError(`The grammar expands to more than ${this.limits.describe("elements")}`, "limit");
  }

  private newRule(): number {
    this.count(1);
    this.rules.push([]);
    this.defined.push(true);
    return this.rules.length - 1;
  }

  private symbol(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.newRule();
      this.defined[id] = false;
      this.ids.set(name, id);
    }
    return id;
  }

  private space(newlineOk: boolean): void {
    const s = this.src;
    for (;;) {
      const c = s[this.i];
      if (c === " " || c === "\t" || (newlineOk && (c === "\r" || c === "\n"))) this.i++;
      else if (c === "#") while (this.i < s.length && s[this.i] !== "\r" && s[this.i] !== "\n") this.i++;
      else return;
    }
  }

  private name(): string {
    const start = this.i;
    while (this.i < this.src.length && isWordChar(this.src[this.i])) this.i++;
    if (this.i === start) this.fail("expecting a rule name");
    return this.src.slice(start, this.i);
  }

  private int(): number {
    const start = this.i;
    while (this.i < this.src.length && isDigit(this.src[this.i])) this.i++;
    if (this.i === start) this.fail("expecting an integer");
    return Number(this.src.slice(start, this.i));
  }

  /** One (possibly escaped) character of a literal or class. */
  private char(): void {
    const s = this.src;
    if (this.i >= s.length) this.fail("unexpected end of input");
    if (s[this.i] !== "\\") {
      this.i++;
      return;
    }
    const e = s[this.i + 1];
    const digits = HEX_DIGITS.get(e);
    if (digits !== undefined) {
      if (!/^[0-9a-fA-F]+$/.test(s.slice(this.i + 2, this.i + 2 + digits)) || this.i + 2 + digits > s.length) this.fail(`expecting ${digits} hex digits`);
      this.i += 2 + digits;
    } else if (SIMPLE_ESCAPES.has(e)) {
      this.i += 2;
    } else {
      this.fail("unknown escape");
    }
  }

  private rule(): void {
    const id = this.symbol(this.name());
    this.defined[id] = true;
    this.space(false);
    if (this.src.slice(this.i, this.i + 3) !== "::=") this.fail("expecting ::=");
    this.i += 3;
    this.space(true);
    this.alternates(id);
    const c = this.src[this.i];
    if (c === "\r") this.i += this.src[this.i + 1] === "\n" ? 2 : 1;
    else if (c === "\n") this.i++;
    else if (this.i < this.src.length) this.fail("expecting a newline or the end");
    this.space(true);
  }

  /** A rule's alternatives, with `( )` groups read through an explicit stack of frames. */
  private alternates(rule: number): void {
    const frames: Frame[] = [{ rule, nested: false, alts: [], seq: [], lastStart: 0 }];
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (this.item(f, frames)) continue;
      if (this.src[this.i] === "|") {
        f.alts.push(f.seq);
        f.seq = [];
        f.lastStart = 0;
        this.i++;
        this.space(true);
        continue;
      }
      f.alts.push(f.seq);
      this.rules[f.rule] = f.alts;
      frames.pop();
      if (!f.nested) return;
      if (this.src[this.i] !== ")") this.fail("expecting ')'");
      this.i++;
      const parent = frames[frames.length - 1];
      this.space(parent.nested);
      parent.lastStart = parent.seq.length;
      this.push(parent, f.rule);
    }
  }

  private push(f: Frame, element: number): void {
    this.count(1);
    f.seq.push(element);
  }

  /** Reads one item of the current sequence; false at the end of the sequence. */
  private item(f: Frame, frames: Frame[]): boolean {
    const s = this.src;
    const c = s[this.i];
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      this.i++;
      if (c === "[" && s[this.i] === "^") this.i++;
      const start = this.i;
      f.lastStart = f.seq.length;
      while (s[this.i] !== close) {
        this.char();
        if (c === "[" && s[this.i] === "-" && s[this.i + 1] !== "]") {
          this.i++;
          this.char();
        }
      }
      // An empty literal adds nothing, and a quantifier after it has nothing to repeat (as in llama.cpp).
      if (this.i > start) this.push(f, TERMINAL);
      this.i++;
    } else if (c === "<" || c === "!") {
      this.token();
      f.lastStart = f.seq.length;
      this.push(f, TERMINAL);
    } else if (c !== undefined && isWordChar(c)) {
      const id = this.symbol(this.name());
      f.lastStart = f.seq.length;
      this.push(f, id);
    } else if (c === "(") {
      if (frames.length > this.limits.depth) throw new GbnfError(`The grammar nests groups deeper than ${this.limits.describe("depth")}`, "limit");
      this.i++;
      this.space(true);
      frames.push({ rule: this.newRule(), nested: true, alts: [], seq: [], lastStart: 0 });
      return true;
    } else if (c === ".") {
      this.i++;
      f.lastStart = f.seq.length;
      this.push(f, TERMINAL);
    } else if (c === "*" || c === "+" || c === "?") {
      this.i++;
      this.space(f.nested);
      this.repeat(f, c === "+" ? 1 : 0, c === "?" ? 1 : Infinity);
      return true;
    } else if (c === "{") {
      this.braces(f);
      return true;
    } else {
      return false;
    }
    this.space(f.nested);
    return true;
  }

  private token(): void {
    const s = this.src;
    if (s[this.i] === "!") this.i++;
    if (s[this.i] !== "<") this.fail("expecting '<'");
    const end = s.indexOf(">", this.i);
    if (end < 0) this.fail("expecting '>'");
    this.i = end + 1;
  }

  private braces(f: Frame): void {
    this.i++;
    this.space(f.nested);
    const min = this.int();
    this.space(f.nested);
    let max = min;
    if (this.src[this.i] === ",") {
      this.i++;
      this.space(f.nested);
      max = isDigit(this.src[this.i] ?? "") ? this.int() : Infinity;
      this.space(f.nested);
    }
    if (this.src[this.i] !== "}") this.fail("expecting '}'");
    this.i++;
    this.space(f.nested);
    if (min > MAX_REPETITION) this.fail(`a repetition count over ${MAX_REPETITION}`);
    this.repeat(f, min, max > MAX_REPETITION ? Infinity : max);
  }

  /** llama.cpp's rewriting: S{m,n} -> S (m times) S'(n-m), S'(x) ::= S S'(x-1) | ""; S{m,} -> S (m times) S', S' ::= S S' | "". */
  private repeat(f: Frame, min: number, max: number): void {
    if (f.lastStart >= f.seq.length) this.fail("a repetition with nothing before it");
    const prev = f.seq.slice(f.lastStart);
    const optional = max === Infinity ? 1 : max - min;
    // Counted before anything is built, so a huge repetition costs nothing.
    this.count(prev.length * Math.max(0, min - 1) + optional * (prev.length + 2) - (min === 0 ? prev.length : 0));
    if (min === 0) f.seq.length = f.lastStart;
    for (let k = 1; k < min; k++) f.seq.push(...prev);
    let last = TERMINAL;
    for (let k = 0; k < optional; k++) {
      this.rules.push([]);
      this.defined.push(true);
      const id = this.rules.length - 1;
      const seq = [...prev];
      if (max === Infinity) seq.push(id);
      else if (k > 0) seq.push(last);
      this.rules[id] = [seq, []];
      last = id;
    }
    if (optional > 0) f.seq.push(last);
  }
}

/** Reads `src` into rules; throws a GbnfError for what llama.cpp would refuse or what is over a limit. */
export function readGbnf(src: string, limits: GbnfReadLimits): GbnfRules {
  return new Reader(src, limits).read();
}
