/**
 * js-yaml gives no positions for values, so a field's line is found from the text: each path step
 * is the next line, deeper than its parent, that holds that key (or the n-th `- ` item).
 * Good for the block-style YAML people write by hand; falls back to the parent's line.
 */
export function findLine(text: string, path: readonly (string | number)[]): number {
  const lines = text.split(/\r?\n/);
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

const indentOf = (line: string) => line.length - line.trimStart().length;
const isContent = (line: string) => line.trim() !== "" && !line.trimStart().startsWith("#");

function findKey(lines: string[], from: number, parentIndent: number, key: string) {
  for (let i = from; i < lines.length; i++) {
    if (!isContent(lines[i])) continue;
    const m = /^(\s*)(-\s+)?(["']?)([^:"'#]+)\3\s*:/.exec(lines[i]);
    const keyIndent = m ? m[1].length + (m[2]?.length ?? 0) : indentOf(lines[i]);
    if (i > from && keyIndent <= parentIndent) return undefined;
    if (m && m[4].trim() === key) return { line: i, indent: keyIndent };
  }
  return undefined;
}

function findItem(lines: string[], from: number, parentIndent: number, index: number) {
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
