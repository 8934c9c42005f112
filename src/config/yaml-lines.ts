/**
 * js-yaml gives no positions for values, so a field's line is found from the text: each path step
 * is the next line, deeper than its parent, that holds that key (or the n-th `- ` item).
 * Good for the block-style YAML people write by hand; falls back to the parent's line.
 */
export function findLine(lines: readonly string[], path: readonly (string | number)[]): number {
  let from = 0;
  let parentIndent = -1;
  let found = 1;
  for (const step of path) {
    const hit = typeof step === "number" ? findItem(lines, from, parentIndent, step) : findKey(lines, from, parentIndent, step);
    if (!hit) break;
    found = hit.line + 1;
    from = hit.line + (typeof step === "number" ? 0 : 1);
    parentIndent = hit.indent;
  }
  return found;
}

export const splitLines = (text: string): string[] => text.split(/\r?\n/);

const indentOf = (line: string) => line.length - line.trimStart().length;

/**
 * `key:` or `- key:` (the key bare or quoted) at the start of a line, found by scanning rather
 * than a backtracking regex: a file may hold a megabyte-long line of spaces.
 */
function keyAt(line: string): { key: string; indent: number } | undefined {
  let i = indentOf(line);
  if (line[i] === "-" && /\s/.test(line[i + 1] ?? "")) {
    i++;
    while (i < line.length && /\s/.test(line[i])) i++;
  }
  const indent = i;
  const quote = line[i] === '"' || line[i] === "'" ? line[i] : "";
  if (quote) i++;
  const end = scanKey(line, i);
  if (end === i) return undefined;
  let j = end;
  if (quote) {
    if (line[j] !== quote) return undefined;
    j++;
    while (line[j] === " " || line[j] === "\t") j++;
  }
  if (line[j] !== ":") return undefined;
  return { key: line.slice(i, end).trim(), indent };
}

/** The end of a key's text: the first `:`, quote or `#`. */
function scanKey(line: string, from: number): number {
  let i = from;
  while (i < line.length && !":\"'#".includes(line[i])) i++;
  return i;
}
const isContent = (line: string) => line.trim() !== "" && !line.trimStart().startsWith("#");

function findKey(lines: readonly string[], from: number, parentIndent: number, key: string) {
  for (let i = from; i < lines.length; i++) {
    if (!isContent(lines[i])) continue;
    const m = keyAt(lines[i]);
    const keyIndent = m ? m.indent : indentOf(lines[i]);
    if (i > from && keyIndent <= parentIndent) return undefined;
    if (m && m.key === key) return { line: i, indent: keyIndent };
  }
  return undefined;
}

function findItem(lines: readonly string[], from: number, parentIndent: number, index: number) {
  let seen = -1;
  let itemIndent = -1;
  for (let i = from; i < lines.length; i++) {
    if (!isContent(lines[i])) continue;
    const indent = indentOf(lines[i]);
    if (!lines[i].trimStart().startsWith("-")) continue;
    if (itemIndent === -1 && indent >= parentIndent) itemIndent = indent;
    if (indent !== itemIndent) continue;
    if (++seen === index) return { line: i, indent: indent };
  }
  return undefined;
}
