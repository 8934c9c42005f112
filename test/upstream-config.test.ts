import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { writeConfigDir } from "./helpers/server.js";
import { ENDPOINTS } from "../src/core/operations.js";

const providers = `- id: gpu
  type: openai-compatible
  profile: vllm
  endpoints:
    - url: http://gpu-1:8000/v1
      weight: 2
- id: hf
  type: huggingface-tgi
  endpoints:
    - url: http://tgi:8080/v1
`;

const reg = (model: string, settings: string, extra = "") => `registration:\n  model: ${model}\n${extra}local_settings:\n${settings}`;
const problemsOf = (files: Record<string, string>) => loadConfig(writeConfigDir({ "providers.yaml": providers, ...files })).problems.map(formatProblem);

describe("upstream registrations in the config directory", () => {
  it("loads openai-compatible and huggingface-tgi registrations with their providers", () => {
    const loaded = loadConfig(
      writeConfigDir({
        "providers.yaml": providers,
        "qwen.yaml": reg("qwen", "  backend: openai-compatible\n  provider: gpu\n  upstream_model: Qwen/Qwen2.5-7B-Instruct\n"),
        "zephyr.yaml": reg("zephyr", "  backend: huggingface-tgi\n  provider: hf\n"),
      }),
    );
    expect(loaded.problems).toEqual([]);
    const qwen = loaded.registrations.find((r) => r.model === "qwen")!;
    expect(qwen).toMatchObject({
      upstream_model: "Qwen/Qwen2.5-7B-Instruct",
      owned_by: "gpu",
      model_ref: "gpu::v1::qwen",
      // Every endpoint the backend's methods serve: Anthropic's Messages API and Sourcegraph's completions too, through chat.
      endpoints: ENDPOINTS,
    });
    expect(qwen.provider).toMatchObject({ id: "gpu", profile: "vllm", endpoints: [{ url: "http://gpu-1:8000/v1", weight: 2 }] });
    const zephyr = loaded.registrations.find((r) => r.model === "zephyr")!;
    // TGI serves chat only: every endpoint that rides on chat, no completions or embeddings.
    expect(zephyr).toMatchObject({ upstream_model: "tgi", endpoints: ENDPOINTS.filter((e) => e !== "createCompletion" && e !== "createEmbedding") });
  });

  it("names an unknown provider and lists the known ones of that type", () => {
    expect(problemsOf({ "m.yaml": reg("m", "  backend: openai-compatible\n  provider: nope\n  upstream_model: x\n") })).toEqual([
      "m.yaml:5: local_settings.provider: unknown provider 'nope' (providers of type openai-compatible: gpu)",
    ]);
  });

  it("refuses a provider of another type", () => {
    const problems = problemsOf({ "m.yaml": reg("m", "  backend: openai-compatible\n  provider: hf\n  upstream_model: x\n") });
    expect(problems).toEqual([
      expect.stringMatching(
        /^m\.yaml:5: local_settings\.provider: provider 'hf' has type 'huggingface-tgi'; the openai-compatible backend needs one of type 'openai-compatible'/,
      ),
    ]);
  });

  it("requires upstream_model for openai-compatible", () => {
    expect(problemsOf({ "m.yaml": reg("m", "  backend: openai-compatible\n  provider: gpu\n") })).toEqual([
      expect.stringMatching(/^m\.yaml:\d+: local_settings.*upstream_model/),
    ]);
  });

  it("refuses endpoints TGI's /v1 does not serve", () => {
    const problems = problemsOf({
      "z.yaml": reg("z", "  backend: huggingface-tgi\n  provider: hf\n", "  endpoints: [createChatCompletion, createEmbedding]\n"),
    });
    expect(problems).toEqual([expect.stringMatching(/registration\.endpoints: the huggingface-tgi backend does not serve createEmbedding/)]);
  });

  it("checks the providers file: profile names, retry keys", () => {
    const bad = loadConfig(
      writeConfigDir({
        "providers.yaml": `- id: x\n  type: openai-compatible\n  profile: triton\n  retry: { attempts: 0 }\n  endpoints: [{ url: "http://a/v1" }]\n`,
      }),
    ).problems.map(formatProblem);
    expect(bad.some((p) => /profile/.test(p))).toBe(true);
    expect(bad.some((p) => /retry\.attempts/.test(p))).toBe(true);
  });

  it("refuses a profile on a huggingface-tgi provider", () => {
    const dir = writeConfigDir({
      "providers.yaml": `- id: hf\n  type: huggingface-tgi\n  profile: vllm\n  endpoints: [{ url: "http://tgi/v1" }]\n`,
      "z.yaml": reg("z", "  backend: huggingface-tgi\n  provider: hf\n"),
    });
    expect(loadConfig(dir).problems.map(formatProblem)).toEqual([
      expect.stringMatching(/provider 'hf' sets profile 'vllm', but huggingface-tgi providers always use the TGI profile/),
    ]);
  });
});
