/** The operations table is the one list of what is implemented: handlers, routes and the validation subset follow it. */
import fs from "node:fs";
import { ENDPOINTS, IMPLEMENTED_OPERATIONS, OPERATIONS } from "../src/core/operations.js";
import { routes } from "../src/generated/routes.js";
import { handlers } from "../src/surfaces/index.js";
import { OPERATIONS_KEY, validationSpecPath } from "../src/spec/extended-spec.js";

describe("the operations table", () => {
  it("names exactly the operations that have handlers", () => {
    expect(new Set(Object.keys(handlers))).toEqual(IMPLEMENTED_OPERATIONS);
  });

  it("gives each operation the method and path of the spec's route", () => {
    for (const op of OPERATIONS) {
      const route = routes.find((r) => r.operationId === op.id);
      expect(route).toBeDefined();
      expect(route!.method).toBe(op.method);
      // Sourcegraph's paths name their own server, the root.
      expect(`${route!.basePath ?? "/v1"}${route!.specPath}`).toBe(op.path);
    }
  });

  it("is what the generated validation subset was made for", () => {
    const subset = JSON.parse(fs.readFileSync(validationSpecPath(), "utf8"));
    expect(new Set(subset[OPERATIONS_KEY])).toEqual(IMPLEMENTED_OPERATIONS);
  });

  it("lists as endpoints the operations a backend serves, each with a capability", () => {
    expect(ENDPOINTS).toEqual([
      "createChatCompletion",
      "createCompletion",
      "createEmbedding",
      "createAnthropicMessage",
      "countAnthropicMessageTokens",
      "createSourcegraphChatCompletion",
      "createSourcegraphCodeCompletion",
      "createResponse",
    ]);
    for (const op of OPERATIONS) expect("capability" in op).toBe("backendMethod" in op);
  });
});
