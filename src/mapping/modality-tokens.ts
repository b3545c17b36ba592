/**
 * The GenAI conventions' per-modality token counts
 * (semantic-conventions-genai model/gen-ai/registry.yaml):
 * `gen_ai.usage.{text,image,audio,video}.input_tokens` and
 * `gen_ai.usage.{text,audio}.output_tokens`, each a part of the input or
 * output count, into text_custom_metrics as `<modality>_input_tokens` /
 * `<modality>_output_tokens`.
 */
import type { JsonObject } from '../schema/columns.js';
import type { SpanView } from './span-view.js';

/** Convention key → the key in text_custom_metrics. */
const MODALITY_TOKENS: ReadonlyMap<string, string> = new Map([
  ['gen_ai.usage.text.input_tokens', 'text_input_tokens'],
  ['gen_ai.usage.image.input_tokens', 'image_input_tokens'],
  ['gen_ai.usage.audio.input_tokens', 'audio_input_tokens'],
  ['gen_ai.usage.video.input_tokens', 'video_input_tokens'],
  ['gen_ai.usage.text.output_tokens', 'text_output_tokens'],
  ['gen_ai.usage.audio.output_tokens', 'audio_output_tokens'],
]);

/**
 * Adds the per-modality counts the span reports (whole numbers >= 0) to `metrics`, from the usage
 * keys the key index lists (as spanTokens reads the token counts): no lookup for a key the span lacks.
 */
export function addModalityTokens(metrics: JsonObject, view: SpanView): void {
  for (const key of view.keys.usageKeys) {
    const name = MODALITY_TOKENS.get(key);
    if (name === undefined) continue;
    const value = view.get(key);
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) metrics[name] = value;
  }
}
