import type { ChatMessage, StreamEnd } from "./chat-stream";

interface Props {
  messages: ChatMessage[];
  /** The answer being streamed, when one is. */
  streaming: string | undefined;
  end: StreamEnd | undefined;
  error: string | undefined;
}

export function Conversation({ messages, streaming, end, error }: Props) {
  if (messages.length === 0 && !error) return null;
  return (
    <div class="card conversation" aria-live="polite" aria-label="Conversation">
      {messages.map((m, i) => (
        <div key={i} class={`message ${m.role}`}>
          <span class="role">{m.role}</span>
          <p>{m.content}</p>
        </div>
      ))}
      {streaming !== undefined && (
        <div class="message assistant" data-testid="streaming">
          <span class="role">assistant</span>
          <p>
            {streaming}
            <span class="cursor" aria-hidden="true">
              ▍
            </span>
          </p>
        </div>
      )}
      {end && (
        <p class="muted" data-testid="finish" data-chunks={end.chunks}>
          finish: {end.finish ?? "–"} · {end.chunks} chunks
          {end.usage && ` · ${end.usage.prompt_tokens} prompt + ${end.usage.completion_tokens} completion tokens`}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
