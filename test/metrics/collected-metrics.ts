/** What a MeterProvider holds, collected on demand through a reader of the SDK's, for tests to sum. */
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';

/** A reader that exports nowhere: collect() is the test's. */
class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface Collected {
  /** Every metric by name, from the last collect(). */
  readonly metrics: ReadonlyMap<string, MetricData>;
  /** The histogram's points (count, sum, buckets) and their attributes. */
  histogram(name: string): readonly DataPoint<Histogram>[];
  /** The counter's points and their attributes. */
  counter(name: string): readonly DataPoint<number>[];
}

export interface CollectingProvider {
  readonly provider: MeterProvider;
  collect(): Promise<Collected>;
}

export function collectingMeterProvider(): CollectingProvider {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new Error(`collect failed: ${errors.map(String).join('; ')}`);
      const metrics = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics) metrics.set(metric.descriptor.name, metric);
      const pointsOf = <T>(name: string, type: DataPointType): DataPoint<T>[] => {
        const metric = metrics.get(name);
        if (metric === undefined) return [];
        if (metric.dataPointType !== type) throw new Error(`${name} is not of type ${type}`);
        return metric.dataPoints as DataPoint<T>[];
      };
      return {
        metrics,
        histogram: (name) => pointsOf<Histogram>(name, DataPointType.HISTOGRAM),
        counter: (name) => pointsOf<number>(name, DataPointType.SUM),
      };
    },
  };
}

/** The points whose attributes hold every pair of `match`. */
export function pointsWith<T>(points: readonly DataPoint<T>[], match: Attributes): DataPoint<T>[] {
  return points.filter((point) =>
    Object.entries(match).every(([key, value]) => point.attributes[key] === value),
  );
}

export const histogramCount = (points: readonly DataPoint<Histogram>[]) =>
  points.reduce((sum, point) => sum + point.value.count, 0);
export const histogramSum = (points: readonly DataPoint<Histogram>[]) =>
  points.reduce((sum, point) => sum + (point.value.sum ?? 0), 0);
export const counterSum = (points: readonly DataPoint<number>[]) =>
  points.reduce((sum, point) => sum + point.value, 0);
