/**
 * The admin page (/admin, issue 16) in a real browser: headless Chromium (Debian's package) driven
 * by playwright-core against the built server. One page goes through the admin's day: log in, read
 * the models, watch a broken YAML file appear as a problem and go, chat in the playground, watch the
 * charts move under load, and look right at 1280 and 390 px. Assertions read the DOM (the charts'
 * data attributes, never pixels).
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  ADMIN_KEY,
  restoreRoute,
  sendLoad,
  screenshotDir,
  SLOW_WORDS,
  slowStreamRoute,
  startAdminEnv,
  startOpenServer,
  upstreamRegistration,
  UPSTREAM_NAME,
  USER_KEY,
  type AdminEnv,
} from "./helpers/admin-page.js";
import { chatRequests } from "./helpers/fake-chat-upstream.js";

/** Bound on any one wait in the page (hot reload, a poll, a streamed answer). */
const WAIT_MS = 15_000;
const LOAD_REQUESTS = 30;

let env: AdminEnv;
let page: Page;
const elsewhere: string[] = [];

beforeAll(async () => {
  env = await startAdminEnv();
  page = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(WAIT_MS);
  // Nothing may come from elsewhere (a CDN, a font service): every request goes to the server under test.
  page.on("request", (r) => {
    if (!r.url().startsWith(env.server.url)) elsewhere.push(r.url());
  });
}, 60_000);
afterAll(async () => {
  await env?.close();
});

