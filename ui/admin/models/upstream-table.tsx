import { clock, relative } from "../format";
import type { UpstreamState } from "../types";

function health(u: UpstreamState, now: number): { text: string; cls: string } {
  const cooling = u.cooling_until && new Date(u.cooling_until).getTime() > now;
  const waiting = u.retry_after_until && new Date(u.retry_after_until).getTime() > now;
  if (cooling) return { text: `cooling down, back ${relative(u.cooling_until, now)}`, cls: "warn" };
  if (waiting) return { text: `retry-after, back ${relative(u.retry_after_until, now)}`, cls: "warn" };
  return u.healthy ? { text: "healthy", cls: "ok" } : { text: "unhealthy", cls: "bad" };
}

/** A provider's endpoints: health, cooldown and the last error each one gave. */
export function UpstreamTable({ upstreams }: { upstreams: UpstreamState[] }) {
  const now = Date.now();
  return (
    <div class="table-wrap">
      <table class="upstreams">
        <caption>Upstream endpoints</caption>
        <thead>
          <tr>
            <th scope="col">Endpoint</th>
            <th scope="col">Health</th>
            <th scope="col">Failures</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {upstreams.map((u) => {
            const h = health(u, now);
            return (
              <tr key={u.label} data-endpoint={u.label}>
                <td>
                  <div>{u.label}</div>
                  <div class="muted url">{u.url}</div>
                </td>
                <td>
                  <span class={`badge ${h.cls}`}>{h.text}</span>
                </td>
                <td>{u.failures}</td>
                <td>{u.last_error ? `${u.last_error} (${clock(u.last_error_at)})` : "–"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
