/**
 * Langfuse's span attributes (@langfuse/core 5.11.1 LangfuseOtelSpanAttributes;
 * @langfuse/tracing 5.11.1 createObservationAttributes): observation type,
 * input / output (JSON-serialised), model, usage details, and metadata
 * flattened as `langfuse.{trace,observation}.metadata.<key>`.
 */
import { finiteNumber, isRecord, type SpanView } from '../span-view.js';
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

/** Usage details keyed `input` / `output` / `total` (or OpenAI's `prompt_tokens`...), as the user gave them. */
export function langfuseUsage(view: SpanView): { input?: number; output?: number; total?: number } {
  const usage = view.json(LANGFUSE_OBSERVATION_USAGE);
  if (!isRecord(usage)) return {};
  return {
    input:
      finiteNumber(usage['input']) ??
      finiteNumber(usage['prompt_tokens']) ??
      finiteNumber(usage['input_tokens']),
    output:
      finiteNumber(usage['output']) ??
      finiteNumber(usage['completion_tokens']) ??
      finiteNumber(usage['output_tokens']),
    total: finiteNumber(usage['total']) ?? finiteNumber(usage['total_tokens']),
  };
}
