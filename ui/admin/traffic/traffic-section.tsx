import { useMemo } from "preact/hooks";
import { apiGet } from "../api";
import type { RequestLog, Traffic } from "../types";
import { usePoll } from "../use-poll";
import { Chart } from "./chart";
import { RequestsTable } from "./requests-table";
import { durationChart, latencyChart, rateChart } from "./series";

/** Traffic and the request log are fetched this often while the section is shown (the server's buckets are 1 s). */
const TRAFFIC_POLL_MS = 1000;

export function TrafficSection() {
  const traffic = usePoll(() => apiGet<Traffic>("traffic"), TRAFFIC_POLL_MS);
  const log = usePoll(() => apiGet<RequestLog>("requests"), TRAFFIC_POLL_MS);
  const charts = useMemo(() => {
    const t = traffic.data;
    if (!t) return undefined;
    return {
      rps: rateChart(t, (m) => m.rps),
      latency: latencyChart(t),
      ttft: durationChart(t, (m) => m.ttft_p50_ms),
      tokens: rateChart(t, (m) => m.tokens_per_s),
    };
  }, [traffic.data]);
  return (
    <section aria-labelledby="traffic-title">
      <h2 id="traffic-title">Traffic</h2>
      <p class="muted">The last 5 minutes, per second and per model, from the counters behind /metrics.</p>
      {traffic.error && (
        <p class="error" role="alert">
          {traffic.error.message}
        </p>
      )}
      {charts && (
        <div class="charts">
          <Chart id="chart-rps" title="Requests per second" unit="req/s" data={charts.rps} />
          <Chart id="chart-latency" title="Latency p50 / p99 (dashed)" unit="ms" data={charts.latency} />
          <Chart id="chart-ttft" title="Time to first token (p50)" unit="ms" data={charts.ttft} />
          <Chart id="chart-tokens" title="Tokens per second" unit="tok/s" data={charts.tokens} />
        </div>
      )}
      <h3>Recent requests</h3>
      {log.error && (
        <p class="error" role="alert">
          {log.error.message}
        </p>
      )}
      {log.data && <RequestsTable rows={log.data.requests} />}
    </section>
  );
}
