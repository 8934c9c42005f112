#!/usr/bin/env node
// Before anything else loads: loading is part of the start-up burst the hold is for (see young-generation.ts).
import { holdYoungGeneration } from "../dist/http/young-generation.js";

holdYoungGeneration();
const { main } = await import("../dist/cli.js");

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
