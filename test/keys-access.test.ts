/**
 * API keys (issue 15, Access): keys.yaml's keys checked on every route but /health and the spec,
 * as OpenAI (Bearer), Anthropic (x-api-key, or Bearer) and Sourcegraph (`token`) clients send
 * them; refusals in each surface's shape; allow-lists (globs) that make an unknown model and a
 * forbidden one look alike; catalogues filtered; keys.yaml hot-reloaded.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { gatewayConfigDir } from "./helpers/upstream-gateway.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { LEGACY_BODY, sgPost, STREAM } from "./helpers/sourcegraph.js";
import { sha256Hex } from "../src/config/keys.js";
import { waitFor } from "./helpers/wait-for.js";

const KEYS = { full: "us-full-key-0123456789", limited: "us-limited-key-0123456789", expired: "us-expired-key-0123456789", later: "us-added-later-0123" };
const entry = (name: string, key: string, extra: Record<string, unknown> = {}) => ({ name, role: "user", key_sha256: sha256Hex(key), ...extra });
const keysYaml = (extra: Record<string, unknown>[] = []) =>
  yaml.dump([
    entry("full", KEYS.full),
    entry("limited", KEYS.limited, { models: ["up-*", "up::v1::exact"] }),
    entry("expired", KEYS.expired, { expires: "2020-01-01T00:00:00Z" }),
    ...extra,
  ]);

let upstream: FakeUpstream;
let server: TestServer;
let dir: string;
const openai = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
const chat = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
const raw = (p: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${p}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
const MESSAGES_BODY: Anthropic.MessageCreateParamsNonStreaming = { model: "up-a", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };

beforeAll(async () => {
  upstream = await startFakeUpstream();
  dir = gatewayConfigDir({
    providers: [{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }],
    models: {
      "up-a": { provider: "up", upstream_model: "m" },
      exact: { provider: "up", upstream_model: "m" },
      secret: { provider: "up", upstream_model: "m" },
    },
  });
  fs.writeFileSync(path.join(dir, "keys.yaml"), keysYaml());
  server = await startTestServer({ configDir: dir, watch: true });
});
afterAll(async () => {
  await server.close();
  server.config.current().retire();
  await upstream.close();
});

describe("which requests need a key", () => {
  it("/health and the published spec answer without one", async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/openapi.json`)).status).toBe(200);
  });

  it("every other route answers 401 invalid_api_key without one, model lists included", async () => {
    for (const p of ["/v1/models", "/v1/models/up-a", "/v1/models.json", "/v1/no-such-route"]) {
      const res = await fetch(`${server.url}${p}`);
      expect({ p, status: res.status }).toEqual({ p, status: 401 });
      expect((await res.json()).error.code).toBe("invalid_api_key");
    }
    // Sourcegraph's catalogue answers as Sourcegraph does: plain text.
    const sg = await fetch(`${server.url}/.api/modelconfig/supported-models.json`);
    expect(sg.status).toBe(401);
    expect(sg.headers.get("content-type")).toMatch(/^text\/plain/);
  });
});

describe("OpenAI clients (Authorization: Bearer)", () => {
  it("a listed key is let in", async () => {
    const r = await chat(openai(KEYS.full), "up-a");
    expect(r.choices[0].finish_reason).toBe("stop");
  });

  it("a wrong key is 401 invalid_api_key in OpenAI's shape, and never quoted", async () => {
    const err = await chat(openai("us-wrong"), "up-a").catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.code).toBe("invalid_api_key");
    expect(err.message).not.toContain("us-wrong");
  });

  it("a missing key and a malformed Authorization header are 401 too", async () => {
    for (const headers of [{}, { authorization: KEYS.full }, { authorization: "Basic dXM6eA==" }] as Record<string, string>[]) {
      const res = await raw("/v1/chat/completions", { model: "up-a", messages: [{ role: "user", content: "hi" }] }, headers);
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    }
  });

  it("an expired key is 401", async () => {
    const err = await chat(openai(KEYS.expired), "up-a").catch((e) => e);
    expect(err.status).toBe(401);
    expect(err.code).toBe("invalid_api_key");
    expect(err.message).toMatch(/expired/);
  });
});

describe("Anthropic clients", () => {
  const anthropic = (options: ConstructorParameters<typeof Anthropic>[0]) => new Anthropic({ baseURL: server.url, maxRetries: 0, timeout: 30_000, ...options });

  it("accepts the key as x-api-key (apiKey) and as Authorization: Bearer (authToken)", async () => {
    const viaApiKey = await anthropic({ apiKey: KEYS.full }).messages.create(MESSAGES_BODY);
    expect(viaApiKey.type).toBe("message");
    const viaToken = await anthropic({ apiKey: null, authToken: KEYS.full }).messages.create(MESSAGES_BODY);
    expect(viaToken.type).toBe("message");
  });

  it("a wrong key is Anthropic's authentication_error", async () => {
    const err = await anthropic({ apiKey: "us-wrong" })
      .messages.create(MESSAGES_BODY)
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    const res = await raw("/v1/messages", MESSAGES_BODY, { "x-api-key": "us-wrong", "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ type: "error", error: { type: "authentication_error", message: expect.any(String) } });
  });
});

describe("Sourcegraph clients (Authorization: token)", () => {
  it("a listed key is let in; a wrong one is a plain-text 401", async () => {
    const ok = await sgPost(server.url, STREAM, { ...LEGACY_BODY, model: "up-a", stream: false }, { authorization: `token ${KEYS.full}` });
    expect(ok.status).toBe(200);
    const wrong = await sgPost(server.url, STREAM, { ...LEGACY_BODY, model: "up-a", stream: false }, { authorization: "token sgp_wrong" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(wrong.text.length).toBeGreaterThan(0);
  });
});

describe("allow-lists", () => {
  const limited = () => openai(KEYS.limited);

  it("a key uses the models its list names, by glob or model ref", async () => {
    expect((await chat(limited(), "up-a")).choices).toHaveLength(1);
    expect((await chat(limited(), "exact")).choices).toHaveLength(1);
  });

  it("a model outside the list and a model that does not exist are the same 403", async () => {
    const forbidden = await chat(limited(), "secret").catch((e) => e);
    const unknown = await chat(limited(), "nosuch").catch((e) => e);
    for (const err of [forbidden, unknown]) {
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err.code).toBe("model_not_allowed");
      expect(err.param).toBe("model");
    }
    expect(forbidden.message.replace("secret", "X")).toBe(unknown.message.replace("nosuch", "X"));
    // A key without a list still tells an unknown model (404) from a known one.
    expect((await chat(openai(KEYS.full), "nosuch").catch((e) => e)).status).toBe(404);
  });

  it("each surface says the 403 in its own shape", async () => {
    const msg = await raw("/v1/messages", { ...MESSAGES_BODY, model: "secret" }, { "x-api-key": KEYS.limited, "anthropic-version": "2023-06-01" });
    expect(msg.status).toBe(403);
    expect((await msg.json()).error.type).toBe("permission_error");
    const sg = await sgPost(server.url, STREAM, { ...LEGACY_BODY, model: "nosuch", stream: false }, { authorization: `token ${KEYS.limited}` });
    expect(sg.status).toBe(403);
  });

  it("/v1/models, /v1/models/{model} and the catalogues show only the allowed models", async () => {
    expect((await limited().models.list()).data.map((m) => m.id).sort()).toEqual(["exact", "up-a"]);
    expect((await openai(KEYS.full).models.list()).data.map((m) => m.id).sort()).toEqual(["exact", "secret", "up-a"]);
    expect((await limited().models.retrieve("up-a")).id).toBe("up-a");
    expect(
      (
        await limited()
          .models.retrieve("secret")
          .catch((e) => e)
      ).status,
    ).toBe(403);
    expect(
      (
        await limited()
          .models.retrieve("nosuch")
          .catch((e) => e)
      ).status,
    ).toBe(403);
    const headers = { authorization: `Bearer ${KEYS.limited}` };
    const cat = await (await fetch(`${server.url}/v1/models.json`, { headers })).json();
    expect(cat.models.map((m: { model_name: string }) => m.model_name).sort()).toEqual(["exact", "up-a"]);
    const sg = await (await fetch(`${server.url}/.api/modelconfig/supported-models.json`, { headers })).json();
    expect(JSON.stringify(sg)).not.toContain("secret");
  });
});

describe("hot reload of keys.yaml", () => {
  it("a key added to the file works without a restart; a broken file keeps the last good keys", async () => {
    const later = openai(KEYS.later);
    expect((await later.models.list().catch((e) => e)).status).toBe(401);
    fs.writeFileSync(path.join(dir, "keys.yaml"), keysYaml([entry("later", KEYS.later)]));
    const listed = await waitFor(async () => ((await later.models.list().catch(() => undefined))?.data.length ? true : undefined), 3000);
    expect(listed).toBe(true);

    // A key in plaintext is a load problem with its line; the good snapshot (and its keys) keeps serving.
    fs.writeFileSync(path.join(dir, "keys.yaml"), `${keysYaml()}- name: oops\n  key: ${KEYS.later}\n  key_sha256: ${sha256Hex(KEYS.later)}\n`);
    const health = await waitFor(async () => {
      const h = await (await fetch(`${server.url}/health`)).json();
      return h.config.status === "error" ? h : undefined;
    }, 3000);
    expect(health.config.errors).toEqual([expect.stringMatching(/^keys\.yaml:\d+: \[3\]\.key: keys\.yaml holds key_sha256/)]);
    expect(JSON.stringify(health)).not.toContain(KEYS.later);
    expect((await later.models.list()).data.length).toBeGreaterThan(0);
  });
});
