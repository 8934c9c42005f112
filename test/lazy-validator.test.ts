/**
 * The request validator is created on first use (issue 10, start-up): one instance for both
 * layers, one creation however many requests ask at once, and nothing to create for operations
 * with nothing to validate. Requests that arrive together right after start are all validated.
 */
import { handlers } from "../src/surfaces/index.js";
import type { Handler } from "../src/handlers/types.js";
import { IMPLEMENTED_OPERATIONS } from "../src/core/operations.js";
import { createRequestValidator } from "../src/http/validation.js";
import { startTestServer } from "./helpers/server.js";

const IMPLEMENTED = IMPLEMENTED_OPERATIONS;

describe("the lazily-created request validator", () => {
  it("is not created until asked, and concurrent callers share one creation", async () => {
    const validator = createRequestValidator(IMPLEMENTED);
    expect(validator.ready).toBeUndefined();
    const [a, b] = await Promise.all([validator.chain(), validator.chain()]);
    expect(a).toBe(b);
    expect(validator.ready).toBe(a);
    expect(a.length).toBeGreaterThan(0);
  });

  it("validates operations with a body or a constrained parameter, and skips the others", () => {
    const validator = createRequestValidator(IMPLEMENTED);
    expect(validator.forOperation("listModels")).toHaveLength(0);
    expect(validator.forOperation("retrieveModel")).toHaveLength(0);
    for (const id of ["createChatCompletion", "createCompletion", "createEmbedding"]) expect(validator.forOperation(id)).toHaveLength(1);
    expect(validator.ready).toBeUndefined();
  });
});

describe("the first requests a server gets, sent together", () => {
  const modifyAssistant: Handler = async (call) => ({ kind: "json", body: { id: call.params.assistant_id, object: "assistant" } });

  it("are validated on both layers (fast path and express)", async () => {
    const server = await startTestServer({ handlers: { ...handlers, modifyAssistant } });
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as any,
        }));
      const badChat = { model: "demo", messages: [{ role: "nobody", content: "hi" }] };
      const answers = await Promise.all([
        post("/v1/chat/completions", badChat),
        post("/v1/chat/completions", badChat),
        post("/v1/assistants/asst_1", { name: 5 }),
        post("/v1/assistants/asst_1", { name: 5 }),
        post("/v1/assistants/asst_1", { name: "fine" }),
      ]);
      for (const a of answers.slice(0, 2)) {
        expect(a.status).toBe(400);
        expect(a.body.error.param).toBe("messages[0].role");
      }
      for (const a of answers.slice(2, 4)) {
        expect(a.status).toBe(400);
        expect(a.body.error.code).toBe("invalid_type");
      }
      expect(answers[4].status).toBe(200);
      const models = await fetch(`${server.url}/v1/models`);
      expect(models.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
