/**
 * The CLI side of `understudy pull`: signals and exit codes. The first Ctrl-C (or SIGTERM) stops the
 * download and keeps its partial file; before or after the download nothing is left to keep, so it
 * exits at once (no registration is written until the very end, atomically). A second Ctrl-C exits
 * at once whatever is running.
 */
import type { Interrupt } from "./download.js";
import { pull, type PullOptions } from "./pull.js";
import { PullError } from "./pull-error.js";

const INTERRUPTED_EXIT = 130;

export async function pullCommand(source: string, opts: PullOptions): Promise<void> {
  const state: Interrupt & { requested: boolean } = { requested: false };
  const onSignal = () => {
    if (state.requested || !state.onInterrupt) {
      console.error("\nunderstudy pull: interrupted; nothing was registered");
      process.exit(INTERRUPTED_EXIT);
    }
    state.requested = true;
    void state.onInterrupt();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await pull(source, opts, state, (line) => console.error(line));
    console.error(`registered '${result.name}' in ${result.registration} (model file ${result.model}); a running server picks it up without a restart`);
    console.log(result.registration);
  } catch (err) {
    if (!(err instanceof PullError)) throw err;
    console.error(`understudy pull: ${err.message}`);
    process.exit(err.exitCode);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  // The downloader's agents may keep sockets open: the command is done, so it ends here.
  process.exit(0);
}
