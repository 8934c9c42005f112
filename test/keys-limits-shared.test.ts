/**
 * Issue 15: with UNDERSTUDY_REDIS_URL, two server processes (replicas behind one load balancer)
 * share a key's limits through a real redis-server: the key's rpm is spent across both.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import OpenAI from "openai";
import { sha256Hex } from "../src/config/keys.js";
import { demoCategoryConfig, spawnServer, type Target } from "./security/harness.js";
import { startRedis, type RedisServer } from "./helpers/fake-chat-upstream-redis.js";

let redis: RedisServer;
const servers: Target[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const dir = await demoCategoryConfig();
  // A name of its own per run: a Redis shared with other suites (UNDERSTUDY_TEST_REDIS_URL) keeps counts for a minute.
  const name = `shared-${process.pid}-${Date.now()}`;
  fs.writeFileSync(path.join(dir, "keys.yaml"), yaml.dump([{ name, role: "user", key_sha256: sha256Hex("us-shared"), rpm: 3 }]));
  for (let i = 0; i < 2; i++) servers.push(await spawnServer({ configDir: dir, env: { UNDERSTUDY_REDIS_URL: redis.url }, secrets: ["us-shared"] }));
}, 60_000);
afterAll(async () => {
  for (const s of servers) await s.close();
  await redis?.stop();
});

const client = (t: Target) => new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "us-shared", maxRetries: 0 });

it("two replicas share one key's rpm: the fourth request in the minute is a 429 on either", async () => {
  const [a, b] = servers;
  const first = await client(a).models.list().withResponse();
  expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("2");
  const second = await client(b).models.list().withResponse();
  expect(second.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
  await client(a).models.list();
  for (const t of [b, a]) {
    const err = await client(t)
      .models.list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("x-ratelimit-remaining-requests")).toBe("0");
  }
}, 30_000);
