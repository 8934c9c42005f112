/**
 * Everything decided before a chat generation starts, so every 400 (unsupported field, bad
 * grammar, over-long prompt) is raised before a slot is taken or a byte is streamed.
 */
import type { ChatHistoryItem, ChatModelFunctions, Llama, LlamaGrammar, LlamaJsonSchemaGrammar, Token } from "node-llama-cpp";
import { clipEcho, ContextLengthExceededError, InvalidRequestError } from "../../core/errors.js";
import type { ChatRequest } from "../types.js";
import { nodeLlamaCpp } from "./engine.js";
import { toChatHistory, type ChatMessage } from "./messages.js";
import { boundedMaxTokens, charBudget, checkChars, messageChars, requestedTokens } from "./prompt-bounds.js";
import type { Loaded, LlamaRuntime } from "./runtime.js";
import { samplingOptions, type Sampling } from "./sampling.js";
import { checkJsonSchema } from "./schema-limits.js";
import { compileOutputCheck, type OutputCheck } from "./schema-output.js";
import { planTools, type Tool, type ToolChoice } from "./tools.js";
import { CHAT_UNSUPPORTED, rejectUnsupported } from "./unsupported.js";

export interface ChatPlan {
  history: ChatHistoryItem[];
  functions?: ChatModelFunctions;
  /** Tokens forced at the start of the answer (tool_choice required / named). */
  forcedPrefix: Token[];
  sampling: Sampling;
  /** json_schema output: node-llama-cpp's check of what its grammar follows, then ours of what it cannot (bounds, dates). */
  schemaCheck?: { grammar: LlamaJsonSchemaGrammar<any>; output: OutputCheck };
  maxTokens: number;
  promptTokens: number;
  n: number;
  maxParallelFunctionCalls?: number;
}

async function schemaGrammar(req: ChatRequest, llama: Llama): Promise<{ grammar?: LlamaGrammar; check?: ChatPlan["schemaCheck"] }> {
  const format = req.response_format as { type: string; json_schema?: { schema?: Record<string, unknown> } } | undefined;
  if (!format || format.type === "text") return {};
  if (format.type === "json_object") return { grammar: await llama.getGrammarFor("json") };
  const param = "response_format.json_schema.schema";
  const { schema } = checkJsonSchema(format.json_schema?.schema ?? {}, param);
  const output = compileOutputCheck(schema);
  try {
    const grammar = await llama.createGrammarForJsonSchema(schema as never);
    return { grammar, check: { grammar, output } };
  } catch (err) {
    throw new InvalidRequestError(`This JSON schema cannot be turned into a grammar: ${clipEcho((err as Error).message, 200)}`, param, "invalid_schema");
  }
}

/** The prompt as the chat template renders it; a template that refuses these messages (roles out of order...) is the client's 400. */
function renderPrompt(loaded: Loaded, history: ChatHistoryItem[], functions: ChatModelFunctions | undefined) {
  try {
    return loaded.chatWrapper.generateContextState({
      chatHistory: history.at(-1)?.type === "model" ? history : [...history, { type: "model", response: [] }],
      availableFunctions: functions,
      documentFunctionParams: true,
    });
  } catch (err) {
    throw new InvalidRequestError(
      `The model's chat template cannot render these messages: ${clipEcho((err as Error).message, 200)}`,
      "messages",
      "invalid_value",
    );
  }
}

export async function planChat(req: ChatRequest, runtime: LlamaRuntime): Promise<ChatPlan> {
  rejectUnsupported(req as never, CHAT_UNSUPPORTED);
  const loaded = await runtime.load();
  const llama = loaded.model.llama;
  const contextSize = loaded.context.contextSize;
  // Sizes first: nothing is parsed, templated or tokenized for a prompt that cannot fit.
  const budget = charBudget(loaded.model, contextSize);
  const chars = messageChars(req.messages as ChatMessage[]);
  checkChars(chars, budget, contextSize, "messages", "the messages have");
  const maxCompletionTokens = requestedTokens(req.max_completion_tokens, "max_completion_tokens");
  const requested = maxCompletionTokens ?? requestedTokens(req.max_tokens, "max_tokens");
  const tools = planTools(req.tools as Tool[] | undefined, req.tool_choice as ToolChoice, budget - chars);
  const functions = tools.functions;
  const history = toChatHistory(req.messages as ChatMessage[], { allowImages: false });
  const sampling = await samplingOptions(req as never, llama, loaded.model, contextSize);
  const format = await schemaGrammar(req, llama);
  const formatGrammar = format.grammar;
  if (formatGrammar && sampling.grammar)
    throw new InvalidRequestError(
      "Use either response_format or x-localai-extensions.grammar, not both",
      "x-localai-extensions.grammar",
      "conflicting_parameters",
    );
  if ((formatGrammar || sampling.grammar) && functions)
    throw new InvalidRequestError("Tools cannot be combined with a grammar or a JSON response_format on this backend", "tools", "conflicting_parameters");
  if (formatGrammar) sampling.grammar = formatGrammar;

  const { LlamaText } = await nodeLlamaCpp();
  const prefixText = loaded.chatWrapper.settings.functions.call.prefix;
  const forcedPrefix = functions && tools.forced ? LlamaText(prefixText).tokenize(loaded.model.tokenizer) : [];

  const promptTokens = renderPrompt(loaded, history, functions).contextText.tokenize(loaded.model.tokenizer).length;
  const param = maxCompletionTokens !== undefined ? "max_completion_tokens" : "max_tokens";
  if (requested != null && promptTokens + requested > contextSize) {
    throw new ContextLengthExceededError(
      `This model's maximum context length is ${contextSize} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or the ${param}.`,
    );
  }
  if (promptTokens >= contextSize) {
    throw new ContextLengthExceededError(
      `This model's maximum context length is ${contextSize} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`,
    );
  }
  return {
    history,
    functions,
    forcedPrefix,
    sampling,
    schemaCheck: format.check,
    maxTokens: boundedMaxTokens(requested ?? Infinity, contextSize - promptTokens),
    promptTokens,
    n: req.n ?? 1,
    // A named tool_choice is OpenAI's "call this function": one call, as with parallel_tool_calls false.
    maxParallelFunctionCalls: req.parallel_tool_calls === false || typeof req.tool_choice === "object" ? 1 : undefined,
  };
}

/**
 * The prompt tokens of a chat request: its messages and tools rendered by the model's chat
 * template and tokenized, as planChat counts them, with the same size bound before any of it.
 */
export async function countPromptTokens(req: ChatRequest, runtime: LlamaRuntime): Promise<number> {
  rejectUnsupported(req as never, CHAT_UNSUPPORTED);
  const loaded = await runtime.load();
  const budget = charBudget(loaded.model, loaded.context.contextSize);
  const chars = messageChars(req.messages as ChatMessage[]);
  checkChars(chars, budget, loaded.context.contextSize, "messages", "the messages have");
  const { functions } = planTools(req.tools as Tool[] | undefined, req.tool_choice as ToolChoice, budget - chars);
  const history = toChatHistory(req.messages as ChatMessage[], { allowImages: false });
  return renderPrompt(loaded, history, functions).contextText.tokenize(loaded.model.tokenizer).length;
}
