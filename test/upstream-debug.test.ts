import { startGateway, type Gateway } from "./helpers/upstream-gateway.js";
import { chatChunk, chatCompletion, data, sendJson, startFakeUpstream, startSse, writeFrames, type FakeUpstream } from "./helpers/upstream-server.js";

const KEY_ENV = "UNDERSTUDY_TEST_DEBUG_KEY";
const SECRET = "sk-live-SECRET-4f1c9a2b7e";
let upstream: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  process.env[KEY_ENV] = SECRET;
  // A careless upstream that echoes the caller's Authorization header back in its bodies.
  upstream = await startFakeUpstream(async (req, res) => {
    const echoed = `you sent ${req.headers.authorization}`;
    if (req.body.messages?.[0]?.content === "fail") return sendJson(res, 400, { error: { message: echoed } });
    if (!req.body.stream) return sendJson(res, 200, chatCompletion(req.body.model, echoed));
    startSse(res);
    await writeFrames(res, [
      data(chatChunk(req.body.model, { content: "stream-part-one " })),
      data(chatChunk(req.body.model, { content: echoed }, "stop")),
      "data: [DONE]\n\n",
    ]);
  });
  gw = await startGateway({
    captureLogs: true,
    providers: [
      { id: "dbg", type: "openai-compatible", debug_connections: true, endpoints: [{ url: upstream.url, api_key_env: KEY_ENV }] },
      { id: "quiet", type: "openai-compatible", endpoints: [{ url: upstream.url, api_key_env: KEY_ENV }] },
    ],
    models: { loud: { provider: "dbg", upstream_model: "up-model" }, silent: { provider: "quiet", upstream_model: "up-model" } },
  });
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
  delete process.env[KEY_ENV];
});

const lines = () => gw.logs.map((l) => JSON.parse(l) as Record<string, any>);

describe("debug_connections", () => {
  it("logs method, URL, status, timings and both full bodies, every stream chunk, and never the key", async () => {
    const json = await gw.client.chat.completions.create({ model: "loud", messages: [{ role: "user", content: "probe-json-7781" }] });
    expect(json.choices[0].message.content).toContain(SECRET); // the client gets what the upstream said
    const stream = await gw.client.chat.completions.create({ model: "loud", messages: [{ role: "user", content: "probe-stream-7782" }], stream: true });
    for await (const _c of stream);
    const err = await gw.client.chat.completions.create({ model: "loud", messages: [{ role: "user", content: "fail" }] }).catch((e) => e);
    // An upstream quoting our key in an error must not hand it to the client either.
    expect(err.status).toBe(400);
    expect(err.error.message).toBe("dbg: you sent Bearer [REDACTED]");

    const text = gw.logs.join("");
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("sk-live");
    const logged = lines();
    const requests = logged.filter((l) => l.msg === "upstream request");
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatchObject({ upstream: "dbg#0", method: "POST", url: `${upstream.url}/chat/completions`, headers: { authorization: "[REDACTED]" } });
    expect(requests[0].body).toContain("probe-json-7781");
    expect(requests[1].body).toContain("probe-stream-7782");
    const responses = logged.filter((l) => l.msg === "upstream response");
    expect(responses.map((r) => r.status)).toEqual([200, 200, 400]);
    expect(typeof responses[0].first_byte_ms).toBe("number");
    const bodies = logged.filter((l) => l.msg === "upstream response body");
    expect(bodies[0].body).toContain("you sent Bearer [REDACTED]");
    expect(bodies[1].body).toContain("you sent Bearer [REDACTED]");
    const chunks = logged
      .filter((l) => l.msg === "upstream stream chunk")
      .map((l) => l.data)
      .join("");
    expect(chunks).toContain("stream-part-one");
    expect(chunks).toContain("you sent Bearer [REDACTED]");
    expect(chunks).toContain("data: [DONE]");
    const done = logged.filter((l) => l.msg === "upstream call done");
    expect(done.map((d) => d.outcome)).toEqual(["complete", "complete", expect.stringContaining("failed")]);
    expect(done.every((d) => typeof d.total_ms === "number")).toBe(true);
  });

  it("is off by default", async () => {
    const before = gw.logs.length;
    await gw.client.chat.completions.create({ model: "silent", messages: [{ role: "user", content: "probe-quiet" }] });
    expect(gw.logs.slice(before).join("")).not.toContain("probe-quiet");
  });
});
