/**
 * Counters and histograms for the per-request metrics, registered in a prom-client Registry (which
 * formats them like its own). prom-client's label children hash and validate their labels on every
 * `inc`/`observe` (~1 µs each); these children are plain numbers bumped in place, and the label work is
 * done once per label set and at scrape time.
 */
import type { Registry } from "prom-client";

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Exposed {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: Sample[];
  aggregator: "sum";
}

abstract class FastSeries<Child> {
  private readonly children: { labels: Record<string, string>; child: Child }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // prom-client's registry takes any object with a name and get(): the exposition is formatted by it.
    registry.registerMetric(this as never);
  }

  /** The child for these label values (in labelNames' order); callers cache it. */
  child(values: readonly string[]): Child {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => (labels[name] = values[i]));
    const child = this.makeChild();
    this.children.push({ labels, child });
    return child;
  }

  protected abstract makeChild(): Child;
  protected abstract samples(labels: Record<string, string>, child: Child, out: Sample[]): void;
  abstract readonly type: "counter" | "histogram";

  get(): Exposed {
    const values: Sample[] = [];
    for (const { labels, child } of this.children) this.samples(labels, child, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }

  /** prom-client's Registry calls these on clear/resetMetrics. */
  reset(): void {
    this.children.length = 0;
  }
}

export interface CounterChild {
  value: number;
}

export class FastCounter extends FastSeries<CounterChild> {
  readonly type = "counter";

  protected makeChild(): CounterChild {
    return { value: 0 };
  }

  protected samples(labels: Record<string, string>, child: CounterChild, out: Sample[]): void {
    out.push({ labels, value: child.value });
  }
}

export class HistogramChild {
  sum = 0;
  count = 0;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram extends FastSeries<HistogramChild> {
  readonly type = "histogram";

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    registry: Registry,
    private readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames, registry);
  }

  protected makeChild(): HistogramChild {
    return new HistogramChild(this.bounds);
  }

  protected samples(labels: Record<string, string>, child: HistogramChild, out: Sample[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += child.counts[i];
      out.push({ labels: { ...labels, le: this.bounds[i] }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    out.push({ labels: { ...labels, le: "+Inf" }, value: child.count, metricName: `${this.name}_bucket` });
    out.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: child.count, metricName: `${this.name}_count` });
  }
}
