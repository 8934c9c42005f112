/** Chat completions on llama.cpp: one or n choices, whole or streamed, with tool calls. */
import type { LlamaChatResponse } from "node-llama-cpp";
import { ApiError, ClientAbortError } from "../../core/errors.js";
import { runStream } from "./stream-runner.js";
import {
  chatChunk,
  chatCompletion,
  newId,
  nowSeconds,
  usage,
  type ChatChoice,
  type ChatStreamHeader,
  type FinishReason,
  type ToolCall,
} from "../../core/openai-shapes.js";
import type { CallContext, ChatRequest } from "../types.js";
import { planChat, type ChatPlan } from "./chat-plan.js";
import type { LlamaRuntime, Slot } from "./runtime.js";
import { generationOptions } from "./sampling.js";

const FINISH: Record<string, FinishReason> = {
  eogToken: "stop",
  stopGenerationTrigger: "stop",
  customStopTrigger: "stop",
  maxTokens: "length",
  functionCalls: "tool_calls",
};

export interface ChoiceResult {
  text: string;
  toolCalls: ToolCall[];
  finish: FinishReason;
  completionTokens: number;
}

export interface ChoiceEvents {
  onText?(text: string): void;
  onToolCallStart?(index: number, call: ToolCall): void;
  onToolCallArguments?(index: number, fragment: string): void;
}

function finishOf(res: LlamaChatResponse<any>, signal: AbortSignal): FinishReason {
  const reason = res.metadata.stopReason;
  if (reason === "abort" || signal.aborted) throw new ClientAbortError();
  return FINISH[reason] ?? "stop";
}

/** Generates one choice on a slot. */
export async function generateChoice(slot: Slot, plan: ChatPlan, choice: number, signal: AbortSignal, events: ChoiceEvents = {}): Promise<ChoiceResult> {
  let completionTokens = 0;
  const ids = new Map<number, string>();
  const base = await generationOptions(plan.sampling, slot.sequence.model, {
    choice,
    maxTokens: plan.maxTokens,
    contextSize: slot.sequence.contextSize,
    signal,
    forcedPrefix: plan.forcedPrefix,
    onToken: (tokens) => void (completionTokens += tokens.length),
    onTextChunk: events.onText,
  });
  const onFunctionCallParamsChunk = (chunk: { callIndex: number; functionName: string; paramsChunk: string }) => {
    if (!ids.has(chunk.callIndex)) {
      ids.set(chunk.callIndex, newId("call_"));
      events.onToolCallStart?.(chunk.callIndex, { id: ids.get(chunk.callIndex)!, type: "function", function: { name: chunk.functionName, arguments: "" } });
    }
    if (chunk.paramsChunk) events.onToolCallArguments?.(chunk.callIndex, chunk.paramsChunk);
  };
  // node-llama-cpp takes a grammar or functions, never both (the plan has refused the mix).
  const res = plan.functions
    ? await slot.chat.generateResponse(
        plan.history,
        Object.assign(base, {
          functions: plan.functions,
          documentFunctionParams: true,
          maxParallelFunctionCalls: plan.maxParallelFunctionCalls,
          onFunctionCallParamsChunk,
        }),
      )
    : await slot.chat.generateResponse(plan.history, Object.assign(base, { grammar: plan.sampling.grammar }));
  const toolCalls = (res.functionCalls ?? []).map((fc, i) => ({
    id: ids.get(i) ?? newId("call_"),
    type: "function" as const,
    function: { name: fc.functionName, arguments: JSON.stringify(fc.params ?? {}) },
  }));
  // A call cut short by max_tokens is dropped; the complete calls before it still make a tool_calls answer.
  const finish = toolCalls.length > 0 ? "tool_calls" : finishOf(res, signal);
  if (plan.schemaGrammar && finish === "stop") checkSchema(plan, res.response);
  return { text: res.response, toolCalls, finish, completionTokens: Math.min(completionTokens, plan.maxTokens) };
}

function checkSchema(plan: ChatPlan, text: string): void {
  try {
    plan.schemaGrammar!.parse(text);
  } catch (err) {
    throw new ApiError(
      500,
      "server_error",
      `The model's output did not validate against the response_format schema: ${(err as Error).message}`,
      null,
      "schema_validation_failed",
    );
  }
}

const message = (r: ChoiceResult): ChatChoice["message"] => ({
  role: "assistant",
  content: r.toolCalls.length > 0 && r.text === "" ? null : r.text,
  refusal: null,
  ...(r.toolCalls.length > 0 ? { tool_calls: r.toolCalls } : {}),
});

const header = (ctx: CallContext): ChatStreamHeader => ({
  id: newId("chatcmpl-"),
  created: nowSeconds(),
  model: ctx.requestedModel,
  system_fingerprint: "fp_understudy_llamacpp",
});

export async function chatCompletions(runtime: LlamaRuntime, req: ChatRequest, ctx: CallContext) {
  const plan = await planChat(req, runtime);
  const { lease } = await runtime.acquire(ctx.client.signal);
  if (req.stream) return streamChat(plan, lease, req, ctx);
  try {
    const choices: ChatChoice[] = [];
    let completion = 0;
    for (let i = 0; i < plan.n; i++) {
      const r = await generateChoice(lease.slot, plan, i, ctx.client.signal);
      completion += r.completionTokens;
      choices.push({ index: i, message: message(r), logprobs: null, finish_reason: r.finish });
    }
    return chatCompletion(header(ctx), choices, usage(plan.promptTokens, completion));
  } finally {
    lease.release();
  }
}

function streamChat(plan: ChatPlan, lease: { slot: Slot; release(): void }, req: ChatRequest, ctx: CallContext): AsyncIterable<unknown> {
  const head = header(ctx);
  const withUsage = req.stream_options?.include_usage === true;
  return runStream(lease, ctx, async (out, signal) => {
    const chunk = (choice: Record<string, unknown>) =>
      chatChunk(head, [Object.assign({ logprobs: null, finish_reason: null }, choice)], withUsage ? null : undefined);
    const content = (index: number, text: string) => chunk({ index, delta: { content: text } });
    let completion = 0;
    for (let i = 0; i < plan.n; i++) {
      out.push(chunk({ index: i, delta: { role: "assistant", content: "" } }));
      const r = await generateChoice(lease.slot, plan, i, signal, {
        onText: (text) => out.text(i, text, content),
        onToolCallStart: (index, call) => out.push(chunk({ index: i, delta: { tool_calls: [{ index, ...call }] } })),
        onToolCallArguments: (index, fragment) => out.push(chunk({ index: i, delta: { tool_calls: [{ index, function: { arguments: fragment } }] } })),
      });
      completion += r.completionTokens;
      out.push(chunk({ index: i, delta: {}, finish_reason: r.finish }));
    }
    if (withUsage) out.push(chatChunk(head, [], usage(plan.promptTokens, completion)));
  });
}
