import type { Overview } from "../types";
import { ModelCard } from "./model-card";

interface Props {
  overview: Overview | undefined;
  refresh(): void;
}

export function ModelsSection({ overview, refresh }: Props) {
  if (!overview) return <p class="muted">Loading…</p>;
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">
        Models <span class="muted">({overview.models.length})</span>
      </h2>
      {overview.models.length === 0 && <p class="muted">No model is registered: add a YAML file to the config directory.</p>}
      <div class="cards">
        {overview.models.map((m) => (
          <ModelCard key={`${m.provider ?? ""}/${m.name}`} model={m} refresh={refresh} />
        ))}
      </div>
    </section>
  );
}
