/**
 * Everything decided before a chat generation starts, so every 400 (unsupported field, bad
 * grammar, over-long prompt) is raised before a slot is taken or a byte is streamed.
 */
import type { ChatHistoryItem, ChatModelFunctions, Llama, LlamaGrammar, LlamaJsonSchemaGrammar, Token } from "node-llama-cpp";
import { ContextLengthExceededError, InvalidRequestError } from "../../errors.js";
import type { ChatRequest } from "../types.js";
import { nodeLlamaCpp } from "./engine.js";
import { toChatHistory, type ChatMessage } from "./messages.js";
import type { LlamaRuntime } from "./runtime.js";
import { samplingOptions, type Sampling } from "./sampling.js";
import { CHAT_UNSUPPORTED, rejectUnsupported } from "./unsupported.js";

export interface ChatPlan {
  history: ChatHistoryItem[];
  functions?: ChatModelFunctions;
  /** Tokens forced at the start of the answer (tool_choice required / named). */
  forcedPrefix: Token[];
  sampling: Sampling;
  schemaGrammar?: LlamaJsonSchemaGrammar<any>;
  maxTokens: number;
  promptTokens: number;
  n: number;
  maxParallelFunctionCalls?: number;
}

type Tool = { type: string; function?: { name: string; description?: string; parameters?: Record<string, unknown> } };
type ToolChoice = "none" | "auto" | "required" | { type: string; function?: { name: string } } | undefined;

function functionsFor(tools: Tool[] | undefined, choice: ToolChoice): ChatModelFunctions | undefined {
  if (!tools || tools.length === 0 || choice === "none") return undefined;
  const functions: Record<string, ChatModelFunctions[string]> = {};
  tools.forEach((tool, i) => {
    if (tool.type !== "function" || !tool.function) throw new InvalidRequestError("Only function tools are supported by the llama-cpp backend", `tools[${i}]`, "unsupported_value");
    functions[tool.function.name] = { description: tool.function.description, params: (tool.function.parameters ?? { type: "object", properties: {} }) as never };
  });
  if (typeof choice === "object") {
    const name = choice.function?.name;
    if (!name || !functions[name]) throw new InvalidRequestError(`tool_choice names '${name}', which is not in tools`, "tool_choice", "invalid_value");
    return { [name]: functions[name] };
  }
  return functions;
}

async function schemaGrammar(req: ChatRequest, llama: Llama): Promise<LlamaJsonSchemaGrammar<any> | LlamaGrammar | undefined> {
  const format = req.response_format as { type: string; json_schema?: { schema?: Record<string, unknown> } } | undefined;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return llama.getGrammarFor("json");
  try {
    return await llama.createGrammarForJsonSchema((format.json_schema?.schema ?? {}) as never);
  } catch (err) {
    throw new InvalidRequestError(`This JSON schema cannot be turned into a grammar: ${(err as Error).message}`, "response_format.json_schema.schema", "unsupported_schema");
  }
}

export async function planChat(req: ChatRequest, runtime: LlamaRuntime): Promise<ChatPlan> {
  rejectUnsupported(req as never, CHAT_UNSUPPORTED);
  const loaded = await runtime.load();
  const llama = loaded.model.llama;
  const history = toChatHistory(req.messages as ChatMessage[], { allowImages: false });
  const choice = req.tool_choice as ToolChoice;
  const functions = functionsFor(req.tools as Tool[] | undefined, choice);
  const sampling = await samplingOptions(req as never, llama, loaded.model, loaded.context.contextSize);
  const formatGrammar = await schemaGrammar(req, llama);
  if (formatGrammar && sampling.grammar) throw new InvalidRequestError("Use either response_format or x-localai-extensions.grammar, not both", "x-localai-extensions.grammar", "conflicting_parameters");
  if ((formatGrammar || sampling.grammar) && functions) throw new InvalidRequestError("Tools cannot be combined with a grammar or a JSON response_format on this backend", "tools", "conflicting_parameters");
  if (formatGrammar) sampling.grammar = formatGrammar;

  const forced = functions && (choice === "required" || typeof choice === "object");
  const { LlamaText } = await nodeLlamaCpp();
  const prefixText = loaded.chatWrapper.settings.functions.call.prefix;
  const forcedPrefix = forced ? LlamaText(prefixText).tokenize(loaded.model.tokenizer) : [];

  const state = loaded.chatWrapper.generateContextState({
    chatHistory: history.at(-1)?.type === "model" ? history : [...history, { type: "model", response: [] }],
    availableFunctions: functions,
    documentFunctionParams: true,
  });
  const promptTokens = state.contextText.tokenize(loaded.model.tokenizer).length;
  const contextSize = loaded.context.contextSize;
  const requested = req.max_completion_tokens ?? req.max_tokens ?? undefined;
  const param = req.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
  if (requested != null && promptTokens + requested > contextSize) {
    throw new ContextLengthExceededError(`This model's maximum context length is ${contextSize} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or the ${param}.`);
  }
  if (promptTokens >= contextSize) {
    throw new ContextLengthExceededError(`This model's maximum context length is ${contextSize} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`);
  }
  return {
    history,
    functions,
    forcedPrefix,
    sampling,
    schemaGrammar: (req.response_format as { type?: string } | undefined)?.type === "json_schema" ? (formatGrammar as LlamaJsonSchemaGrammar<any>) : undefined,
    maxTokens: requested ?? contextSize - promptTokens,
    promptTokens,
    n: req.n ?? 1,
    maxParallelFunctionCalls: req.parallel_tool_calls === false ? 1 : undefined,
  };
}
