/**
 * Checks beyond the per-model OpenAI ones: the server-wide ones (the model list, the unknown-model
 * error), the probes for the optional surfaces, and Anthropic's Messages API and Sourcegraph's
 * completions API (raw fetch: the OpenAI SDK does not speak them).
 */
import { CheckFailure, expect, type Check, type CheckContext, type Surface } from "./check-types.js";
import { expectApiError, HELLO, SMALL_MAX_TOKENS, sdkOptions } from "./openai-calls.js";
import { expectSchema } from "./schema-check.js";
import { jsonBody, parseJson, post, quote, readSse } from "./wire.js";

/** Named so that no server has it. */
export const UNKNOWN_MODEL = "understudy-doctor-no-such-model";

export const SERVER_CHECKS: Check[] = [
  {
    name: "models.list",
    async run(ctx) {
      const res = await ctx.client.models.list(sdkOptions(ctx)).asResponse();
      expectSchema("ListModelsResponse", await jsonBody(res, 200, "model list"), "model list");
    },
  },
  {
    name: "error.unknown_model",
    async run(ctx) {
      const call = ctx.client.chat.completions.create({ model: UNKNOWN_MODEL, messages: HELLO, max_tokens: 1 }, sdkOptions(ctx));
      await expectApiError(call, 404, "an unknown model");
    },
  },
];

const SURFACE_PATHS: Record<Surface, string> = { messages: "/v1/messages", sourcegraph: "/.api/completions/stream" };

/**
 * Whether the server offers a surface: a body no server can serve (the model is a number) is
 * refused with a 4xx where the path exists, and answered 404 (or 405/501) where it does not.
 */
export async function probeSurface(ctx: Pick<CheckContext, "root" | "key" | "signal">, surface: Surface): Promise<boolean> {
  const res = await post(ctx, SURFACE_PATHS[surface], { model: 0, messages: 0 });
  await res.body?.cancel();
  return ![404, 405, 501].includes(res.status);
}

const ANTHROPIC_HEADERS = { "anthropic-version": "2023-06-01" };
const messageRequest = (ctx: CheckContext, stream: boolean) => ({
  model: ctx.model,
  max_tokens: SMALL_MAX_TOKENS,
  messages: [{ role: "user", content: "Say hello." }],
  stream,
});

const withKey = (ctx: CheckContext) => ({ ...ANTHROPIC_HEADERS, "x-api-key": ctx.key });

const messages: Check = {
  name: "messages",
  needs: "chat",
  surface: "messages",
  async run(ctx) {
    const body = await jsonBody(await post(ctx, "/v1/messages", messageRequest(ctx, false), withKey(ctx)), 200, "message");
    expectSchema("AnthropicMessage", body, "message");
  },
};

const messagesStream: Check = {
  name: "messages.stream",
  needs: "chat",
  surface: "messages",
  async run(ctx) {
    const res = await post(ctx, "/v1/messages", messageRequest(ctx, true), withKey(ctx));
    if (res.status !== 200) throw new CheckFailure(`stream: HTTP ${res.status} ${quote(await res.text())}`);
    const events = await readSse(res);
    const types = events.map((e, i) => {
      const data = parseJson(e.data, `event ${i}`) as { type?: string };
      expectSchema("AnthropicStreamEvent", data, `event ${i}`);
      expect(e.event === data.type, `event ${i} is named ${quote(e.event ?? "")} but its type is ${quote(String(data.type))}`);
      return data.type;
    });
    const main = types.filter((t) => t !== "ping");
    expect(main[0] === "message_start", `the stream begins with ${main[0]}`);
    expect(main.at(-2) === "message_delta" && main.at(-1) === "message_stop", `the stream ends with ${main.slice(-2).join(", ")}`);
  },
};

const sourcegraphRequest = (ctx: CheckContext, stream: boolean) => ({
  model: ctx.model,
  messages: [{ speaker: "human", text: "Say hello." }],
  maxTokensToSample: SMALL_MAX_TOKENS,
  stream,
});
const SOURCEGRAPH_PATH = "/.api/completions/stream?api-version=2";
const tokenAuth = (ctx: CheckContext) => ({ authorization: `token ${ctx.key}` });

const sourcegraph: Check = {
  name: "sourcegraph",
  needs: "chat",
  surface: "sourcegraph",
  async run(ctx) {
    const body = await jsonBody(await post(ctx, SOURCEGRAPH_PATH, sourcegraphRequest(ctx, false), tokenAuth(ctx)), 200, "completion");
    expectSchema("SourcegraphCompletionResponse", body, "completion");
  },
};

const sourcegraphStream: Check = {
  name: "sourcegraph.stream",
  needs: "chat",
  surface: "sourcegraph",
  async run(ctx) {
    const res = await post(ctx, SOURCEGRAPH_PATH, sourcegraphRequest(ctx, true), tokenAuth(ctx));
    if (res.status !== 200) throw new CheckFailure(`stream: HTTP ${res.status} ${quote(await res.text())}`);
    const events = await readSse(res);
    expect(events.at(-1)?.event === "done", "the stream does not end with event: done");
    const completions = events.slice(0, -1).map((e, i) => {
      expect(e.event === "completion", `event ${i} is ${quote(e.event ?? "(unnamed)")}: ${quote(e.data)}`);
      const data = parseJson(e.data, `event ${i}`) as { stopReason?: string };
      expectSchema("SourcegraphStreamEvent", data, `event ${i}`);
      return data;
    });
    const stops = completions.filter((c) => c.stopReason !== undefined).length;
    expect(stops === 1 && completions.at(-1)?.stopReason !== undefined, `${stops} events carry stopReason (expected one, the last)`);
  },
};

export const SURFACE_CHECKS: Check[] = [messages, messagesStream, sourcegraph, sourcegraphStream];
