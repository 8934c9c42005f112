/**
 * Streamed tool-call arguments as compact JSON, fragment by fragment. node-llama-cpp hands the
 * model's own text of the arguments: spaces after colons, and the "\n\n\n\n" its grammar ends
 * on, while a whole answer's `arguments` is JSON.stringify of the parsed params. Dropping the
 * whitespace outside strings makes the streamed text compact JSON with the same arguments.
 */
export class JsonCompactor {
  private inString = false;
  private escaped = false;

  /** The fragment without the whitespace outside strings ("" when nothing is left). */
  push(fragment: string): string {
    let out = "";
    for (const ch of fragment) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === "\\") this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === " " || ch === "\n" || ch === "\r" || ch === "\t") continue;
      else if (ch === '"') this.inString = true;
      out += ch;
    }
    return out;
  }
}
