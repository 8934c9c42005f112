/** The doctor's vocabulary: a check, its context and its outcome. */
import type OpenAI from "openai";

export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
  status: CheckStatus;
  /** Why it failed or was skipped, or a note on a pass (e.g. what could not be verified). */
  reason?: string;
  ms: number;
}

/** A /v1/models entry as the doctor reads it: `capabilities` is Understudy's catalogue field (other servers omit it). */
export interface ModelEntry {
  id: string;
  capabilities?: string[];
}

export interface CheckContext {
  client: OpenAI;
  /** The server's root URL (no trailing slash, no /v1). */
  root: string;
  key: string;
  model: string;
  signal: AbortSignal;
  timeoutMs: number;
}

export interface Check {
  name: string;
  /** A capability the model must list (when its /v1/models entry lists capabilities) for the check to run. */
  needs?: string;
  /** A surface the server must offer (probed once). */
  surface?: Surface;
  run(ctx: CheckContext): Promise<string | void>;
}

export type Surface = "messages" | "sourcegraph";

/** A check found the server wrong. */
export class CheckFailure extends Error {}

export function expect(condition: unknown, reason: string): asserts condition {
  if (!condition) throw new CheckFailure(reason);
}
