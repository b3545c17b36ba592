/**
 * The GenAI client metrics of every stored row, recorded through the
 * OpenTelemetry metrics API: the instruments of the GenAI semantic
 * conventions at v1.41.0 (docs/gen-ai/gen-ai-metrics.md), with the bucket
 * boundaries they advise, and two of this package's own (docs/metrics.md says
 * why): the cost counter and the token detail counter.
 *
 * The meter is looked up again at each batch, not once: an application often
 * registers its global MeterProvider after the tracer provider (and so after
 * this exporter) is built, and the API hands out no proxy for meters.
 */
import {
  createNoopMeter,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
} from '@opentelemetry/api';
import type { MetricEvent } from '../schema/columns.js';
import { BoundedValues } from './bounded-values.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_OPERATION_NAME,
  ATTR_PROVIDER_NAME,
  ATTR_REQUEST_MODEL,
  ATTR_RESPONSE_MODEL,
  ATTR_TOKEN_DETAIL,
  ATTR_TOKEN_TYPE,
  callMeasurements,
  type CallMeasurements,
  type ValueCaps,
} from './call-measurements.js';

export const METER_NAME = 'llamonitor-otel';

/** The conventions' advice for `gen_ai.client.token.usage`. */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** The conventions' advice for `gen_ai.client.operation.duration` and `.time_to_first_chunk`, in seconds. */
export const SECONDS_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** Distinct provider and error type values kept apart at most; past them, `_OTHER`. */
const MAX_PROVIDERS = 100;
const MAX_ERROR_TYPES = 100;

interface Instruments {
  readonly tokenUsage: Histogram;
  readonly duration: Histogram;
  readonly timeToFirstChunk: Histogram;
  readonly tokenDetail: Counter;
  readonly cost: Counter;
}

