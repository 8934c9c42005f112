import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { total, type ChartData } from "./series";

/** Line colours, one per model (cycled): distinct on white and for common colour-vision deficiencies. */
const PALETTE = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];
const HEIGHT = 180;

interface Props {
  id: string;
  title: string;
  unit: string;
  data: ChartData;
}

/** A tick's wall-clock time (uPlot's default adds a date line: noise for a 5-minute window). */
const clockLabel = (seconds: number) => new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function colourOf(models: string[], model: string): string {
  return PALETTE[models.indexOf(model) % PALETTE.length];
}

function options(data: ChartData, unit: string, width: number): uPlot.Options {
  const models = [...new Set(data.lines.map((l) => l.model))];
  return {
    width,
    height: HEIGHT,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: "#475569", grid: { stroke: "#e2e8f0" }, space: 70, values: (_u, splits) => splits.map(clockLabel) },
      { stroke: "#475569", grid: { stroke: "#e2e8f0" }, size: 56, label: unit, labelSize: 18 },
    ],
    series: [
      {},
      ...data.lines.map((l) => ({
        label: l.label,
        stroke: colourOf(models, l.model),
        width: 2,
        dash: l.dashed ? [6, 4] : undefined,
        spanGaps: false,
        points: { show: data.sparse === true, size: 5 },
      })),
    ],
  };
}

const aligned = (data: ChartData): uPlot.AlignedData => [data.x, ...data.lines.map((l) => l.values)] as uPlot.AlignedData;
/** The lines' identity: when it changes (a model appeared), the plot is rebuilt rather than given new data. */
const shapeOf = (data: ChartData) => data.lines.map((l) => l.label).join("\n");

/** One uPlot chart, resized with its container, its data replaced on each poll. */
export function Chart({ id, title, unit, data }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<{ u: uPlot; shape: string } | undefined>(undefined);
  useEffect(() => {
    const el = host.current!;
    const shape = shapeOf(data);
    if (!plot.current || plot.current.shape !== shape) {
      plot.current?.u.destroy();
      plot.current = { u: new uPlot(options(data, unit, el.clientWidth || 300), aligned(data), el), shape };
    } else {
      plot.current.u.setData(aligned(data));
    }
  }, [data]);
  useEffect(() => {
    const el = host.current!;
    const observer = new ResizeObserver(() => plot.current?.u.setSize({ width: el.clientWidth, height: HEIGHT }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.u.destroy();
      plot.current = undefined;
    };
  }, []);
  return (
    <figure class="card chart" id={id} data-points={data.x.length} data-lines={data.lines.length} data-total={total(data)}>
      <figcaption>{title}</figcaption>
      <div ref={host} class="plot" role="img" aria-label={`${title} chart`} />
      {data.lines.length === 0 && <p class="muted empty">No traffic in the last 5 minutes.</p>}
    </figure>
  );
}
