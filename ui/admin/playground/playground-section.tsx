import { useEffect, useRef, useState } from "preact/hooks";
import type { ModelState } from "../types";
import { streamChat, type ChatMessage, type DebugEcho, type StreamEnd } from "./chat-stream";
import { Conversation } from "./conversation";
import { chatRequest, parseExtensions } from "./request-body";
import { Settings, type PlaygroundSettings } from "./settings";

const INITIAL: PlaygroundSettings = { model: "", temperature: "0.7", maxTokens: "64", extensions: "{}", debug: true };

const chatModels = (models: ModelState[]) => models.filter((m) => m.endpoints.includes("createChatCompletion"));

export function PlaygroundSection({ models }: { models: ModelState[] }) {
  const choices = chatModels(models);
  const [settings, setSettings] = useState(INITIAL);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [prompt, setPrompt] = useState("");
  const [answer, setAnswer] = useState<string>();
  const [echo, setEcho] = useState<DebugEcho>();
  const [end, setEnd] = useState<StreamEnd>();
  const [error, setError] = useState<string>();
  const abort = useRef<AbortController | undefined>(undefined);
  const extensions = parseExtensions(settings.extensions);
  useEffect(() => {
    if (choices.length > 0 && !choices.some((m) => m.name === settings.model)) setSettings({ ...settings, model: choices[0].name });
  }, [choices.map((m) => m.name).join("\n")]);
  useEffect(() => () => abort.current?.abort(), []);

  const send = async (e: Event) => {
    e.preventDefault();
    if (!extensions.value || prompt.trim() === "" || !settings.model) return;
    const history: ChatMessage[] = [...messages, { role: "user", content: prompt }];
    setMessages(history);
    setPrompt("");
    setAnswer("");
    setEcho(undefined);
    setEnd(undefined);
    setError(undefined);
    const controller = new AbortController();
    abort.current = controller;
    let text = "";
    try {
      const handlers = { onText: (d: string) => setAnswer((text += d)), onEcho: setEcho };
      setEnd(await streamChat(chatRequest(settings, history, extensions.value), handlers, controller.signal));
    } catch (err) {
      if (!controller.signal.aborted) setError(err instanceof Error ? err.message : String(err));
    } finally {
      abort.current = undefined;
      if (text !== "") setMessages([...history, { role: "assistant", content: text }]);
      setAnswer(undefined);
    }
  };
  const busy = answer !== undefined;
  const clear = () => {
    setMessages([]);
    setEcho(undefined);
    setEnd(undefined);
    setError(undefined);
  };

  return (
    <section aria-labelledby="playground-title">
      <h2 id="playground-title">Playground</h2>
      {choices.length === 0 && <p class="muted">No registration serves chat completions.</p>}
      <div class="playground">
        <div class="pg-main">
          <Settings models={choices} value={settings} onChange={setSettings} extensionsError={extensions.error} />
          <Conversation messages={messages} streaming={answer} end={end} error={error} />
          <form class="card composer" onSubmit={send}>
            <label for="pg-prompt">Message</label>
            <textarea
              id="pg-prompt"
              rows={3}
              value={prompt}
              onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(e);
              }}
            />
            <div class="actions">
              <button type="submit" class="primary" disabled={busy || prompt.trim() === "" || !extensions.value || !settings.model}>
                Send
              </button>
              {busy && (
                <button type="button" onClick={() => abort.current?.abort()}>
                  Stop
                </button>
              )}
              <button type="button" disabled={busy || messages.length === 0} onClick={clear}>
                Clear
              </button>
            </div>
          </form>
        </div>
        <aside class="card echo" aria-labelledby="echo-title">
          <h3 id="echo-title">Merged request</h3>
          {echo ? (
            <>
              <p class="muted">
                {echo.registration} · {echo.backend}
              </p>
              <pre data-testid="debug-echo">{JSON.stringify(echo.request, null, 2)}</pre>
            </>
          ) : (
            <p class="muted">{settings.debug ? "Send a message to see the request as the backend got it." : "The debug echo is off."}</p>
          )}
        </aside>
      </div>
    </section>
  );
}
