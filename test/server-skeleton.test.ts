import OpenAI from "openai";
import { startTestServer, postJson, type TestServer } from "./helpers/server.js";
import { handlers } from "../src/surfaces/index.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("the spec's operations through the openai SDK", () => {
  it("lists models", async () => {
    const page = await server.client.models.list();
    expect(Array.isArray(page.data)).toBe(true);
  });

  it("answers 501 in OpenAI's error shape for an operation it does not implement", async () => {
    const err = await server.client.images.generate({ prompt: "a cat" }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(501);
    expect(err.error).toEqual({ message: "createImage is not implemented by this server", type: "not_implemented", param: null, code: "not_implemented" });
  });

  it("rejects temperature: 'hot' with a BadRequestError naming the field", async () => {
    const err = await server.client.chat.completions
      .create({ model: "demo", messages: [{ role: "user", content: "hi" }], temperature: "hot" as unknown as number })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("temperature");
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toMatch(/temperature/);
  });

  it("names the nested field and the allowed values of a wrong enum", async () => {
    const err = await server.client.chat.completions.create({ model: "demo", messages: [{ role: "usr" as "user", content: "hi" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("messages[0].role");
    expect(err.message).toMatch(/'user'/);
  });

  it("validates x-localai-extensions ranges and unknown fields", async () => {
    const base = { model: "demo", messages: [{ role: "user", content: "hi" }] };
    const low = await postJson(`${server.url}/v1/chat/completions`, { ...base, "x-localai-extensions": { top_k: -1 } });
    expect(low.status).toBe(400);
    expect(low.json.error.param).toBe("x-localai-extensions.top_k");
    const unknown = await postJson(`${server.url}/v1/chat/completions`, { ...base, "x-localai-extensions": { top_q: 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.param).toBe("x-localai-extensions.top_q");
  });

  it("reports a missing required field", async () => {
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: "demo" });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ param: "messages", code: "missing_required_parameter", type: "invalid_request_error" });
  });
});

describe("transport errors keep OpenAI's error shape", () => {
  it("404 for an unknown path", async () => {
    const res = await fetch(`${server.url}/v1/no/such/thing`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatchObject({ type: "invalid_request_error", param: null, code: "unknown_url" });
  });

  it("400 for malformed JSON", async () => {
    const res = await postJson(`${server.url}/v1/chat/completions`, '{"model": "demo",');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
  });

  it("415 for a body that is not JSON", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(res.status).toBe(415);
    expect((await res.json()).error).toMatchObject({ type: "invalid_request_error", code: "unsupported_media_type" });
  });

  it("413 for a body over the configured limit", async () => {
    const small = await startTestServer({ limits: { bodyLimitBytes: 1024 } });
    try {
      const res = await postJson(`${small.url}/v1/chat/completions`, { model: "demo", messages: [{ role: "user", content: "x".repeat(4096) }] });
      expect(res.status).toBe(413);
      expect(res.json.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
    } finally {
      await small.close();
    }
  });

  it("500 server_error with a request id and no stack trace for an unexpected exception", async () => {
    const broken = await startTestServer({
      handlers: {
        ...handlers,
        listModels: async () => {
          throw new TypeError("secret internals at /src/x.ts:1");
        },
      },
    });
    try {
      const res = await fetch(`${broken.url}/v1/models`);
      const body = await res.json();
      expect(res.status).toBe(500);
      expect(body.error.type).toBe("server_error");
      const requestId = res.headers.get("x-request-id")!;
      expect(requestId).toMatch(/^req_/);
      expect(body.error.message).toContain(requestId);
      expect(JSON.stringify(body)).not.toMatch(/secret|\.ts:|TypeError/);
    } finally {
      await broken.close();
    }
  });
});

describe("service endpoints", () => {
  it("/health answers with version and uptime", async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", version: expect.any(String), uptime_s: expect.any(Number) });
  });

  it("/openapi.json and /openapi.yaml serve the extended spec", async () => {
    const spec = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(spec.components.schemas.CreateChatCompletionRequest.allOf[1].properties).toHaveProperty("x-localai-extensions");
    const yamlRes = await fetch(`${server.url}/openapi.yaml`);
    expect(yamlRes.headers.get("content-type")).toMatch(/yaml/);
    expect(await yamlRes.text()).toContain("x-localai-extensions:");
  });
});
