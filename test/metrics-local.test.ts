/**
 * GET /metrics for a local (llama-cpp) model: queue depth and busy sequences read on scrape, and a
 * local stream's time to first token and usage tokens.
 */
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;

const gauge = (text: string, name: string, model: string): number | undefined => {
  const m = new RegExp(`^${name}\\{model="${model}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};
const scrape = async () => (await fetch(`${server.url}/metrics`)).text();

beforeAll(async () => {
  server = await startTestServer({ configDir: await demoConfigDir({ "demo.yaml": demoRegistration("demo", "  parallel: 1\n") }) });
});
afterAll(async () => {
  await server.close();
  server.config.current().retire();
});

it("reports one busy sequence and the requests waiting behind it, then none", async () => {
  const run = () =>
    server.client.chat.completions
      .create({ model: "demo", messages: [{ role: "user", content: "hi" }], max_tokens: 48, stream: true, stream_options: { include_usage: true } })
      .then(async (stream) => {
        let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
        for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
        return usage;
      });
  const before = await scrape();
  const runs = [run(), run(), run()];
  let seen: { busy?: number; queued?: number } = {};
  for (let i = 0; i < 200; i++) {
    const text = await scrape();
    seen = { busy: gauge(text, "understudy_local_busy_sequences", "demo"), queued: gauge(text, "understudy_local_queue_depth", "demo") };
    if (seen.busy === 1 && seen.queued === 2) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(seen).toEqual({ busy: 1, queued: 2 });
  const usages = await Promise.all(runs);
  const text = await scrape();
  expect(gauge(text, "understudy_local_busy_sequences", "demo")).toBe(0);
  expect(gauge(text, "understudy_local_queue_depth", "demo")).toBe(0);
  const count = (t: string, name: string) => Number(new RegExp(`^${name}\\{model="demo",key="none"\\} (\\d+)`, "m").exec(t)?.[1] ?? 0);
  expect(count(text, "understudy_time_to_first_token_seconds_count") - count(before, "understudy_time_to_first_token_seconds_count")).toBe(3);
  const completion = usages.reduce((n, u) => n + (u?.completion_tokens ?? 0), 0);
  expect(completion).toBeGreaterThan(0);
  expect(count(text, "understudy_generation_tokens_total") - count(before, "understudy_generation_tokens_total")).toBe(completion);
});
