/**
 * The program template-check.ts runs in a child process (`node --input-type=module -e`): it is a
 * string so the same code runs from dist/ and from the TypeScript sources under jest.
 *
 * stdin: {"template", "wrapperUrls", "timeoutMs"}. It builds node-llama-cpp's
 * JinjaTemplateChatWrapper exactly as runtime.ts does (the constructor itself renders probes),
 * then renders sample conversations the way chat-plan.ts does: without and with tools. The renders
 * run under a vm timeout, which interrupts a runaway loop however deep in @huggingface/jinja it is.
 * stdout: {"ok": true, "bytes"} (the largest rendering) or {"ok": false, "reason", "message"?}.
 * A template that crashes V8 (e.g. an array of a billion items) kills only this process.
 */
export const TEMPLATE_RENDER_CHILD_SOURCE = String.raw`
import fs from "node:fs";
import vm from "node:vm";

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const reply = (value) => process.stdout.write(JSON.stringify(value));

async function wrapperClass() {
  for (const url of input.wrapperUrls) {
    try {
      const mod = await import(url);
      if (mod.JinjaTemplateChatWrapper) return mod.JinjaTemplateChatWrapper;
    } catch {}
  }
  throw new Error("cannot load node-llama-cpp's JinjaTemplateChatWrapper");
}

const system = { type: "system", text: "You are a helpful assistant." };
const plain = [
  system,
  { type: "user", text: "Hello, who are you?" },
  { type: "model", response: ["I am an assistant."] },
  { type: "user", text: "What can you do?" },
  { type: "model", response: [] },
];
const functions = {
  get_weather: {
    description: "The current weather in a city",
    params: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const withTools = [
  system,
  { type: "user", text: "What is the weather in Paris?" },
  { type: "model", response: [{ type: "functionCall", name: "get_weather", params: { city: "Paris" }, result: { temperature_c: 18 } }, "It is 18 degrees."] },
  { type: "user", text: "And in Rome?" },
  { type: "model", response: [] },
];

const Wrapper = await wrapperClass();
const render = () => {
  const wrapper = new Wrapper({ template: input.template });
  const states = [
    wrapper.generateContextState({ chatHistory: plain, documentFunctionParams: true }),
    wrapper.generateContextState({ chatHistory: withTools, availableFunctions: functions, documentFunctionParams: true }),
  ];
  return Math.max(...states.map((s) => Buffer.byteLength(s.contextText.toString())));
};

try {
  const bytes = vm.runInNewContext("render()", { render }, { timeout: input.timeoutMs });
  reply({ ok: true, bytes });
} catch (err) {
  if (err && err.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") reply({ ok: false, reason: "timeout" });
  else reply({ ok: false, reason: "error", message: String((err && err.message) || err).slice(0, 300) });
}
`;
