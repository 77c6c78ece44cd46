/**
 * A Prometheus histogram for the per-request paths. prom-client's labelled child still
 * converts, validates and hashes its labels on every observe() (~0.5 µs each, measured),
 * and online serving observes twice per request. Here a child is a bucket array: observe()
 * is a bucket search and two additions. The registry renders it exactly as prom-client's
 * own histogram (same `get()` shape, same text), so it registers like any other metric.
 */
import type { Registry } from 'prom-client';

export interface HistogramChild {
  observe(value: number): void;
}

type Labels<L extends string> = Partial<Record<L, string | number>>;

interface Child extends HistogramChild {
  labels: Record<string, string | number>;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface Value {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class FastHistogram<L extends string = string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly bounds: number[];
  private readonly children = new Map<string, Child>();

  constructor(cfg: { name: string; help: string; labelNames?: readonly L[]; buckets: number[]; registers: Registry[] }) {
    this.name = cfg.name;
    this.help = cfg.help;
    this.labelNames = cfg.labelNames ?? [];
    this.bounds = [...cfg.buckets].sort((a, b) => a - b);
    for (const r of cfg.registers) r.registerMetric(this as never);
  }

  /** The child for these label values (positional, in labelNames order, or as an object); make it once and keep it. */
  labels(...values: (string | number)[] | [Labels<L>]): HistogramChild {
    const first = values[0];
    const obj: Record<string, string | number> = {};
    if (typeof first === 'object') {
      for (const [k, v] of Object.entries(first as Labels<L>)) {
        if (!this.labelNames.includes(k as L)) throw new Error(`histogram ${this.name} has no label "${k}"; its labels: ${this.labelNames.join(', ')}`);
        if (v !== undefined) obj[k] = v as string | number;
      }
    } else {
      if (values.length > this.labelNames.length) throw new Error(`histogram ${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
      values.forEach((v, i) => (obj[this.labelNames[i]!] = v as string | number));
    }
    const key = this.labelNames.map((n) => String(obj[n] ?? '')).join('\u0000');
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = this.child(obj)));
    return c;
  }

  observe(labelsOrValue: Labels<L> | number, value?: number): void {
    if (typeof labelsOrValue === 'number') this.labels().observe(labelsOrValue);
    else this.labels(labelsOrValue).observe(value!);
  }

  reset(): void {
    for (const c of this.children.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }

  /** What the registry renders: bucket, sum and count lines per child, with the child's labels shared. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }> {
    const values: Value[] = [];
    for (const c of this.children.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += c.counts[i]!;
        values.push({ labels: { le }, sharedLabels: c.labels, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's get(): each value's labels include the child's. */
  async get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }

  private child(labels: Record<string, string | number>): Child {
    const bounds = this.bounds;
    const c: Child = {
      labels,
      counts: new Float64Array(bounds.length + 1),
      sum: 0,
      count: 0,
      observe(v: number): void {
        if (!Number.isFinite(v)) return; // a NaN from a broken clock must not poison the sum
        let i = 0;
        while (i < bounds.length && v > bounds[i]!) i++;
        c.counts[i]!++;
        c.sum += v;
        c.count++;
      },
    };
    return c;
  }
}
