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
import { JsonCompactor } from "./json-compact.js";
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

/** The stop reasons that mean the grammar itself ended the output: only then is it whole JSON to check. */
const GRAMMAR_DONE = new Set(["stopGenerationTrigger", "eogToken"]);

/** Generates one choice on a slot. */
export async function generateChoice(slot: Slot, plan: ChatPlan, choice: number, signal: AbortSignal, events: ChoiceEvents = {}): Promise<ChoiceResult> {
  // Tokens of a tool call never reach onToken (node-llama-cpp reports only text tokens there), so
  // the count is the sequence's output meter: it meters each generated token, text or call.
  const meter = slot.sequence.tokenMeter;
  const outputBefore = meter.usedOutputTokens;
  /** Per call: its id (the same in the chunks and the answer), the compactor of its streamed arguments and what it let out. */
  const calls = new Map<number, { id: string; name: string; args: JsonCompactor; text: string }>();
  const base = await generationOptions(plan.sampling, slot.sequence.model, {
    choice,
    maxTokens: plan.maxTokens,
    contextSize: slot.sequence.contextSize,
    signal,
    forcedPrefix: plan.forcedPrefix,
    onTextChunk: events.onText,
  });
  const onFunctionCallParamsChunk = (chunk: { callIndex: number; functionName: string; paramsChunk: string }) => {
    let call = calls.get(chunk.callIndex);
    if (!call) {
      call = { id: newId("call_"), name: chunk.functionName, args: new JsonCompactor(), text: "" };
      calls.set(chunk.callIndex, call);
      events.onToolCallStart?.(chunk.callIndex, { id: call.id, type: "function", function: { name: chunk.functionName, arguments: "" } });
    }
    const fragment = call.args.push(chunk.paramsChunk);
    if (fragment) {
      call.text += fragment;
      events.onToolCallArguments?.(chunk.callIndex, fragment);
    }
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
  const complete: ToolCall[] = (res.functionCalls ?? []).map((fc, i) => ({
    id: calls.get(i)?.id ?? newId("call_"),
    type: "function" as const,
    // The parsed params, not the streamed text: a character split across tokens can reach a
    // fragment as U+FFFD, while the whole text was decoded at once.
    function: { name: fc.functionName, arguments: JSON.stringify(fc.params ?? {}) },
  }));
  // A call cut short by max_tokens is kept with the arguments it had (a stream has already sent
  // them), and the answer finishes with "length", as OpenAI's do: a "tool_calls" finish would tell
  // the client that arguments which are not JSON are a call to make.
  const cut: ToolCall[] = [...calls.entries()]
    .filter(([index]) => index >= complete.length)
    .map(([, c]) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.text } }));
  const reason = finishOf(res, signal);
  const toolCalls = [...complete, ...cut];
  const finish = cut.length > 0 ? "length" : complete.length > 0 ? "tool_calls" : reason;
  // Text cut by max_tokens or a stop sequence is served as it is, like any cut answer.
  if (plan.schemaCheck && GRAMMAR_DONE.has(res.metadata.stopReason)) checkSchema(plan.schemaCheck, res.response);
  const completionTokens = Math.min(meter.usedOutputTokens - outputBefore, plan.maxTokens);
  return { text: res.response, toolCalls, finish, completionTokens };
}

function checkSchema(check: NonNullable<ChatPlan["schemaCheck"]>, text: string): void {
  try {
    check.output(check.grammar.parse(text));
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
