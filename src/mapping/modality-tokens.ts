/**
 * The GenAI conventions' per-modality token counts
 * (semantic-conventions-genai model/gen-ai/registry.yaml):
 * `gen_ai.usage.{text,image,audio,video}.input_tokens` and
 * `gen_ai.usage.{text,audio}.output_tokens`, each a part of the input or
 * output count, into text_custom_metrics as `<modality>_input_tokens` /
 * `<modality>_output_tokens`.
 */
import type { JsonObject } from '../schema/columns.js';
import { KeyGroup } from './key-index.js';
import type { SpanView } from './span-view.js';

const MODALITY_TOKENS: readonly (readonly [key: string, name: string])[] = [
  ['gen_ai.usage.text.input_tokens', 'text_input_tokens'],
  ['gen_ai.usage.image.input_tokens', 'image_input_tokens'],
  ['gen_ai.usage.audio.input_tokens', 'audio_input_tokens'],
  ['gen_ai.usage.video.input_tokens', 'video_input_tokens'],
  ['gen_ai.usage.text.output_tokens', 'text_output_tokens'],
  ['gen_ai.usage.audio.output_tokens', 'audio_output_tokens'],
];

/** Adds the per-modality counts the span reports (whole numbers >= 0) to `metrics`. */
export function addModalityTokens(metrics: JsonObject, view: SpanView): void {
  if (!view.has(KeyGroup.genAiUsage)) return;
  for (const [key, name] of MODALITY_TOKENS) {
    const value = view.get(key);
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) metrics[name] = value;
  }
}