function instrumentsOf(meter: Meter): Instruments {
  return {
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    duration: meter.createHistogram('gen_ai.client.operation.duration', {
      unit: 's',
      description: 'GenAI operation duration.',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
    timeToFirstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      unit: 's',
      description: 'Time to receive the first chunk of a streamed response, from the request.',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
    tokenDetail: meter.createCounter('llamonitor.client.token.detail', {
      unit: '{token}',
      description:
        'Parts of the tokens of gen_ai.client.token.usage: cache_read and cache_write of the input, reasoning of the output.',
    }),
    cost: meter.createCounter('llamonitor.client.cost', {
      unit: '{USD}',
      description: 'What the calls cost in US dollars: the cost_usd column of their rows.',
    }),
  };
}

export interface GenAiMetricsOptions {
  /** The provider to record on, asked again at each batch (the global one may be registered later). */
  readonly meterProvider: () => MeterProvider;
  /** Distinct model names kept apart; past them, `_OTHER`. */
  readonly maxModels: number;
  readonly meterVersion?: string;
  /** Told once when no MeterProvider is registered yet at a batch with model calls. */
  readonly noProvider?: () => void;
  /** Told once when a model name was recorded as `_OTHER`. */
  readonly modelsCapped?: (max: number) => void;
}

/** Distinct attribute sets kept built at most; past it, each call builds its own (the caps bound them anyway). */
const MAX_ATTRIBUTE_SETS = 10_000;
type TokenDetail = CallMeasurements['tokenDetails'][number][0];

/**
 * The attribute objects of one (operation, provider, models) combination, built
 * once: the SDK hashes a data point's attributes at each record, and objects
 * spread per call would add their allocation to that.
 */
interface AttributeSets {
  readonly call: Attributes;
  readonly input: Attributes;
  readonly output: Attributes;
  readonly details: Partial<Record<TokenDetail, Attributes>>;
  readonly failed: Map<string, Attributes>;
}

function attributeSetsOf(call: Attributes): AttributeSets {
  return {
    call,
    input: { ...call, [ATTR_TOKEN_TYPE]: 'input' },
    output: { ...call, [ATTR_TOKEN_TYPE]: 'output' },
    details: {},
    failed: new Map(),
  };
}

export class GenAiMetrics {
  private readonly caps: ValueCaps;
  private provider: MeterProvider | undefined;
  private instruments: Instruments | undefined;
  private toldNoProvider = false;
  private toldModelsCapped = false;
  private readonly attributeSets = new Map<string, AttributeSets>();

  constructor(private readonly options: GenAiMetricsOptions) {
    this.caps = {
      models: new BoundedValues(options.maxModels),
      providers: new BoundedValues(MAX_PROVIDERS),
      errorTypes: new BoundedValues(MAX_ERROR_TYPES),
    };
  }

  /**
   * Records the model calls among `rows`, as they are stored: each call's
   * histograms, and the batch's counters summed by attribute set (one add each).
   */
  record(rows: readonly MetricEvent[]): void {
    let instruments: Instruments | undefined;
    const costs = new Map<Attributes, number>();
    const details = new Map<Attributes, number>();
    for (const row of rows) {
      const call = callMeasurements(row, this.caps);
      if (call === undefined) continue;
      instruments ??= this.currentInstruments();
      if (instruments === undefined) return;
      const sets = this.attributeSetsFor(call.attributes);
      if (call.durationSeconds !== undefined)
        instruments.duration.record(call.durationSeconds, failedSet(sets, call.errorType));
      if (call.timeToFirstChunkSeconds !== undefined)
        instruments.timeToFirstChunk.record(call.timeToFirstChunkSeconds, sets.call);
      if (call.inputTokens !== undefined) instruments.tokenUsage.record(call.inputTokens, sets.input);
      if (call.outputTokens !== undefined) instruments.tokenUsage.record(call.outputTokens, sets.output);
      for (const [detail, count] of call.tokenDetails) {
        const attributes = (sets.details[detail] ??= { ...sets.call, [ATTR_TOKEN_DETAIL]: detail });
        details.set(attributes, (details.get(attributes) ?? 0) + count);
      }
      if (call.costUsd !== undefined) costs.set(sets.call, (costs.get(sets.call) ?? 0) + call.costUsd);
    }
    if (instruments !== undefined) {
      for (const [attributes, count] of details) instruments.tokenDetail.add(count, attributes);
      for (const [attributes, usd] of costs) instruments.cost.add(usd, attributes);
    }
    if (this.caps.models.overflowed && !this.toldModelsCapped) {
      this.toldModelsCapped = true;
      this.options.modelsCapped?.(this.caps.models.max);
    }
  }

  private attributeSetsFor(call: Attributes): AttributeSets {
    const key = `${call[ATTR_OPERATION_NAME]}\u0000${call[ATTR_PROVIDER_NAME] ?? ''}\u0000${call[ATTR_REQUEST_MODEL] ?? ''}\u0000${call[ATTR_RESPONSE_MODEL] ?? ''}`;
    let sets = this.attributeSets.get(key);
    if (sets === undefined) {
      sets = attributeSetsOf(call);
      if (this.attributeSets.size < MAX_ATTRIBUTE_SETS) this.attributeSets.set(key, sets);
    }
    return sets;
  }

  /** The instruments of the provider in force now; undefined while none is registered. */
  private currentInstruments(): Instruments | undefined {
    const provider = this.options.meterProvider();
    if (provider !== this.provider) {
      const meter = provider.getMeter(METER_NAME, this.options.meterVersion);
      this.provider = provider;
      this.instruments = meter === createNoopMeter() ? undefined : instrumentsOf(meter);
    }
    if (this.instruments === undefined && !this.toldNoProvider) {
      this.toldNoProvider = true;
      this.options.noProvider?.();
    }
    return this.instruments;
  }
}

/** The duration's attributes: the call's, with error.type when it failed. */
function failedSet(sets: AttributeSets, errorType: string | undefined): Attributes {
  if (errorType === undefined) return sets.call;
  let attributes = sets.failed.get(errorType);
  if (attributes === undefined) {
    attributes = { ...sets.call, [ATTR_ERROR_TYPE]: errorType };
    sets.failed.set(errorType, attributes);
  }
  return attributes;
}
