/**
 * How deep JSON text nests, measured on the text before anything recursive touches it: JSON.parse
 * does not recurse, but JSON.stringify, the request validator, the forbidden-key check and every
 * schema walk do, and a few thousand levels overflow one of them. One pass: string contents (most of
 * a body's characters) are skipped with indexOf, so only the structure is looked at one by one.
 */

/**
 * Whether `text` has more than `max` arrays/objects open at once. Malformed text gets some answer
 * (an unterminated string ends the scan); JSON.parse judges its syntax afterwards.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  // Deeper than max opens and closes more than max brackets: short text (most stream chunks)
  // cannot be, and invalid short text fails its parse anyway.
  if (text.length <= 2 * max + 1) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) i = closingQuote(text, i);
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

/** The index of the quote closing the string opened at `open` (text.length if it never closes). */
function closingQuote(text: string, open: number): number {
  let i = open;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return text.length;
    // Escaped when an odd number of backslashes precede it (`\"` is escaped, `\\"` is not).
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === 92 /* \\ */) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}
