import { clock } from "../format";
import type { ConfigProblem, Overview } from "../types";

const place = (p: ConfigProblem) => (p.line === null ? p.file : `${p.file}:${p.line}`);

export function ConfigSection({ overview }: { overview: Overview | undefined }) {
  if (!overview) return <p class="muted">Loading…</p>;
  const c = overview.config;
  return (
    <section aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      <div class="card">
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class={`badge ${c.status === "ok" ? "ok" : "bad"}`}>{c.status}</span>
            {c.status === "error" && <span class="muted"> · the previous good configuration is still served</span>}
          </dd>
          <dt>Revision</dt>
          <dd>
            <code data-testid="config-revision">{c.revision}</code>
          </dd>
          <dt>Loaded at</dt>
          <dd>{clock(c.loaded_at)}</dd>
          <dt>Last reload</dt>
          <dd>{clock(c.last_reload_at)}</dd>
        </dl>
      </div>
      <h3>Problems</h3>
      {c.problems.length === 0 ? (
        <p class="muted" data-testid="no-problems">
          None: every file loaded.
        </p>
      ) : (
        <ul class="problems" aria-label="Config problems">
          {c.problems.map((p, i) => (
            <li key={i} class="card problem">
              <code class="where">{place(p)}</code>
              {p.field && <code class="field">{p.field}</code>}
              <span class="message">{p.message}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
