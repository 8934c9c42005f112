/**
 * Config checks too slow for the event loop, such as rendering a chat template in a child process.
 * loadConfig is synchronous: the CLI and start-up run such checks inline. A hot reload runs
 * loadConfig inside `collectingSlowChecks` instead, where a check that is not cached yet is
 * started asynchronously and deferred; the store awaits those, then loads again with the outcomes
 * cached, so a reload never blocks the server on a check.
 */

let collecting: Promise<unknown>[] | undefined;

/** Whether slow checks are to be deferred now (a hot reload is loading) rather than run inline. */
export function slowChecksDeferred(): boolean {
  return collecting !== undefined;
}

/** Hands a started check to the reload that is loading; its outcome must be cached where the next load finds it. */
export function deferSlowCheck(check: Promise<unknown>): void {
  if (!collecting) throw new Error("deferSlowCheck outside collectingSlowChecks");
  collecting.push(check.catch(() => undefined));
}

/** Runs `fn` (synchronous) with slow checks deferred; returns what it returned and the checks it started. */
export function collectingSlowChecks<R>(fn: () => R): { result: R; pending: Promise<unknown>[] } {
  const outer = collecting;
  const pending: Promise<unknown>[] = [];
  collecting = pending;
  try {
    return { result: fn(), pending };
  } finally {
    collecting = outer;
  }
}
