/**
 * The published spec describes what is served (patches/004-served-extensions.yaml) and is valid
 * OpenAPI 3.1 where OpenAI's is not (src/spec/build/lint-fixes.ts); `npm test` also runs redocly on it.
 */
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/core/paths.js";
import { routes } from "../src/generated/routes.js";
import { applyLintFixes, serviceOperationIds } from "../src/spec/build/lint-fixes.js";

const extended = JSON.parse(fs.readFileSync(path.join(projectRoot(), "openapi/extended.json"), "utf8"));
const text = JSON.stringify(extended);

describe("the served spec", () => {
  it("names the local server, not OpenAI's", () => {
    expect(extended.servers.map((s: { url: string }) => s.url)).toEqual(["/v1", "http://127.0.0.1:8080/v1"]);
  });

  it("declares the catalogue fields of /v1/models and the debug echo", () => {
    const model = extended.components.schemas.Model.properties;
    for (const field of ["display_name", "context_window", "max_output_tokens", "capabilities", "status", "aliases"]) expect(model).toHaveProperty([field]);
    for (const schema of ["CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "CreateCompletionResponse", "CreateEmbeddingResponse"])
      expect(extended.components.schemas[schema].properties["x-localai-debug"]).toEqual({ $ref: "#/components/schemas/LocalAIDebugEcho" });
  });

  it("declares the service routes, outside the dispatch table", () => {
    const service = serviceOperationIds(extended);
    expect([...service].sort()).toEqual([
      "getHealth",
      "getModelCatalogue",
      "getOpenApiDocument",
      "getOpenApiDocumentYaml",
      "getReadiness",
      "getSourcegraphSupportedModels",
    ]);
    expect(extended.paths["/health"].servers[0].url).toBe("/");
    expect(extended.paths["/models.json"].get.operationId).toBe("getModelCatalogue");
    expect(routes.filter((r) => service.has(r.operationId))).toEqual([]);
  });

  it("has none of the constructs redocly refuses in OpenAI's spec", () => {
    for (const bad of ['"$recursiveRef"', '"$recursiveAnchor"', '"min_items"', '"max_items"', '"optional":true']) expect(text).not.toContain(bad);
    expect(extended.components.schemas.GraderScoreModel.properties.range).toMatchObject({ minItems: 2, maxItems: 2 });
    for (const item of Object.values<Record<string, { summary?: string }>>(extended.webhooks)) expect(typeof item.post.summary).toBe("string");
  });
});

describe("applyLintFixes", () => {
  it("repairs each construct without changing what the schema accepts", () => {
    const doc = {
      components: {
        schemas: {
          Tree: { $recursiveAnchor: true, type: "object", properties: { kids: { type: "array", items: { $recursiveRef: "#" } } } },
          Pair: { type: "array", items: { type: "number", min_items: 2, max_items: 2 } },
          Opt: { type: "object", properties: { a: { type: "array", optional: true }, optional: { type: "string" } } },
          Run: { type: "object", properties: { t: { allOf: [{ $ref: "#/components/schemas/Pair" }, {}] } } },
        },
      },
      webhooks: { thing_done: { post: { description: "Sent when a thing is done.\n" } } },
    };
    expect(applyLintFixes(doc)).toEqual({ recursiveRefs: 1, itemBounds: 2, optionalFlags: 1, emptyAllOfBranches: 1, webhookSummaries: 1 });
    const s = doc.components.schemas as Record<string, any>;
    expect(s.Tree).toEqual({ type: "object", properties: { kids: { type: "array", items: { $ref: "#/components/schemas/Tree" } } } });
    expect(s.Pair).toEqual({ type: "array", minItems: 2, maxItems: 2, items: { type: "number" } });
    expect(s.Opt.properties).toEqual({ a: { type: "array" }, optional: { type: "string" } });
    expect(s.Run.properties.t).toEqual({ $ref: "#/components/schemas/Pair" });
    expect((doc.webhooks.thing_done.post as { summary?: string }).summary).toBe("Sent when a thing is done");
  });
});