const section = async (name: string) => {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name }).click();
  await page.getByRole("heading", { level: 2, name }).waitFor();
};
/** The model labels in the traffic window, as the admin API answers them. */
async function trafficLabels(): Promise<string[]> {
  const res = await fetch(`${env.server.url}/admin/api/traffic`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(res.status).toBe(200);
  const traffic = (await res.json()) as { samples: { models: Record<string, unknown> }[] };
  return [...new Set(traffic.samples.flatMap((s) => Object.keys(s.models)))];
}
const chartTotal = (id: string) => page.locator(`#${id}`).getAttribute("data-total").then(Number);

it("asks for a key, refuses a wrong one and a user key, and lets an admin key in", async () => {
  const res = await page.goto(`${env.server.url}/admin`);
  expect(res?.status()).toBe(200);
  const keyField = page.getByLabel("Admin key");
  const signIn = page.getByRole("button", { name: "Sign in" });
  await keyField.fill("us-not-a-key");
  await signIn.click();
  await expect(page.getByRole("alert").textContent()).resolves.toMatch(/does not know/);
  await keyField.fill(USER_KEY);
  await signIn.click();
  await page.getByText("not an admin key").waitFor();
  await keyField.fill(ADMIN_KEY);
  await signIn.click();
  await page.getByRole("heading", { level: 2, name: "Models" }).waitFor();
  expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(ADMIN_KEY);
  // A reload keeps the session (the key is in sessionStorage).
  await page.reload();
  await page.getByRole("heading", { level: 2, name: "Models" }).waitFor();
}, 30_000);

it("shows the demo model and the upstream's endpoints", async () => {
  const demo = page.locator('[data-model="demo"]');
  await demo.waitFor();
  await expect(demo.textContent()).resolves.toContain("llama-cpp");
  await expect(demo.getByRole("list", { name: "Capabilities" }).textContent()).resolves.toContain("chat");
  const endpoints = page.locator(`[data-model="${UPSTREAM_NAME}"] [data-endpoint]`);
  await endpoints.first().waitFor();
  expect(await endpoints.count()).toBe(1);
  const row = (await endpoints.first().textContent()) ?? "";
  expect(row).toContain(new URL(env.upstream.url).host);
  expect(row).toContain("healthy");
}, 30_000);

it("unloads and loads the demo model with its buttons", async () => {
  const facts = page.locator('[data-model="demo"] .facts');
  const load = page.getByRole("button", { name: "Load demo", exact: true });
  const unload = page.getByRole("button", { name: "Unload demo", exact: true });
  // Models load on first use: nothing has used the demo model yet.
  await expect(facts.textContent()).resolves.toContain("Loadedno");
  await load.click();
  await unload.waitFor({ timeout: 30_000 });
  await expect(facts.textContent()).resolves.toContain("Loadedyes");
  await unload.click();
  await load.waitFor();
  await expect(facts.textContent()).resolves.toContain("Loadedno");
  // The upstream registration loads nothing: no button.
  expect(await page.locator(`[data-model="${UPSTREAM_NAME}"] button`).count()).toBe(0);
}, 45_000);

it("shows a broken YAML file as a problem with its file and line, and clears it once fixed", async () => {
  await section("Config");
  await page.getByTestId("no-problems").waitFor();
  const file = path.join(env.server.configDir, `${UPSTREAM_NAME}.yaml`);
  fs.writeFileSync(file, "registration:\n  model: up-chat\n  allow_debug: [unclosed\n");
  const problem = page.locator(".problem").first();
  await problem.waitFor();
  expect(await problem.locator(".where").textContent()).toMatch(new RegExp(`^${UPSTREAM_NAME}\\.yaml:\\d+$`));
  await expect(page.getByTestId("config-badge").textContent()).resolves.toMatch(/problem/);
  fs.writeFileSync(file, upstreamRegistration());
  await page.getByTestId("no-problems").waitFor();
  await expect(page.getByTestId("config-badge").textContent()).resolves.toBe("config ok");
}, 45_000);

/** Records every text the in-progress answer showed (it exists only while the stream runs). */
const recordStreamedText = () =>
  page.evaluate(() => {
    const seen: string[] = ((window as any).__streamed = []);
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="streaming"] p')?.textContent?.replace("▍", "") ?? "";
      if (text !== "" && seen.at(-1) !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

async function sendPlayground(model: string, message: string, extensions = "{}"): Promise<void> {
  await page.getByLabel("Model", { exact: true }).selectOption(model);
  await page.getByLabel("Max tokens").fill("24");
  await page.getByLabel("x-localai-extensions (JSON)").fill(extensions);
  await page.getByLabel("Message").fill(message);
  await page.getByRole("button", { name: "Send" }).click();
}

const echoShown = async () => JSON.parse((await page.getByTestId("debug-echo").textContent()) ?? "{}");

it("streams a playground answer word by word and shows the request the upstream got beside it", async () => {
  await section("Playground");
  env.upstream.route(slowStreamRoute);
  try {
    await recordStreamedText();
    await sendPlayground(UPSTREAM_NAME, "hello upstream");
    const finish = page.getByTestId("finish");
    await finish.waitFor();
    expect(Number(await finish.getAttribute("data-chunks"))).toBe(SLOW_WORDS.length);
    // The answer grew on screen while it streamed: several partial texts, each a prefix of the next.
    const seen = await page.evaluate(() => (window as any).__streamed as string[]);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i].startsWith(seen[i - 1])).toBe(true);
    expect(await page.locator(".message.assistant p").last().textContent()).toBe(SLOW_WORDS.join(""));
    // The merged request is what the upstream received (under the client's model name), with the form's fields.
    const echo = await echoShown();
    expect(echo).toEqual({ ...chatRequests(env.upstream).at(-1)!.body, model: UPSTREAM_NAME });
    expect(echo.messages).toEqual([{ role: "user", content: "hello upstream" }]);
    expect(echo.max_tokens).toBe(24);
    expect(echo.temperature).toBe(0.7);
  } finally {
    restoreRoute(env.upstream);
  }
}, 45_000);

it("chats with the demo model and shows its merged request", async () => {
  await page.getByRole("button", { name: "Clear" }).click();
  await sendPlayground("demo", "hello from the admin page", '{"top_k": 20}');
  const finish = page.getByTestId("finish");
  await page.waitForFunction(() => document.querySelector('[data-testid="debug-echo"]')?.textContent?.includes("hello from the admin page"));
  await finish.waitFor({ timeout: 45_000 });
  expect(Number(await finish.getAttribute("data-chunks"))).toBeGreaterThanOrEqual(1);
  expect(((await page.locator(".message.assistant p").last().textContent()) ?? "").length).toBeGreaterThan(0);
  const echo = await echoShown();
  expect(echo.model).toBe("demo");
  expect(echo.messages).toEqual([{ role: "user", content: "hello from the admin page" }]);
  expect(echo.max_tokens).toBe(24);
  expect(echo.stream).toBe(true);
  expect(echo["x-localai-extensions"]).toEqual({ top_k: 20 });
}, 60_000);

it("moves the charts and fills the request table under load", async () => {
  await section("Traffic");
  await page.locator("#chart-rps").waitFor();
  const before = { rps: await chartTotal("chart-rps"), tokens: await chartTotal("chart-tokens") };
  const statuses = await sendLoad(env.server, LOAD_REQUESTS, 5);
  expect(statuses).toEqual(Array(LOAD_REQUESTS).fill(200));
  await page.waitForFunction(([want]) => Number(document.querySelector("#chart-rps")?.getAttribute("data-total")) >= want, [before.rps + LOAD_REQUESTS], {
    timeout: WAIT_MS,
  });
  expect(await chartTotal("chart-tokens")).toBeGreaterThan(before.tokens);
  expect(await chartTotal("chart-latency")).toBeGreaterThan(0);
  expect(await chartTotal("chart-ttft")).toBeGreaterThan(0);
  // A line per model label of /admin/api/traffic on the rate charts; p50 and p99 per label on the latency chart.
  const labels = await trafficLabels();
  expect(labels).toEqual(expect.arrayContaining(["demo", UPSTREAM_NAME]));
  expect(Number(await page.locator("#chart-rps").getAttribute("data-lines"))).toBe(labels.length);
  expect(Number(await page.locator("#chart-latency").getAttribute("data-lines"))).toBe(2 * labels.length);
  expect(await page.locator("#chart-rps canvas").count()).toBeGreaterThan(0);
  await page.waitForFunction(([want]) => Number(document.querySelector("table.requests")?.getAttribute("data-rows")) >= want, [LOAD_REQUESTS], {
    timeout: WAIT_MS,
  });
  const cells = await page.locator("table.requests tbody tr").first().locator("td").allTextContents();
  expect(cells[1]).toBe("ops");
}, 60_000);

it("fits 390 px without horizontal scrolling, shows keyboard focus, and is captured at both widths", async () => {
  const dir = screenshotDir();
  await page.screenshot({ path: path.join(dir, "admin-1280.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  for (const name of ["Playground", "Traffic", "Config", "Models"]) {
    await section(name);
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect({ section: name, overflow }).toEqual({ section: name, overflow: 0 });
  }
  await page.screenshot({ path: path.join(dir, "admin-390.png") });
  // Keyboard focus is drawn (:focus-visible outline).
  await page.locator("body").focus();
  await page.keyboard.press("Tab");
  // The page's own ring (3 px solid), not the browser's default one that a stylesheet could have removed.
  const outline = await page.evaluate(() => {
    const style = getComputedStyle(document.activeElement!);
    return { focused: document.activeElement !== document.body, style: style.outlineStyle, width: style.outlineWidth };
  });
  expect(outline).toEqual({ focused: true, style: "solid", width: "3px" });
  expect(fs.statSync(path.join(dir, "admin-390.png")).size).toBeGreaterThan(1000);
  expect(elsewhere).toEqual([]);
}, 45_000);

it("on an open server (no keys) shows the page without a login", async () => {
  const open = await startOpenServer();
  const other = await env.browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    other.setDefaultTimeout(WAIT_MS);
    await other.goto(`${open.url}/admin`);
    await other.locator('[data-model="demo"]').waitFor();
    expect(await other.getByLabel("Admin key").count()).toBe(0);
    expect(await other.getByRole("button", { name: "Sign out" }).count()).toBe(0);
    await other.getByText("open server").waitFor();
  } finally {
    await other.close();
    await open.close();
  }
}, 45_000);
