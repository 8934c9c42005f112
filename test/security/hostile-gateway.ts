/**
 * The gateway side of the hostile-upstream categories: a config directory pointing providers at a
 * hostile upstream, requests naming a scenario, and a memory probe.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { CHAT, post, sleep, type Answer, type Target } from "./harness.js";
import type { Behaviour, HostileUpstream } from "./hostile-upstream.js";

export interface UpstreamModel {
  provider: string;
  upstream_model?: string;
  backend?: "openai-compatible" | "huggingface-tgi";
}

/** A config directory with `providers.yaml` and one registration file per model. */
export function upstreamConfigDir(providers: Record<string, unknown>[], models: Record<string, UpstreamModel>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "understudy-hostile-"));
  fs.writeFileSync(path.join(dir, "providers.yaml"), yaml.dump(providers));
  for (const [model, spec] of Object.entries(models)) {
    const local_settings = { backend: spec.backend ?? "openai-compatible", provider: spec.provider, upstream_model: spec.upstream_model ?? "up" };
    fs.writeFileSync(path.join(dir, `${model}.yaml`), yaml.dump({ registration: { model }, local_settings }));
  }
  return dir;
}

/** A chat body for `model` whose first message names the upstream's scenario. */
export const ask = (model: string, scenario: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: scenario }],
  ...extra,
});

/**
 * A case's request: scripts `behaviour` for `scenario` on the upstream, then sends a chat naming it
 * (without a behaviour, a plain "hello" the upstream answers normally).
 */
export function sendScripted(
  upstream: () => HostileUpstream,
  model: string,
  scenario: string,
  behaviour: Behaviour | undefined,
  stream = false,
): (t: Target) => Promise<Answer> {
  return (t) => {
    if (behaviour) upstream().script(scenario, behaviour);
    return post(t, CHAT, ask(model, behaviour ? scenario : "hello", stream ? { stream: true } : {}));
  };
}

/** A category's normal request: a plain chat completion through the gateway to the default route. */
export const normalChat = (model: string) => async (t: Target) => {
  const answer = await post(t, CHAT, ask(model, "hello"));
  if (answer.status !== 200) throw new Error(`a normal chat through the gateway failed after the case: ${answer.status} ${answer.body.slice(0, 300)}`);
  expect(JSON.parse(answer.body).choices).toHaveLength(1);
};

/** Runs `work` while sampling the server's RSS every 20 ms; resolves with its result and the peak. */
export async function withPeakRss<T>(t: Target, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = t.rssBytes();
  let done = false;
  const sampler = (async () => {
    while (!done && t.alive()) {
      peak = Math.max(peak, t.rssBytes());
      await sleep(20);
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    done = true;
    await sampler;
  }
}
