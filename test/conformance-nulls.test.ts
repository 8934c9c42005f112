/**
 * `null` is a value: every field the extended spec lets be null (OpenAI's `nullable`, rewritten to
 * JSON Schema by src/spec/build/normalize.ts) is accepted as null, on the llama-cpp backend and
 * through an upstream. The list of fields is read from openapi/extended.json, not written here, so a
 * field the spec adds is covered. `stop: null`, the spec's own default, used to be a 400: normalization
 * had made StopConfiguration a oneOf whose string and null branches both admitted null.
 */
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { projectRoot } from "../src/core/paths.js";
import { admitsNull, allOfNullConflicts, nullOverlaps, resolveRef } from "../src/spec/build/null-overlap.js";
import { normalizeSpec } from "../src/spec/build/normalize.js";
import { postJson, startTestServer, type TestServer } from "./helpers/server.js";
import { demoConfigDir, demoRegistration } from "./helpers/demo.js";
import { startFakeUpstream, type FakeUpstream } from "./helpers/upstream-server.js";

type Schema = Record<string, any>;
const spec = JSON.parse(fs.readFileSync(path.join(projectRoot(), "openapi/extended.json"), "utf8")) as Schema;
const schemas = spec.components.schemas as Record<string, Schema>;

/** A schema's properties, through `$ref` and `allOf` (CreateChatCompletionRequest is an allOf). */
function propertiesOf(schema: Schema, out: Record<string, Schema> = {}): Record<string, Schema> {
  if (typeof schema.$ref === "string") return propertiesOf(resolveRef(spec, schema.$ref)!, out);
  for (const part of schema.allOf ?? []) propertiesOf(part, out);
  return Object.assign(out, schema.properties ?? {});
}

/**
 * Whether the spec says null is meant: a `type` naming null somewhere in the field's schema or its
 * branches. Deliberately not "does it validate" (that is what is under test).
 */
function declaresNull(schema: unknown, seen = new Set<string>()): boolean {
  if (typeof schema !== "object" || schema === null) return false;
  const s = schema as Schema;
  if (typeof s.$ref === "string") {
    if (seen.has(s.$ref)) return false;
    seen.add(s.$ref);
    return declaresNull(resolveRef(spec, s.$ref), seen);
  }
  if (s.type === "null" || (Array.isArray(s.type) && s.type.includes("null"))) return true;
  return [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])].some((b: unknown) => declaresNull(b, seen));
}

const nullableFields = (name: string) =>
  Object.entries(propertiesOf(schemas[name]))
    .filter(([, schema]) => declaresNull(schema))
    .map(([field]) => field);

const hi = [{ role: "user", content: "hi" }];
/** A request that is valid without the field; when the field nulled is the length limit, the other one bounds the answer. */
const REQUESTS: Record<string, { path: string; base: (field: string) => Record<string, unknown> }> = {
  CreateChatCompletionRequest: {
    path: "/chat/completions",
    base: (field) => ({ messages: hi, ...(field === "max_tokens" ? { max_completion_tokens: 2 } : { max_tokens: 2 }) }),
  },
  CreateCompletionRequest: { path: "/completions", base: (field) => ({ prompt: "Once", ...(field === "max_tokens" ? {} : { max_tokens: 2 }) }) },
  CreateEmbeddingRequest: { path: "/embeddings", base: () => ({ input: "hi" }) },
};

let upstream: FakeUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const dir = await demoConfigDir({
    "providers.yaml": yaml.dump([{ id: "up", type: "openai-compatible", endpoints: [{ url: upstream.url }] }]),
    "demo.yaml": demoRegistration("demo"),
    "relay.yaml": yaml.dump({ registration: { model: "relay" }, local_settings: { backend: "openai-compatible", provider: "up", upstream_model: "m" } }),
  });
  server = await startTestServer({ configDir: dir });
});
afterAll(async () => {
  if (server) {
    await server.close();
    server.config.current().retire();
  }
  await upstream?.close();
});

describe("the nullable fields, read from the extended spec", () => {
  it("include the ones clients send as null (stop, the spec's default) and nothing the spec does not mark", () => {
    expect(nullableFields("CreateChatCompletionRequest")).toEqual(expect.arrayContaining(["stop", "stream_options", "max_tokens", "temperature"]));
    expect(nullableFields("CreateCompletionRequest")).toEqual(expect.arrayContaining(["stop", "suffix", "max_tokens"]));
    expect(nullableFields("CreateChatCompletionRequest")).not.toContain("messages");
    // OpenAI's embeddings request has none (dimensions, encoding_format, user are optional, not nullable).
    expect(nullableFields("CreateEmbeddingRequest")).toEqual([]);
  });

  it("no oneOf has two branches admitting null, no allOf disagrees on a null (the checks npm run generate runs)", () => {
    expect(nullOverlaps(spec)).toEqual([]);
    expect(allOfNullConflicts(spec)).toEqual([]);
    expect(admitsNull(spec, schemas.StopConfiguration)).toBe(true);
  });

  it("the normalizer puts a nullable oneOf's null in one branch, even when a branch was nullable too", () => {
    const doc = {
      components: {
        schemas: {
          Stop: {
            nullable: true,
            oneOf: [
              { type: "string", nullable: true },
              { type: "array", items: { type: "string" } },
            ],
          },
        },
      },
    };
    normalizeSpec(doc);
    expect(nullOverlaps(doc)).toEqual([]);
    expect(doc.components.schemas.Stop.oneOf.filter((branch) => admitsNull(doc, branch))).toHaveLength(1);
  });
});

describe.each(["demo", "relay"])("null for every nullable request field (model %s)", (model) => {
  it.each(Object.keys(REQUESTS))("%s: each field sent as null is accepted", async (name) => {
    const { path: route, base } = REQUESTS[name];
    const refused: string[] = [];
    for (const field of nullableFields(name)) {
      const res = await postJson(`${server.url}/v1${route}`, { model, ...base(field), [field]: null });
      if (res.status !== 200) refused.push(`${field}: ${res.status} ${JSON.stringify(res.json?.error)}`);
    }
    expect(refused).toEqual([]);
  });
});

it("stop: null through the openai SDK (its types allow it) is answered", async () => {
  const answer = await server.client.chat.completions.create({ model: "demo", messages: [{ role: "user", content: "hi" }], max_tokens: 2, stop: null });
  expect(answer.choices).toHaveLength(1);
  const text = await server.client.completions.create({ model: "relay", prompt: "Once", max_tokens: 2, stop: null });
  expect(text.choices[0].finish_reason).toBe("length");
});
