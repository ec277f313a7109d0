import { metrics, type Attributes } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import type { MetricName } from './metrics';

/** A reader that exports nothing: tests call `collect()` and read what the SDK aggregated. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface HistogramValue {
  count: number;
  sum: number;
}

function matches(point: DataPoint<unknown>, want: Attributes): boolean {
  return Object.entries(want).every(([k, v]) => point.attributes[k] === v);
}

/**
 * The real OpenTelemetry metrics SDK, installed as the global MeterProvider of a test process,
 * with a reader the test collects from (cumulative temporality). Install it before building the
 * apps under test; one per process (the global provider can be set once).
 */
export class MetricsProbe {
  readonly reader = new CollectingReader();
  readonly provider = new MeterProvider({ readers: [this.reader] });

  static install(): MetricsProbe {
    const probe = new MetricsProbe();
    if (!metrics.setGlobalMeterProvider(probe.provider)) throw new Error('a global MeterProvider is already installed in this process');
    return probe;
  }

  /** Every metric the SDK holds now, by name (gauge callbacks run during the collection). */
  async collect(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    const out = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) out.set(m.descriptor.name, m);
    return out;
  }

  /** Data points of one metric whose attributes include `where`. */
  async points(name: MetricName, where: Attributes = {}): Promise<DataPoint<unknown>[]> {
    const m = (await this.collect()).get(name);
    return (m?.dataPoints ?? []).filter((p) => matches(p as DataPoint<unknown>, where)) as DataPoint<unknown>[];
  }

  /** Sum of a counter's (or gauge's) points whose attributes include `where`; 0 when none. */
  async value(name: MetricName, where: Attributes = {}): Promise<number> {
    const m = (await this.collect()).get(name);
    if (!m) return 0;
    if (m.dataPointType === DataPointType.HISTOGRAM || m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) throw new Error(`${name} is a histogram: use histogram()`);
    let total = 0;
    for (const p of m.dataPoints) if (matches(p, where)) total += p.value as number;
    return total;
  }

  /** Count and sum of a histogram's points whose attributes include `where`. */
  async histogram(name: MetricName, where: Attributes = {}): Promise<HistogramValue> {
    const m = (await this.collect()).get(name);
    const out = { count: 0, sum: 0 };
    if (!m) return out;
    if (m.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    for (const p of m.dataPoints) {
      if (!matches(p, where)) continue;
      const h = p.value as Histogram;
      out.count += h.count;
      out.sum += h.sum ?? 0;
    }
    return out;
  }

  /** Unit and description the SDK recorded for a metric (undefined before its first data point). */
  async descriptor(name: MetricName): Promise<MetricData['descriptor'] | undefined> {
    return (await this.collect()).get(name)?.descriptor;
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
    metrics.disable();
  }
}
