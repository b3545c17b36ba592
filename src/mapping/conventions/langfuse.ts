/**
 * Langfuse's span attributes (@langfuse/core 5.11.1 LangfuseOtelSpanAttributes;
 * @langfuse/tracing 5.11.1 createObservationAttributes): observation type,
 * input / output (JSON-serialised), model, usage details, and metadata
 * flattened as `langfuse.{trace,observation}.metadata.<key>`.
 */
import { isRecord, type SpanView } from '../span-view.js';
import { looseText } from '../loose-text.js';

export const LANGFUSE_SESSION_ID = 'langfuse.session.id';
export const LANGFUSE_USER_ID = 'langfuse.user.id';
export const LANGFUSE_OBSERVATION_TYPE = 'langfuse.observation.type';
export const LANGFUSE_OBSERVATION_INPUT = 'langfuse.observation.input';
export const LANGFUSE_OBSERVATION_OUTPUT = 'langfuse.observation.output';
export const LANGFUSE_OBSERVATION_MODEL = 'langfuse.observation.model.name';
export const LANGFUSE_OBSERVATION_USAGE = 'langfuse.observation.usage_details';
export const LANGFUSE_TRACE_NAME = 'langfuse.trace.name';

export const LANGFUSE_IMAGE_ATTRIBUTES = {
  input: [LANGFUSE_OBSERVATION_INPUT],
  output: [LANGFUSE_OBSERVATION_OUTPUT],
} as const;

export function langfuseInputText(view: SpanView): string | undefined {
  const raw = view.string(LANGFUSE_OBSERVATION_INPUT);
  return raw === undefined ? undefined : looseText(raw, view.json(LANGFUSE_OBSERVATION_INPUT));
}

export function langfuseOutputText(view: SpanView): string | undefined {
  const raw = view.string(LANGFUSE_OBSERVATION_OUTPUT);
  return raw === undefined ? undefined : looseText(raw, view.json(LANGFUSE_OBSERVATION_OUTPUT));
}

/** One usage field as the user gave it, and the key it was found under. */
export interface LangfuseUsageValue {
  readonly key: string;
  readonly value: unknown;
}

/**
 * Usage details keyed `input` / `output` / `total` (or OpenAI's
 * `prompt_tokens`...), as the user gave them: the first key present of each.
 */
export function langfuseUsage(view: SpanView): {
  input?: LangfuseUsageValue;
  output?: LangfuseUsageValue;
  total?: LangfuseUsageValue;
} {
  const usage = langfuseUsageDetails(view);
  if (usage === undefined) return {};
  return {
    input: firstField(usage, ['input', 'prompt_tokens', 'input_tokens']),
    output: firstField(usage, ['output', 'completion_tokens', 'output_tokens']),
    total: firstField(usage, ['total', 'total_tokens']),
  };
}

/** The usage details object (parsed once per span), or undefined when the span has none. */
export function langfuseUsageDetails(view: SpanView): Record<string, unknown> | undefined {
  const usage = view.json(LANGFUSE_OBSERVATION_USAGE);
  return isRecord(usage) ? usage : undefined;
}

function firstField(usage: Record<string, unknown>, keys: readonly string[]): LangfuseUsageValue | undefined {
  for (const key of keys) {
    const value = usage[key];
    if (value !== undefined && value !== null) return { key, value };
  }
  return undefined;
}
