/**
 * What a downloaded file's GGUF header says, read with node-llama-cpp's `readGgufFileInfo` (the
 * header only, not the weights): architecture, trained context length, chat template, and from
 * them the endpoints and capabilities a registration should declare. A file that is not GGUF is a
 * PullError, so nothing is registered for it.
 */
import { PullError } from "./pull-error.js";

export interface GgufFacts {
  architecture: string;
  /** The trained context length (`<arch>.context_length`), when the header has one. */
  contextLength?: number;
  /** `general.name`, for the display name. */
  name?: string;
  hasChatTemplate: boolean;
  /** An encoder that only embeds (BERT-like: a pooling type, no causal generation). */
  embeddingOnly: boolean;
  capabilities: string[];
  /** Registration endpoints when not the llama-cpp backend's defaults (an embedding-only model). */
  endpoints?: string[];
  warnings: string[];
}

/** Architectures llama.cpp runs as encoders: they embed, they do not chat. */
const ENCODER_ARCHITECTURES = new Set(["bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "neo-bert", "modern-bert", "t5encoder"]);

/** Capabilities from the header: tools when the template renders them, code completion when the vocabulary has fill-in-the-middle tokens. */
function capabilitiesOf(template: string | undefined, tokenizer: Record<string, unknown> | undefined): string[] {
  const caps = ["chat", "completion", "embeddings", "json_schema"];
  if (template && /\btools\b/.test(template)) caps.push("tools");
  if (tokenizer && (typeof tokenizer.fim_pre_token_id === "number" || typeof tokenizer.prefix_token_id === "number")) caps.push("code_completion");
  return caps;
}

export async function checkGguf(file: string): Promise<GgufFacts> {
  const { readGgufFileInfo } = await import("node-llama-cpp");
  let info: Awaited<ReturnType<typeof readGgufFileInfo>>;
  try {
    // The header only: tensor infos of a split model would open every part for nothing.
    info = await readGgufFileInfo(file, { readTensorInfo: false, logWarnings: false, sourceType: "filesystem" });
  } catch (err) {
    throw new PullError(`${file} is not a GGUF model file (${(err as Error).message.slice(0, 200)}); nothing was registered`);
  }
  const general = info.metadata?.general as { architecture?: unknown; name?: unknown } | undefined;
  const architecture = typeof general?.architecture === "string" ? general.architecture : undefined;
  if (!architecture) throw new PullError(`${file}: the GGUF header names no architecture (general.architecture); nothing was registered`);
  const arch = info.architectureMetadata as { context_length?: unknown; pooling_type?: unknown } | undefined;
  const tokenizer = (info.metadata as { tokenizer?: { chat_template?: unknown; ggml?: Record<string, unknown> } }).tokenizer;
  const template = typeof tokenizer?.chat_template === "string" ? tokenizer.chat_template : undefined;
  const contextLength = typeof arch?.context_length === "number" && arch.context_length > 0 ? arch.context_length : undefined;
  const embeddingOnly = ENCODER_ARCHITECTURES.has(architecture);
  const warnings: string[] = [];
  if (contextLength === undefined) warnings.push(`the header gives no context length (${architecture}.context_length): context_window is left out`);
  if (!embeddingOnly && !template)
    warnings.push(
      "the GGUF has no chat template (tokenizer.chat_template): chat uses node-llama-cpp's guess from the architecture, which may not be the model's format; set local_settings.template to the model's Jinja template",
    );
  return {
    architecture,
    contextLength,
    name: typeof general?.name === "string" ? general.name : undefined,
    hasChatTemplate: template !== undefined,
    embeddingOnly,
    capabilities: embeddingOnly ? ["embeddings"] : capabilitiesOf(template, tokenizer?.ggml),
    endpoints: embeddingOnly ? ["createEmbedding"] : undefined,
    warnings,
  };
}
