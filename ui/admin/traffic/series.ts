/** /admin/api/traffic samples as the charts' aligned series (uPlot's data: x in seconds, one array per line). */
import type { ModelTraffic, Traffic } from "../types";

export interface Line {
  label: string;
  values: (number | null)[];
  /** The second metric of a model on the same chart (p99 beside p50): drawn dashed. */
  dashed?: boolean;
  /** Which model the line belongs to: lines of one model share a colour. */
  model: string;
}

export interface ChartData {
  x: number[];
  lines: Line[];
  /** Seconds without traffic are gaps: each value is drawn as a point too, or a lone second would not show. */
  sparse?: boolean;
}

type Pick = (m: ModelTraffic) => number | null;

/** Every model seen in the window, sorted so that colours stay put from one poll to the next. */
export const modelsIn = (traffic: Traffic): string[] => [...new Set(traffic.samples.flatMap((s) => Object.keys(s.models)))].sort();

function line(traffic: Traffic, model: string, label: string, pick: Pick, absent: number | null): Line {
  return { model, label, values: traffic.samples.map((s) => (s.models[model] ? pick(s.models[model]) : absent)) };
}

const xs = (traffic: Traffic) => traffic.samples.map((s) => s.t / 1000);

/** Rates: a second without traffic is a zero. */
export function rateChart(traffic: Traffic, pick: Pick): ChartData {
  return { x: xs(traffic), lines: modelsIn(traffic).map((m) => line(traffic, m, m, pick, 0)) };
}

/** Durations: a second without traffic has no value (a gap, not a zero). */
export function durationChart(traffic: Traffic, pick: Pick): ChartData {
  return { x: xs(traffic), lines: modelsIn(traffic).map((m) => line(traffic, m, m, pick, null)), sparse: true };
}

export function latencyChart(traffic: Traffic): ChartData {
  const lines = modelsIn(traffic).flatMap((m) => [
    line(traffic, m, `${m} p50`, (t) => t.p50_ms, null),
    { ...line(traffic, m, `${m} p99`, (t) => t.p99_ms, null), dashed: true },
  ]);
  return { x: xs(traffic), lines, sparse: true };
}

/** The sum of every value on the chart (exposed on the DOM for tests and as a quick "did anything move"). */
export const total = (data: ChartData): number => data.lines.reduce((sum, l) => sum + l.values.reduce<number>((s, v) => s + (v ?? 0), 0), 0);
