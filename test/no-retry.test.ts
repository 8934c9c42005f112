/**
 * Answers a retry cannot change (501, 400, 404, 413, 415) carry `x-should-retry: false`, on every
 * surface and on the framework's own errors, so SDKs do not retry them: the `openai` SDK used to
 * send a 501 three times over more than a second. Answers a retry can change (503, 429) do not,
 * and are still retried. Requests are counted where they arrive, at our server.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import OpenAI from "openai";
import { postJson, startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { sendJson, startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

let upstream: FakeUpstream;
let server: TestServer;
/** Requests that reached our server, by path. */
const arrived: string[] = [];

beforeAll(async () => {
  // Every request is refused by the upstream for a rate limit that is already over (Retry-After 0).
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 429, { error: { message: "slow down" } }, { "retry-after": "0" }));
  const dir = await demoConfigDir({
    "providers.yaml": yaml.dump([{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }], retry: { attempts: 1 } }]),
    "demo.yaml": demoRegistration("demo"),
    "limited.yaml": yaml.dump({ registration: { model: "limited" }, local_settings: { backend: "openai-compatible", provider: "up", upstream_model: "m" } }),
    // A model file that is not a model: loading it fails, a 503 (the operator may fix it; a retry may then succeed).
    "broken.yaml": demoRegistration("broken").replace("model: MODEL", "model: broken.gguf"),
  });
  fs.writeFileSync(path.join(dir, "broken.gguf"), "this is not a model file");
  server = await startTestServer({ configDir: dir });
  server.server.on("request", (req) => arrived.push(req.url ?? ""));
});
afterAll(async () => {
  if (server) {
    await server.close();
    server.config.current().retire();
  }
  await upstream?.close();
});

/** An SDK client that retries as it does by default (twice), with its own short backoff. */
const retryingClient = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-test", maxRetries: 2, timeout: 30_000 });

/** The error a call fails with, and how many requests reached the server for it. */
async function failure(call: () => Promise<unknown>): Promise<{ error: InstanceType<typeof OpenAI.APIError>; requests: number }> {
  const before = arrived.length;
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return { error: error as InstanceType<typeof OpenAI.APIError>, requests: arrived.length - before };
}

describe("the openai SDK does not retry what a retry cannot change", () => {
  it("a 501 on a JSON POST (moderations.create) is sent once", async () => {
    const { error, requests } = await failure(() => retryingClient().moderations.create({ input: "hi" }));
    expect(error.status).toBe(501);
    expect(error.headers?.get("x-should-retry")).toBe("false");
    expect(requests).toBe(1);
  });

  it("a 501 on express (an assistants route) is sent once", async () => {
    const { error, requests } = await failure(() => retryingClient().beta.assistants.retrieve("asst_1"));
    expect(error.status).toBe(501);
    expect(requests).toBe(1);
  });

  it("a 400 and a 404 say so too", async () => {
    const invalid = await failure(() => retryingClient().chat.completions.create({ model: "demo", messages: "hi" } as never));
    expect(invalid.error.status).toBe(400);
    expect(invalid.error.headers?.get("x-should-retry")).toBe("false");
    const missing = await failure(() => retryingClient().chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }));
    expect(missing.error.status).toBe(404);
    expect(missing.error.headers?.get("x-should-retry")).toBe("false");
    expect(invalid.requests + missing.requests).toBe(2);
  });
});

describe("the openai SDK still retries what a retry can change", () => {
  it("a 503 (the model cannot be loaded now) is retried, without the header", async () => {
    const { error, requests } = await failure(() => retryingClient().chat.completions.create({ model: "broken", messages: [{ role: "user", content: "hi" }] }));
    expect(error.status).toBe(503);
    expect(error.headers?.get("x-should-retry")).toBeNull();
    expect(requests).toBe(3);
  });

  it("a 429 is retried, without the header", async () => {
    const { error, requests } = await failure(() =>
      retryingClient().chat.completions.create({ model: "limited", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(error.status).toBe(429);
    expect(error.headers?.get("x-should-retry")).toBeNull();
    expect(requests).toBe(3);
  });
});

describe("x-should-retry: false on every surface and on the framework's errors", () => {
  const header = (res: { headers: Headers }) => res.headers.get("x-should-retry");

  it("an unknown URL (404) and an unparsable body (400)", async () => {
    const unknown = await fetch(`${server.url}/v1/no-such-route`);
    expect(unknown.status).toBe(404);
    expect(header(unknown)).toBe("false");
    const broken = await postJson(`${server.url}/v1/chat/completions`, "{not json");
    expect(broken.status).toBe(400);
    expect(header(broken)).toBe("false");
  });

  it("a body of the wrong media type (415) and one over the size limit (413)", async () => {
    const wrongType = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" });
    expect(wrongType.status).toBe(415);
    expect(header(wrongType)).toBe("false");
    const huge = await postJson(`${server.url}/v1/chat/completions`, { model: "demo", messages: [{ role: "user", content: "x".repeat(11 * 1024 * 1024) }] });
    expect(huge.status).toBe(413);
    expect(header(huge)).toBe("false");
  });

  it("Anthropic's Messages API and Sourcegraph's completions API", async () => {
    const messages = await postJson(`${server.url}/v1/messages`, { model: "demo", max_tokens: "many", messages: [] });
    expect(messages.status).toBe(400);
    expect(header(messages)).toBe("false");
    const sourcegraph = await fetch(`${server.url}/.api/completions/stream`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(sourcegraph.status).toBe(400);
    expect(header(sourcegraph)).toBe("false");
  });
});
