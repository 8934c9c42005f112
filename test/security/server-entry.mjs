// The built server as the hostile-input suite runs it: in a child process, so a request that kills
// the process (a native stack overflow, a V8 fatal error) fails one case instead of the test runner.
// SIGUSR2 runs a full GC (the child runs with --expose-gc), so RSS checks measure what is retained.
import { main } from "../../dist/cli.js";

process.on("SIGUSR2", () => globalThis.gc?.());
main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
