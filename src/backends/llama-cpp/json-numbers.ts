/**
 * JSON numbers node-llama-cpp's JSON-schema grammars may produce. Its number rule allows an
 * exponent for every number, integers included: the demo model wrote `"age":1416E6647`, which
 * parses to Infinity (a 500 on json_schema, a failed tool call), and `481E111` is an "integer"
 * far past any bound. The rule is a method of an internal class (GbnfNumber) that both the
 * response_format grammar and the tool-call parameter grammar use, and it is not exported: it is
 * replaced once, when node-llama-cpp is loaded, by one that allows no exponent and at most 15
 * integer digits (every such integer is exact in a double), with a fraction only for `number`.
 */

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** What the rule produces now: at most this many digits before the point. */
export const JSON_INTEGER_DIGITS = 15;
/** Digits after the point of a `number` (node-llama-cpp's own bound). */
export const JSON_FRACTION_DIGITS = 16;

const INTEGER = `"-"? ("0" | [1-9] [0-9]{0,${JSON_INTEGER_DIGITS - 1}})`;

/** The GBNF of a JSON number of the schema's type: `integer` has no fraction, and neither has an exponent. */
export function jsonNumberGrammar(allowFractional: boolean): string {
  return allowFractional ? `${INTEGER} ("." [0-9]{1,${JSON_FRACTION_DIGITS}})?` : INTEGER;
}

interface GbnfNumberClass {
  prototype: { allowFractional: boolean; getGrammar(): string };
}

/**
 * Replaces node-llama-cpp's number rule. The class is reached by its file next to the package's
 * entry point (the package's exports map hides it); the same URL is the same module instance, so
 * node-llama-cpp's own grammars use the replacement. Returns false when the file or class is not
 * where 3.x keeps it (a test checks the generated grammars, so an upgrade that moves it fails there).
 */
export async function restrictJsonNumbers(): Promise<boolean> {
  try {
    const entry = pathToFileURL(createRequire(import.meta.url).resolve("node-llama-cpp"));
    const url = new URL("./utils/gbnfJson/terminals/GbnfNumber.js", entry);
    const { GbnfNumber } = (await import(url.href)) as { GbnfNumber?: GbnfNumberClass };
    if (typeof GbnfNumber?.prototype?.getGrammar !== "function") return false;
    GbnfNumber.prototype.getGrammar = function getGrammar(this: { allowFractional: boolean }) {
      return jsonNumberGrammar(this.allowFractional !== false);
    };
    return true;
  } catch {
    return false;
  }
}
