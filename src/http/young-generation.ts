/**
 * Keeps V8's young generation small until the server has work to do.
 *
 * V8 doubles its new space (up to 2 x 16 MB) whenever many objects survive a scavenge, and it never
 * gives the pages back while the process is busy enough to matter. Start-up (the config validators'
 * compile, the request validator's set-up, the first request's schema compile) is exactly such a
 * burst, so an idle gateway used to sit on 32 MB of new space it filled once: about a quarter of its
 * resident memory. Holding the growth factor at 1 until the server has served a few hundred requests
 * keeps an idle or lightly used server at its 1 MB start size (-20 MB resident, measured after the
 * first proxied request); under load the factor is back to V8's default before it matters for
 * throughput (a 1 MB new space scavenges about 20x as often, which costs CPU per request).
 *
 * Only the command line holds it (tests and embedders run with V8's defaults), and never when the
 * operator set the young generation's size or growth with node flags.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import v8 from "node:v8";

/** V8's default `--semi-space-growth-factor` (Node 20's V8 11.3). */
const V8_DEFAULT_GROWTH_FACTOR = 2;
/** Requests after which the young generation grows as V8 sees fit. */
export const YOUNG_GENERATION_HELD_FOR_REQUESTS = 256;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const FLAG = /^--(semi[-_]space[-_]growth[-_]factor|max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size)/;

let held = false;

/**
 * Holds the growth, first thing in the process (bin/understudy.js, before the other modules load:
 * loading them is part of the burst).
 */
export function holdYoungGeneration(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (flags.some((f) => FLAG.test(f))) return;
  v8.setFlagsFromString("--semi-space-growth-factor=1");
  held = true;
}

/** `listener`, releasing the hold once it has taken enough requests; `listener` itself when nothing is held. */
export function releasingUnderLoad(listener: Listener): Listener {
  if (!held) return listener;
  let left = YOUNG_GENERATION_HELD_FOR_REQUESTS;
  return (req, res) => {
    if (left > 0 && --left === 0) {
      v8.setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
      held = false;
    }
    listener(req, res);
  };
}
