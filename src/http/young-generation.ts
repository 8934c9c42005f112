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
import vm from "node:vm";

/** V8's default `--semi-space-growth-factor` (Node 20's V8 11.3). */
const V8_DEFAULT_GROWTH_FACTOR = 2;
/** Requests after which the young generation grows as V8 sees fit. */
export const YOUNG_GENERATION_HELD_FOR_REQUESTS = 256;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const FLAG = /^--(semi[-_]space[-_]growth[-_]factor|max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size)/;

let held = false;
/** Whether the command line asked for the hold (and so for the start-up heap release). */
let heldAtStart = false;
let released = false;

/**
 * Holds the growth, first thing in the process (bin/understudy.js, before the other modules load:
 * loading them is part of the burst).
 */
export function holdYoungGeneration(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (flags.some((f) => FLAG.test(f))) return;
  v8.setFlagsFromString("--semi-space-growth-factor=1");
  held = true;
  heldAtStart = true;
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

/**
 * Full GCs once the start-up burst is over, on the command line only (with the hold above).
 *
 * Setting up the request validator (express-openapi-validator preprocessing the validation subset
 * of four surfaces' schemas, ajv compiling the first operation's) allocates some 40 MB that is
 * garbage a moment later. V8 keeps the old generation's pages committed until its memory reducer
 * sees an idle heap, about 10 s later, and never while steady traffic keeps allocating: an idle
 * gateway sat on 100 MB resident for those seconds, 70 MB after. Collecting the heap right after
 * the first request the validator has fully served gives the pages back then (two collections, an
 * event loop turn apart, of 12-21 ms each, once per process). `gc` is not exposed without
 * --expose-gc, so it is taken from a new context with the flag set for that moment only.
 */
export function releaseStartupHeap(): void {
  if (!heldAtStart || released) return;
  released = true;
  setImmediate(() => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    v8.setFlagsFromString("--no-expose-gc");
    gc();
    // The old-generation pages this collection empties are given back only by the next one (committed
    // old space stayed at 45 MB after one, 25 MB after two); a turn of the event loop between the two
    // keeps each pause short.
    setImmediate(gc).unref();
  }).unref();
}
