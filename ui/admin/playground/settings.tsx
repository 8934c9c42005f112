import type { ModelState } from "../types";

export interface PlaygroundSettings {
  model: string;
  /** As typed: empty means "not sent" (the registration's default or the backend's applies). */
  temperature: string;
  maxTokens: string;
  extensions: string;
  debug: boolean;
}

interface Props {
  models: ModelState[];
  value: PlaygroundSettings;
  onChange(next: PlaygroundSettings): void;
  extensionsError: string | undefined;
}

const inputValue = (e: Event) => (e.target as HTMLInputElement).value;

interface NumberFieldProps {
  id: string;
  label: string;
  min: string;
  max?: string;
  step: string;
  /** As typed; empty: not sent. */
  value: string;
  onInput(value: string): void;
}

function NumberField({ id, label, min, max, step, value, onInput }: NumberFieldProps) {
  return (
    <div>
      <label for={id}>{label}</label>
      <input id={id} type="number" min={min} max={max} step={step} placeholder="default" value={value} onInput={(e) => onInput(inputValue(e))} />
    </div>
  );
}

export function Settings({ models, value, onChange, extensionsError }: Props) {
  const set = (patch: Partial<PlaygroundSettings>) => onChange({ ...value, ...patch });
  return (
    <fieldset class="card settings">
      <legend>Request</legend>
      <label for="pg-model">Model</label>
      <select id="pg-model" value={value.model} onChange={(e) => set({ model: (e.target as HTMLSelectElement).value })}>
        {models.map((m) => (
          <option key={m.name} value={m.name}>
            {m.name} ({m.backend})
          </option>
        ))}
      </select>
      <div class="row">
        <NumberField
          id="pg-temperature"
          label="Temperature"
          min="0"
          max="2"
          step="0.1"
          value={value.temperature}
          onInput={(temperature) => set({ temperature })}
        />
        <NumberField id="pg-max-tokens" label="Max tokens" min="1" step="1" value={value.maxTokens} onInput={(maxTokens) => set({ maxTokens })} />
      </div>
      <label for="pg-extensions">x-localai-extensions (JSON)</label>
      <textarea
        id="pg-extensions"
        rows={3}
        spellcheck={false}
        value={value.extensions}
        aria-invalid={extensionsError ? "true" : undefined}
        aria-describedby={extensionsError ? "pg-extensions-error" : undefined}
        onInput={(e) => set({ extensions: (e.target as HTMLTextAreaElement).value })}
      />
      {extensionsError && (
        <p id="pg-extensions-error" class="error">
          {extensionsError}
        </p>
      )}
      <label class="check">
        <input type="checkbox" checked={value.debug} onChange={(e) => set({ debug: (e.target as HTMLInputElement).checked })} />
        Show the merged request (debug echo; the registration needs allow_debug)
      </label>
    </fieldset>
  );
}
