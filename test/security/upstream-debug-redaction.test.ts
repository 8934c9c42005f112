/**
 * Issue 9, item 10: with debug_connections on, no credential reaches a log line (or a client): a key
 * split across two network reads is redacted over the assembled line, keys of any length are
 * redacted, and endpoint URLs are logged without userinfo or query secrets, which are also redacted
 * from upstream text quoting them. The harness checks every log line of each case for the secrets.
 */
import { TEST_SECRET, hostileCategory, sleep, type Answer, type HostileCase, type Target } from "./harness.js";
import { normalChat, upstreamConfigDir, sendScripted } from "./hostile-gateway.js";
import { keyEcho, splitKeyStream, startHostileUpstream, type Behaviour, type HostileUpstream } from "./hostile-upstream.js";

const SHORT_KEY = "Qz7";
const QUERY_SECRET = "qs-Secret-4242";
const USERINFO_SECRET = "pw-Userinfo-5151";
/** Where the split-key stream cuts the key in two. */
const SPLIT_AT = 12;
let upstream: HostileUpstream;
/** The index of the first log line of the case running. */
let from = 0;

function scripted(
  name: string,
  model: string,
  behaviour: Behaviour | undefined,
  status: number,
  more: Partial<HostileCase> & { stream?: boolean } = {},
): HostileCase {
  return {
    name,
    status,
    send: (t) => {
      from = t.logs.length;
      return sendScripted(() => upstream, model, name, behaviour, more.stream)(t);
    },
    ...more,
  };
}

/** The case's log lines, once the call's last one is in (they arrive through a pipe, after the response). */
async function caseLogs(t: Target, answer: Answer): Promise<string> {
  const done = (l: string) => l.includes(answer.headers["x-request-id"]) && l.includes('"upstream call done"');
  for (let i = 0; i < 100 && !t.logs.slice(from).some(done); i++) await sleep(20);
  return t.logs.slice(from).join("\n");
}

/** The URL the upstream was called with, quoted back in its error message. */
const urlEcho: Behaviour = keyEcho({
  fields: ["message"],
  value: (_key, req) => `no such deployment at ${req.target} (auth ${req.headers.authorization ?? "none"})`,
});

hostileCategory(
  "upstream debug_connections: redaction",
  async () => {
    upstream = await startHostileUpstream();
    const port = new URL(upstream.url).port;
    const provider = (id: string, url: string, keyEnv?: string) => ({
      id,
      type: "openai-compatible",
      debug_connections: true,
      endpoints: [keyEnv ? { url, api_key_env: keyEnv } : { url }],
      retry: { attempts: 1 },
    });
    const providers = [
      provider("dbg", upstream.url, "HOSTILE_TEST_KEY"),
      provider("short", upstream.url, "SHORT_KEY"),
      provider("query", `${upstream.url}?api_key=${QUERY_SECRET}&api-version=2024-06-01`),
      provider("userinfo", `http://gateway:${USERINFO_SECRET}@127.0.0.1:${port}/v1`),
    ];
    const models = { gw: { provider: "dbg" }, "gw-short": { provider: "short" }, "gw-query": { provider: "query" }, "gw-userinfo": { provider: "userinfo" } };
    return {
      configDir: upstreamConfigDir(providers, models),
      env: { SHORT_KEY },
      secrets: [SHORT_KEY, QUERY_SECRET, USERINFO_SECRET],
      normal: normalChat("gw"),
      teardown: () => upstream.close(),
    };
  },
  [
    scripted("a key split across two network reads is logged in neither half", "gw", splitKeyStream({ at: SPLIT_AT }), 200, {
      stream: true,
      check: async (answer, t) => {
        const text = await caseLogs(t, answer);
        expect(text).toContain(": session [REDACTED] ok");
        expect(text).not.toContain(TEST_SECRET.slice(0, SPLIT_AT));
        expect(text).not.toContain(TEST_SECRET.slice(SPLIT_AT));
      },
    }),
    scripted(
      "a 3-character key quoted in an error is redacted for the client and in the log",
      "gw-short",
      keyEcho({ fields: ["message", "type", "param", "code"] }),
      400,
      {
        check: async (answer, t) => {
          expect(JSON.parse(answer.body).error.message).toContain("[REDACTED]");
          expect(await caseLogs(t, answer)).toContain("[REDACTED]");
        },
      },
    ),
    scripted("a 3-character key quoted in a 401 is redacted", "gw-short", keyEcho({ status: 401, fields: ["message"] }), 502, { code: "upstream_auth_error" }),
    scripted("a query-string secret is not logged with the URL", "gw-query", undefined, 200, {
      shape: "none",
      check: async (answer, t) => {
        const lines = (await caseLogs(t, answer)).split("\n");
        const url = JSON.parse(lines.find((l) => l.includes(answer.headers["x-request-id"]) && l.includes('"upstream request"'))!).url;
        expect(url).toBe(`${upstream.url}/chat/completions?api_key=[REDACTED]&api-version=2024-06-01`);
      },
    }),
    scripted("an upstream quoting the URL it was called with does not hand the query secret to the client", "gw-query", urlEcho, 400),
    scripted("URL userinfo is not logged", "gw-userinfo", undefined, 200, { shape: "none", check: async (answer, t) => void (await caseLogs(t, answer)) }),
  ],
);
