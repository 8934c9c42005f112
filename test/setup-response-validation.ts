/**
 * Installed by jest (setupFilesAfterEnv) in every test file: each answer of the server under test
 * that a test reads through `fetch` (the openai and Anthropic SDKs use it) is checked against the
 * extended spec, and a mismatch fails the test that made the request (test/helpers/response-validation.ts).
 * A test that means to provoke a mismatch takes it with `takeViolations()`.
 */
import { checked, checkResponse, formatViolations, takeViolations } from "./helpers/response-validation.js";

const realFetch = globalThis.fetch;

function requestOf(input: RequestInfo | URL, init?: RequestInit): { method: string; url: URL } {
  if (input instanceof Request) return { method: (init?.method ?? input.method).toUpperCase(), url: new URL(input.url) };
  return { method: (init?.method ?? "GET").toUpperCase(), url: new URL(String(input)) };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

globalThis.fetch = async function validatingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await realFetch(input, init);
  const { method, url } = requestOf(input, init);
  return LOOPBACK.has(url.hostname) ? checkResponse(method, url, response) : response;
};

async function failOnViolations(): Promise<void> {
  const found = await takeViolations();
  if (found.length > 0) throw new Error(`response does not match the spec (openapi/extended.json):\n${formatViolations(found)}`);
}

afterEach(failOnViolations);
afterAll(failOnViolations);

// UNDERSTUDY_TEST_CHECK_STATS=1: how many bodies and events each test file had checked (to see the check reach a surface).
if (process.env.UNDERSTUDY_TEST_CHECK_STATS)
  afterAll(() => void process.stderr.write(`response checks: ${checked.count} (${checked.tolerated} known deviations) in ${expect.getState().testPath}\n`));
