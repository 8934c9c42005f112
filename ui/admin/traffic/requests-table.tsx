import { clock, count, dash, ms } from "../format";
import type { RequestRow } from "../types";

const statusClass = (status: number) => (status < 400 ? "ok" : status < 500 ? "warn" : "bad");

function Tokens({ row }: { row: RequestRow }) {
  if (row.tokens_in === null && row.tokens_out === null) return <>{dash}</>;
  return (
    <>
      {count(row.tokens_in)} → {count(row.tokens_out)}
    </>
  );
}

/** The last requests, newest first; a body only where the provider has debug_connections. */
export function RequestsTable({ rows }: { rows: RequestRow[] }) {
  if (rows.length === 0) return <p class="muted">No request yet.</p>;
  return (
    <div class="table-wrap">
      <table class="requests" data-rows={rows.length}>
        <caption class="sr-only">The last {rows.length} requests, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Key</th>
            <th scope="col">Model</th>
            <th scope="col">Backend</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">TTFT</th>
            <th scope="col">Tokens in → out</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.request_id}>
              <td title={r.request_id}>{clock(r.time)}</td>
              <td>{r.key ?? dash}</td>
              <td>
                {r.model}
                {r.body !== undefined && (
                  <details>
                    <summary>body</summary>
                    <pre>{r.body}</pre>
                  </details>
                )}
              </td>
              <td>{r.backend ?? dash}</td>
              <td>
                <span class={`badge ${statusClass(r.status)}`}>{r.status}</span>
              </td>
              <td>{ms(r.latency_ms)}</td>
              <td>{ms(r.ttft_ms)}</td>
              <td>
                <Tokens row={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
