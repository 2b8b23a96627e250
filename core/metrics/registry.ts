// Counters, gauges and histograms in Prometheus' text exposition format (0.0.4), written by hand: a few dozen
// lines do what the API and the workers need, and neither prom-client nor an OpenTelemetry metrics SDK is loaded.
// Label values are the callers' own small sets (route patterns, stage names, task queues), never raw user input,
// so the series stay few.

type Labels = Record<string, string>;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** `{a="1",b="2"}`, or nothing without labels. */
export function labelText(labels: Labels, extra: Labels = {}): string {
  const all = Object.entries({ ...labels, ...extra });
  return all.length ? `{${all.map(([name, value]) => `${name}="${escape(value)}"`).join(',')}}` : '';
}

const header = (name: string, help: string, type: string) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];

/** One value per label set: a counter (only goes up) or a gauge (set to what was measured). */
export class Sampled {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  protected entry(labels: Labels) {
    const id = labelText(labels);
    let entry = this.values.get(id);
    if (!entry) this.values.set(id, (entry = { labels, value: 0 }));
    return entry;
  }

  render(): string[] {
    const lines = header(this.name, this.help, this.type);
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

export class Counter extends Sampled {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }

  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }
}

export class Gauge extends Sampled {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }

  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }
}

type HistogramSeries = { labels: Labels; count: number; sum: number; buckets: number[] };

export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();

  /** `buckets`: upper bounds in increasing order; `+Inf` is added. */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const id = labelText(labels);
    let series = this.series.get(id);
    if (!series) this.series.set(id, (series = { labels, count: 0, sum: 0, buckets: this.buckets.map(() => 0) }));
    series.count++;
    series.sum += value;
    this.buckets.forEach((le, i) => {
      if (value <= le) series.buckets[i]++;
    });
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'histogram');
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) =>
        lines.push(`${this.name}_bucket${labelText(s.labels, { le: String(le) })} ${s.buckets[i]}`),
      );
      lines.push(`${this.name}_bucket${labelText(s.labels, { le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

export type Metric = { render(): string[] };

/** The exposition of `metrics`, in order, as /metrics serves it. */
export function renderMetrics(metrics: Metric[]): string {
  const lines = metrics.flatMap((m) => m.render());
  return lines.length ? lines.join('\n') + '\n' : '';
}
