/**
 * What a native call (a backend that speaks the Messages API itself) gets beyond the request: the
 * client's Anthropic protocol headers that change what the API does, sent on unchanged.
 * `anthropic-version` is not among them: the provider's `anthropic_version` setting decides it.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { CallContext } from "../../backends/types.js";

const PASSED_ON = ["anthropic-beta"] as const;

export function nativeContext(ctx: CallContext, headers: Readonly<IncomingHttpHeaders>): CallContext {
  let passOn: Record<string, string> | undefined;
  for (const name of PASSED_ON) {
    const value = headers[name];
    if (typeof value === "string") (passOn ??= {})[name] = value;
  }
  return passOn ? { ...ctx, passOnHeaders: passOn } : ctx;
}
