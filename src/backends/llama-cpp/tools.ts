/**
 * OpenAI `tools` / `tool_choice` -> node-llama-cpp functions. Every name a client sends is looked
 * up in own entries only (a Map, and a null-prototype object for node-llama-cpp): through a plain
 * object, `tool_choice` naming `toString` found Object.prototype's and forced a call to it.
 */
import type { ChatModelFunctions } from "node-llama-cpp";
import { clipEcho, ContextLengthExceededError, InvalidRequestError } from "../../core/errors.js";
import { checkJsonSchema } from "./schema-limits.js";

export type Tool = { type: string; function?: { name: unknown; description?: string; parameters?: Record<string, unknown> } };
export type ToolChoice = "none" | "auto" | "required" | { type: string; function?: { name?: unknown } } | undefined;

/** OpenAI's rule for function names; node-llama-cpp's function-call grammar fails on spaces and newlines. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ToolPlan {
  /** Undefined when the model may not call anything (no tools, or tool_choice none). */
  functions?: ChatModelFunctions;
  /** tool_choice required or a named function: the answer starts with a call. */
  forced: boolean;
  /** Characters of the tool definitions (names, descriptions, schemas), for the prompt-size bound. */
  chars: number;
}

type FunctionDef = ChatModelFunctions[string];

/** Reads the tools, stopping as soon as their definitions are longer than `budget` characters (they go into the prompt). */
function readTools(tools: readonly Tool[], budget: number): { byName: Map<string, FunctionDef>; chars: number } {
  const byName = new Map<string, FunctionDef>();
  let chars = 0;
  tools.forEach((tool, i) => {
    if (tool.type !== "function" || !tool.function)
      throw new InvalidRequestError("Only function tools are supported by the llama-cpp backend", `tools[${i}]`, "unsupported_value");
    const { name, description, parameters } = tool.function;
    const param = `tools[${i}].function.name`;
    if (typeof name !== "string" || !FUNCTION_NAME.test(name)) {
      throw new InvalidRequestError(
        `Invalid function name ${clipEcho(JSON.stringify(name))}: use 1 to 64 of a-z, A-Z, 0-9, underscores and dashes`,
        param,
        "invalid_value",
      );
    }
    if (byName.has(name)) throw new InvalidRequestError(`The function name '${name}' is used by more than one tool`, param, "invalid_value");
    const checked = checkJsonSchema(parameters ?? { type: "object", properties: {} }, `tools[${i}].function.parameters`);
    chars += name.length + (description?.length ?? 0) + checked.bytes;
    if (chars > budget)
      throw new ContextLengthExceededError(`The tool definitions are longer than can fit this model's context (${budget} characters at most)`, "tools");
    byName.set(name, { description, params: checked.schema as never });
  });
  return { byName, chars };
}

/** Entries for node-llama-cpp in an object with no prototype, so no name can reach an inherited property. */
function functionsObject(entries: Iterable<[string, FunctionDef]>): ChatModelFunctions {
  const functions = Object.create(null) as Record<string, FunctionDef>;
  for (const [name, def] of entries) functions[name] = def;
  return functions;
}

/** `budget`: the characters left for tool definitions in a prompt that must fit the context. */
export function planTools(tools: readonly Tool[] | undefined, choice: ToolChoice, budget: number): ToolPlan {
  const { byName, chars } = readTools(tools ?? [], budget);
  const forcing = choice === "required" || typeof choice === "object";
  if (forcing && byName.size === 0) {
    throw new InvalidRequestError(
      `tool_choice ${choice === "required" ? "'required'" : "naming a function"} needs tools, and none were given`,
      "tool_choice",
      "invalid_value",
    );
  }
  if (byName.size === 0 || choice === "none") return { forced: false, chars };
  if (typeof choice !== "object") return { functions: functionsObject(byName), forced: forcing, chars };
  const name = choice.function?.name;
  const def = typeof name === "string" ? byName.get(name) : undefined;
  if (!def) throw new InvalidRequestError(`tool_choice names ${clipEcho(JSON.stringify(name))}, which is not in tools`, "tool_choice", "invalid_value");
  return { functions: functionsObject([[name as string, def]]), forced: true, chars };
}
