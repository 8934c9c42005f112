import { useState } from "preact/hooks";
import { apiPost } from "../api";
import { count } from "../format";
import type { ModelState } from "../types";
import { UpstreamTable } from "./upstream-table";

interface Props {
  model: ModelState;
  refresh(): void;
}

const STATUS_CLASS: Record<ModelState["status"], string> = { ready: "ok", loading: "warn", unloaded: "idle", error: "bad" };

function LoadButton({ model, refresh }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (!model.can_load) return null;
  const action = model.loaded ? "unload" : "load";
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await apiPost(`models/${encodeURIComponent(model.name)}/${action}`);
      refresh();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="actions">
      <button type="button" onClick={run} disabled={busy || model.status === "loading"} aria-label={`${action === "load" ? "Load" : "Unload"} ${model.name}`}>
        {busy ? "…" : action === "load" ? "Load" : "Unload"}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

export function ModelCard({ model, refresh }: Props) {
  const loaded = model.loaded === null ? "n/a" : model.loaded ? "yes" : "no";
  return (
    <article class="card model" data-model={model.name} aria-labelledby={`model-${model.name}`}>
      <header class="card-head">
        <h3 id={`model-${model.name}`}>{model.name}</h3>
        <span class={`badge ${STATUS_CLASS[model.status]}`}>{model.status}</span>
      </header>
      <dl class="facts">
        <dt>Backend</dt>
        <dd>
          {model.backend}
          {model.provider && <span class="muted"> · {model.provider}</span>}
        </dd>
        <dt>Loaded</dt>
        <dd>{loaded}</dd>
        {model.queue_depth !== null && (
          <>
            <dt>Queue</dt>
            <dd>{count(model.queue_depth)}</dd>
          </>
        )}
        {model.sequences !== null && (
          <>
            <dt>Busy sequences</dt>
            <dd>
              {count(model.busy_sequences)} / {count(model.sequences)}
            </dd>
          </>
        )}
        {model.aliases.length > 0 && (
          <>
            <dt>Aliases</dt>
            <dd>{model.aliases.join(", ")}</dd>
          </>
        )}
      </dl>
      <ul class="tags" aria-label="Capabilities">
        {model.capabilities.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      {model.upstreams.length > 0 && <UpstreamTable upstreams={model.upstreams} />}
      <LoadButton model={model} refresh={refresh} />
    </article>
  );
}
